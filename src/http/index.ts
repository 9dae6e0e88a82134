export { buildApp } from './app.js';
export type { AppDeps } from './app.js';
export { envelope } from './envelope.js';
export { createListenerTls } from './listener-tls.js';
export type { ListenerTls } from './listener-tls.js';
