export { buildApp } from './app.js';
export type { AppDeps } from './app.js';
export { envelope } from './envelope.js';
