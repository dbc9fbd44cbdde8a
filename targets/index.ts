/** Targets: the registry (`targets.yaml`), drivers, the demo worker and the chaos agent. */
export { loadTargets, TargetsFileSchema, type TargetConfig, type ProcessTargetConfig } from './config.js';
export type { TargetDriver, TargetStatus, TargetExit } from './driver.js';
export { ProcessDriver, type ProcessSpec } from './process-driver.js';
export { TargetRegistry, type TargetRuntime } from './registry.js';
export { processTree, readProc, listProcs, type ProcInfo } from './process-tree.js';
export { ChaosAgent } from './chaos-agent.js';
export {
  readProcUsage,
  listProcUsage,
  readCommand,
  measureCpu,
  readCpuNanos,
  attributeToTargets,
  ProcessCpuSampler,
  type ProcUsage,
  type ProcSample,
  type TargetRoot,
} from './process-usage.js';
export * from './errors.js';
