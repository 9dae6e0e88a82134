import type { Logger } from 'pino';

/**
 * The slice of pino a verifier logs through. Messages are fixed event names (`tokenreview.failed`,
 * `jwks.fetch_failed`); values go in fields; a token only ever as `fingerprint(token)`.
 */
export type VerifierLog = Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;
