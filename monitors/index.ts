/** Monitors: watch targets and publish what they see as `events.*`. */
export { HealthMonitor, type HealthMonitorOptions, type TargetHealth, type CheckHealth } from './health-monitor.js';
export { AclMonitor, type AclMonitorOptions, type AclMonitorStats } from './acl-monitor.js';
export { AclMonitorConfigSchema, loadAclMonitorConfig, type AclMonitorConfig } from './acl-monitor-config.js';
export { AclLogSource, type AclLogSourceCounters, type AclLogSourceOptions } from './acl-log-source.js';
export { LogTail, type LogTailCounters, type LogTailOptions } from './log-tail.js';
export { parseNatsLogLine, type ParsedLogLine, type LoggedViolation } from './nats-log-line.js';
export { ThresholdWindow } from './threshold-window.js';
export * from './errors.js';
export { ResourceMonitor, type ResourceMonitorOptions, type ProcessSource } from './resource-monitor.js';
export { SustainedThreshold, type ThresholdSettings, type ThresholdChange } from './sustained-threshold.js';
export { loadMonitorsConfig, MonitorsFileSchema, ResourceMonitorConfigSchema, type MonitorsConfig, type ResourceMonitorConfig } from './monitors-config.js';
export { ProcHostSource, readCpuTicks, cpuPctBetween, readMemory, readDiskPct, type HostSample, type HostSource, type CpuTicks } from './host-sampler.js';
export { ContainerMonitor, type ContainerMonitorOptions } from './container-monitor.js';
