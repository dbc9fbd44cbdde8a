/** Shared configuration plumbing: YAML files checked by zod with line numbers, durations, settings. */
export { loadYamlFile, parseYamlWith, type ParsedYaml } from './yaml-file.js';
export { Duration } from './duration.js';
export { ConfigFileError, HomeostatError, SettingsError, formatProblem, type FileProblem } from './errors.js';
export { loadSettings, type Settings, type LlmEnv } from './settings.js';
