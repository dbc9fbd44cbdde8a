/** Monitors: watch targets and publish what they see as `events.*`. */
export { HeartbeatWatchdog, type WatchedTarget } from './heartbeat-watchdog.js';
export * from './errors.js';
export { ResourceMonitor, type ResourceMonitorOptions, type ProcessSource } from './resource-monitor.js';
export { SustainedThreshold, type ThresholdSettings, type ThresholdChange } from './sustained-threshold.js';
export { loadMonitorsConfig, MonitorsFileSchema, ResourceMonitorConfigSchema, type MonitorsConfig, type ResourceMonitorConfig } from './monitors-config.js';
export { ProcHostSource, readCpuTicks, cpuPctBetween, readMemory, readDiskPct, type HostSample, type HostSource, type CpuTicks } from './host-sampler.js';
