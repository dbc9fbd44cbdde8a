/** Playbooks: the YAML library, its schema, and the engine that runs them. */
export { PlaybookEngine, type RunRecord, type StepRecord, type RunStatus } from './engine.js';
export { loadPlaybookDir, loadPlaybookFile, parsePlaybook, type LoadedPlaybook } from './loader.js';
export { PlaybookSchema, type Playbook, type Step } from './schema.js';
export { render } from './template.js';
export * from './errors.js';
