/** The stress runner: scenario files, one measured run, the scorecard. */
export { runScenarioOnce, type RunReport, type Progress } from './runner.js';
export { loadScenarios, scenariosDir, ScenarioSchema, type Scenario } from './scenario.js';
export { summarise, renderTable, renderMarkdown, percentile, type StressReport } from './report.js';
export { freshStack } from './fresh-stack.js';
export { attachedStack, type AttachOptions } from './attached-stack.js';
export type { ScoredStack, ScoredTarget } from './scored-stack.js';
