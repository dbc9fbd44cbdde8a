/** The stack's one HTTP server: alert intake (Alertmanager, incidents), /healthz. */
export { startWebServer, type WebServer, type WebServerOptions } from './web-server.js';
export { ensureIntakeToken } from './intake-token.js';
export { IntakeTimings, INTAKE_STAGES, type IntakeStage } from './intake-timings.js';
export { alertEventId } from './alert-intake.js';
export type { IntakeRecord } from './alert-ledger.js';
export * from './errors.js';
export { LiveFeed, FEED_PATTERNS, type FeedItem, type LiveFeedOptions } from './live-feed.js';
export type { DashboardOptions } from './dashboard-routes.js';
export type { EventStream } from './event-stream.js';
export { keepScorecard, readScorecards, type KeptScorecard } from './scorecard-archive.js';
