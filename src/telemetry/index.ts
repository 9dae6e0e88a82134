export { LOG_LEVELS, REDACTED, REDACT_PATHS, createLogger, loggerOptions } from './logger.js';
export type { Logger } from './logger.js';
export { createTelemetry } from './telemetry.js';
export type { Telemetry, TelemetryOptions } from './telemetry.js';
export { createMetrics } from './metrics.js';
export type { LoginLabels, MetricSources, Metrics, VerifierSource } from './metrics.js';
export { createLogBudget } from '../lib/log-budget.js';
export type { LogBudget } from '../lib/log-budget.js';
