import type { Server as TlsServer } from 'node:tls';
import { createRedisSecretsFollower, loadConfigFile, type AuthgateConfig } from '../config/index.js';
import { createListenerTls, type ListenerTls } from '../http/index.js';
import { systemClock } from '../lib/clock.js';
import { parseFlags, UsageError } from './command.js';
import { composeServer, type ComposeOptions, type ComposedServer } from './compose.js';

/** Grace for in-flight requests on SIGTERM/SIGINT before connections are cut, ms. */
export const SHUTDOWN_GRACE_MS = 10_000;

export type ServerOptions = ComposeOptions & {
  /** How often the listener's certificate and key files, and the Redis store's secret files, are looked at, ms. Default a minute (`FILE_CHECK_INTERVAL_MS`). */
  fileCheckIntervalMs?: number;
};

/**
 * Composes the server and listens on the configured address (TLS when a cert and key are set).
 * Until closed, SIGHUP reopens the audit files (as Vault does), so that logrotate can move a file
 * away and new entries go to a new file at the configured path, reloads the config
 * (`options.reloadConfig`): its policies and the roles of the auth mounts, together
 * (`ComposedServer.reload`), and re-reads the listener's certificate and key and the Redis
 * store's secret files. It no longer ends the process. Those files are also looked at every
 * `fileCheckIntervalMs`: a renewed pair is served to new connections with no signal
 * (`createListenerTls`), and a rotated Redis password or certificate is presented at the next
 * connection to Redis (`createRedisSecretsFollower`).
 */
export const startServer = async (
  config: AuthgateConfig,
  options: ServerOptions = {},
): Promise<ComposedServer & { address: string }> => {
  const { fileCheckIntervalMs, ...composeOptions } = options;
  const tls = config.listener.tls;
  // Needs the app's server, so it comes after the composition; the metrics ask it at each scrape
  // for the certificate it serves (none before it exists).
  let listenerTls: ListenerTls | undefined;
  // The certificate and key were read and checked with the config.
  const composed = composeServer(
    config,
    {
      ...composeOptions,
      ...(tls === undefined ? {} : { listenerCertificateExpiry: () => listenerTls?.notAfterSeconds() }),
    },
    tls === undefined ? undefined : { cert: tls.cert, key: tls.key },
  );
  const { address: host, port } = config.listener;
  // A host that does not resolve, or an address this machine does not have, is only known here.
  // Listening also runs the onReady hooks (the policies load there): their errors, a bad policy's
  // configuration error included, pass through as they are.
  const address = await composed.app.listen({ host, port }).catch(async (err: unknown) => {
    await composed.close();
    if (typeof (err as NodeJS.ErrnoException).syscall !== 'string') throw err;
    throw new Error(`cannot listen on listener.address ${host}, port ${port}: ${(err as Error).message}`, {
      cause: err,
    });
  });
  if (tls !== undefined) {
    listenerTls = createListenerTls(tls, tls, {
      server: composed.app.server as unknown as TlsServer,
      clock: options.clock ?? systemClock,
      log: composed.log,
    });
    listenerTls.start(fileCheckIntervalMs);
  }
  const redis = config.store.type === 'redis' ? config.store.redis : undefined;
  const setRedisCredentials = composed.setRedisCredentials;
  // The secrets were read and checked with the config; the store connects with them.
  const redisSecrets =
    redis === undefined || setRedisCredentials === undefined
      ? undefined
      : createRedisSecretsFollower(redis.files, redis, {
          apply: setRedisCredentials,
          log: composed.log.child({ part: 'store' }),
        });
  redisSecrets?.start(fileCheckIntervalMs);
  const onHangup = () => {
    void listenerTls?.check('SIGHUP');
    void redisSecrets?.check('SIGHUP');
    void composed.audit
      .reopen()
      .then(() => composed.log.info({ event: 'audit.reopened', signal: 'SIGHUP' }, 'audit.reopened'));
    // A bad edit keeps the policies and roles that were running, and says why.
    composed
      .reload()
      .catch((err: unknown) =>
        composed.log.error(
          { event: 'config.reload_failed', signal: 'SIGHUP', reason: (err as Error).message },
          'config.reload_failed',
        ),
      );
  };
  process.on('SIGHUP', onHangup);
  composed.log.info({ event: 'server.listening', address }, 'server.listening');
  return {
    ...composed,
    address,
    close: async () => {
      process.off('SIGHUP', onHangup);
      listenerTls?.stop();
      redisSecrets?.stop();
      await composed.close();
    },
  };
};

/**
 * Runs until SIGTERM/SIGINT: then stops accepting, lets in-flight requests finish (bounded),
 * closes the store and exits 0. Signals that come while it stops are ignored.
 */
export const runServer = async (config: AuthgateConfig, options: ServerOptions = {}): Promise<number> => {
  const server = await startServer(config, options);
  return waitForShutdown(server);
};

export const waitForShutdown = (server: Pick<ComposedServer, 'close' | 'log'>, extra?: () => Promise<void>) =>
  new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) {
        // As Vault: one stop signal is read, the rest are ignored. The drain is bounded anyway, and
        // a repeated SIGTERM, a Ctrl-C or a logrotate SIGHUP must not cut the requests in flight.
        server.log.info(
          { event: 'server.signal_ignored', signal, reason: 'stopping' },
          'server.signal_ignored',
        );
        return;
      }
      stopping = true;
      // Until the process ends: startServer's SIGHUP handler goes with the server, and a signal
      // without a handler would end the process at once.
      process.on('SIGHUP', stop);
      server.log.info({ event: 'server.stopping', signal }, 'server.stopping');
      const force = setTimeout(() => {
        server.log.warn({ event: 'server.shutdown_timeout' }, 'server.shutdown_timeout');
        resolve(1);
        // Past the grace period nothing may keep the process up (a connection that never ends).
        setImmediate(() => process.exit(1));
      }, SHUTDOWN_GRACE_MS);
      force.unref();
      void server
        .close()
        .then(() => extra?.())
        .then(
          () => {
            clearTimeout(force);
            server.log.info({ event: 'server.stopped' }, 'server.stopped');
            resolve(0);
          },
          (err: unknown) => {
            server.log.error({ event: 'server.shutdown_failed', err }, 'server.shutdown_failed');
            resolve(1);
          },
        );
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });

/**
 * `AUTHGATE_FILE_CHECK_INTERVAL_MS`: how often the listener's certificate files and the Redis
 * store's secret files are looked at.
 * Internal, for the tests that renew a certificate under a running server; not a setting for
 * operators (docs/operations.md says so). Unset or empty: the default.
 */
const fileCheckInterval = (value: string | undefined): Pick<ServerOptions, 'fileCheckIntervalMs'> => {
  if (!value) return {};
  const ms = /^\d{1,10}$/.test(value) ? Number(value) : 0;
  // Node's timers hold at most 2^31-1 ms; past that they fire at once.
  if (ms < 1 || ms > 2 ** 31 - 1)
    throw new UsageError(
      'AUTHGATE_FILE_CHECK_INTERVAL_MS: give a whole number of milliseconds, 1 to 2147483647',
    );
  return { fileCheckIntervalMs: ms };
};

/** `authgate server`: runs the gateway on the config file of `--config` or `AUTHGATE_CONFIG`. */
export const runServerCommand = async (argv: string[]): Promise<number> => {
  const values = parseFlags(argv, { config: { type: 'string', short: 'c' } });
  // An empty AUTHGATE_CONFIG counts as unset, as the other AUTHGATE_* variables do; an empty
  // --config (`--config "$UNSET"`) names no file.
  const path = values.config ?? (process.env['AUTHGATE_CONFIG'] || undefined);
  if (path === undefined) throw new UsageError('give the config file with --config FILE or AUTHGATE_CONFIG');
  if (path === '') throw new UsageError('--config: give the name of a file');
  // A reload reads and checks the whole file again, with the parser that start uses: an edited
  // `policies:` or role takes effect, and a role refused at start is refused at a reload too.
  return runServer(loadConfigFile(path), {
    reloadConfig: () => loadConfigFile(path),
    ...fileCheckInterval(process.env['AUTHGATE_FILE_CHECK_INTERVAL_MS']),
  });
};
