/** Monitors: watch targets and publish what they see as `events.*`. */
export { HeartbeatWatchdog, type WatchedTarget } from './heartbeat-watchdog.js';
export * from './errors.js';
