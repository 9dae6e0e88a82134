import type { AuditDeviceConfig } from '../config/index.js';
import { AuthgateError, badRequest, unavailable } from '../errors.js';
import type { Clock } from '../lib/clock.js';
import { StoreUnavailableError, type Keys, type Store } from '../store/index.js';
import type { Logger } from '../telemetry/index.js';
import { createAuditBroker, type AuditDevice } from './broker.js';
import type { LoginFilter, LoginRecord } from './query.js';
import { createSaltSource, SaltUnopenableError, type SaltResealCounts, type SaltSealer } from './salt.js';
import { createFileSink, createStoreStreamSink, createStreamSink, type AuditSink } from './sinks.js';
import { recentStreamLogins } from './sources.js';

/**
 * What audit is built from: the store (salts, streams), its keys, the key ring that seals the
 * salts, the clock, the logger.
 */
export type AuditDeps = {
  store: Pick<Store, 'get' | 'set' | 'streamAdd' | 'streamRange'>;
  keys: Pick<Keys, 'auditSalt' | 'auditStream'>;
  /** Seals each device's salt at rest: the key ring of secret values (`secrets.encryption_key_file`). */
  sealer: SaltSealer;
  clock: Clock;
  log: Pick<Logger, 'warn' | 'info'>;
  /** Where `stdout` devices write; default `process.stdout`. */
  stdout?: NodeJS.WritableStream;
  /** Called for every entry a device failed to write. */
  onDeviceFailure?: (device: string) => void;
};

/** Most logins `logins` returns at once. */
export const MAX_LOGINS_LIMIT = 1000;

/**
 * Audit as configured: the broker over every device (see {@link createAuditBroker}: fail
 * closed, bounded waits, per-device salts), plus the login query over a `redis` device's stream
 * for `GET /v1/sys/audit/logins`.
 */
export const createAudit = (devices: readonly AuditDeviceConfig[], deps: AuditDeps) => {
  const sinkOf = (d: AuditDeviceConfig): AuditSink => {
    switch (d.type) {
      case 'file':
        if (d.path === undefined) throw new TypeError(`audit device ${d.name}: a file device needs a path`);
        return createFileSink(d.path, d.prefix);
      case 'stdout':
        return createStreamSink(deps.stdout ?? process.stdout, d.prefix);
      case 'redis':
        return createStoreStreamSink(deps.store, deps.keys.auditStream(d.name), d.maxLen);
    }
  };
  const built: AuditDevice[] = devices.map((d) => ({ settings: d, sink: sinkOf(d) }));
  const salts = createSaltSource({ store: deps.store, keys: deps.keys, sealer: deps.sealer });
  const broker = createAuditBroker({
    devices: built,
    salts,
    clock: deps.clock,
    log: deps.log,
    ...(deps.onDeviceFailure ? { onDeviceFailure: deps.onDeviceFailure } : {}),
  });
  const streams = devices.filter((d) => d.type === 'redis');
  /**
   * A store that cannot answer is a dependency down (503), never a bug; a salt that does not open
   * is stored state this server cannot use (500, as a KV value that does not open).
   */
  const storeCall = async <T>(p: Promise<T>): Promise<T> => {
    try {
      return await p;
    } catch (err) {
      if (err instanceof StoreUnavailableError)
        throw unavailable('audit store unavailable', 'audit_store_unavailable', err);
      if (err instanceof SaltUnopenableError)
        throw new AuthgateError('INTERNAL', {
          reason: 'audit_salt_unopenable',
          detail: err.message,
          cause: err,
        });
      throw err;
    }
  };

  return {
    ...broker,
    /**
     * The broker's `hash`, with a store that cannot give the salt as AuthgateError UNAVAILABLE,
     * and a salt that does not open as AuthgateError INTERNAL (`audit_salt_unopenable`).
     */
    hash: (device: string, value: string) => storeCall(broker.hash(device, value)),
    /**
     * Re-seals under the current key every configured device's salt that is in clear (stored by
     * an earlier authgate) or sealed under a previous key; see the salt source's `rewrap`. Each
     * salt that does not open is left as it was and named to `onUnopenable`.
     * @throws AuthgateError UNAVAILABLE when the store fails.
     */
    rewrapSalts: (onUnopenable: (device: string) => void): Promise<SaltResealCounts> =>
      storeCall(salts.rewrap(broker.deviceNames, onUnopenable)),
    /**
     * The last `limit` logins (1 to {@link MAX_LOGINS_LIMIT}) matching `filter` in the stream of
     * the `redis` device `device` (default: the first one configured), oldest first.
     * @throws AuthgateError BAD_REQUEST when there is no such redis device, UNAVAILABLE when the
     *   store cannot be read.
     */
    logins: async (
      filter: LoginFilter,
      options: { device?: string; limit: number },
    ): Promise<LoginRecord[]> => {
      const device =
        options.device === undefined ? streams[0] : streams.find((d) => d.name === options.device);
      if (device === undefined) {
        throw badRequest(
          options.device === undefined
            ? 'no redis audit device is configured'
            : `"${options.device}" is not a redis audit device`,
          'no_audit_stream',
        );
      }
      const limit = Math.min(Math.max(1, Math.floor(options.limit)), MAX_LOGINS_LIMIT);
      return storeCall(recentStreamLogins(deps.store, deps.keys.auditStream(device.name), filter, limit));
    },
  };
};
export type Audit = ReturnType<typeof createAudit>;
