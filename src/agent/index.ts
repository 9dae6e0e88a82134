export { createAgent, MAX_BACKOFF_MS, MIN_BACKOFF_MS, RENEW_AT_SHARE } from './agent.js';
export type { Agent, AgentDeps, AgentLog, AgentOptions } from './agent.js';
export { createAuthgateClient } from './client.js';
export type { AuthgateClient, AuthgateClientOptions } from './client.js';
