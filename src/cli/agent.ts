import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { createAgent, createAuthgateClient } from '../agent/index.js';
import { createLogger, LOG_LEVELS } from '../telemetry/logger.js';
import { integerFlag, parseFlags, unwritable, UsageError, vaultAddressOf } from './command.js';

/** Where Kubernetes mounts a pod's own service-account token (Vault Agent's default too). */
export const DEFAULT_JWT_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/token';

/**
 * `authgate agent`: the sidecar. Logs in with the pod's projected token, keeps a client token in
 * the sink files (renewed, replaced before it runs out), until SIGTERM or SIGINT; with
 * `--exit-after-auth`, exits 0 once the first token is written (an init container).
 * @throws UsageError for a bad flag; Error when the CA file cannot be read.
 */
export const runAgent = async (argv: string[]): Promise<number> => {
  const v = parseFlags(argv, {
    address: { type: 'string' },
    mount: { type: 'string', default: 'kubernetes' },
    role: { type: 'string' },
    'jwt-file': { type: 'string', default: DEFAULT_JWT_FILE },
    sink: { type: 'string', multiple: true },
    'sink-mode': { type: 'string', default: '0640' },
    'ca-cert': { type: 'string' },
    timeout: { type: 'string', default: '10' },
    'exit-after-auth': { type: 'boolean', default: false },
    'revoke-on-exit': { type: 'boolean', default: false },
  });
  // Each value is checked before the required flags are looked for: a mistake is named as such,
  // not hidden behind a missing flag.
  const sinks = (v.sink ?? []).map((s) => resolve(s));
  for (const sink of sinks) {
    // The token is written beside the sink and renamed over it: the directory must be writable.
    const why = unwritable(sink) ?? unwritable(join(dirname(sink), '.authgate-agent-probe'));
    if (why !== undefined) throw new UsageError(`--sink: ${why}`);
  }
  if (!/^0?[0-7]{3}$/.test(v['sink-mode']))
    throw new UsageError('--sink-mode: must be an octal mode such as 0640');
  const timeoutMs = integerFlag(v.timeout, '--timeout', { min: 1, max: 3600, unit: 'seconds' }) * 1000;
  const address = vaultAddressOf(v.address, process.env['VAULT_ADDR']);
  if (v['exit-after-auth'] && v['revoke-on-exit'])
    throw new UsageError(
      '--revoke-on-exit: not with --exit-after-auth, whose token is left for the application',
    );
  // Vault Agent's `mount_path` is `auth/kubernetes`: taken as the mount `kubernetes`.
  const mount = v.mount.replace(/^\/*(?:auth\/)?/, '').replace(/\/+$/, '');
  if (mount === '' || mount.split('/').some((part) => part === '' || part === '.' || part === '..'))
    throw new UsageError('--mount: must be an auth mount path such as kubernetes (or auth/kubernetes)');
  if (v.role === undefined || v.role === '') throw new UsageError('--role: required');
  if (sinks.length === 0) throw new UsageError('--sink: at least one file to write the token to');
  const caFile = v['ca-cert'] ?? process.env['VAULT_CACERT'];
  let caCert: string | undefined;
  if (caFile !== undefined && caFile !== '') {
    try {
      caCert = readFileSync(caFile, 'utf8');
    } catch (err) {
      throw new Error(`cannot read the CA file ${caFile}: ${(err as Error).message}`, { cause: err });
    }
  }

  const level = process.env['AUTHGATE_LOG_LEVEL'] || 'info';
  if (!LOG_LEVELS.includes(level))
    throw new UsageError(`AUTHGATE_LOG_LEVEL: expected one of ${LOG_LEVELS.join(', ')}`);
  const log = createLogger(level);
  const client = createAuthgateClient({ address, caCert, timeoutMs });
  const agent = createAgent(
    {
      mount,
      role: v.role,
      jwtFile: v['jwt-file'],
      sinks,
      sinkMode: Number.parseInt(v['sink-mode'], 8),
      revokeOnStop: v['revoke-on-exit'],
    },
    { client, log },
  );
  log.info({ event: 'agent.starting', mount, role: v.role, sinks }, 'agent.starting');

  return new Promise<number>((done) => {
    let stopping = false;
    const stop = (code: number) => {
      if (stopping) return;
      stopping = true;
      void agent
        .stop()
        .catch(() => undefined)
        .then(() => {
          client.close();
          log.info({ event: 'agent.stopped' }, 'agent.stopped');
          done(code);
        });
    };
    // Until the token is written, a stop signal ends the agent without one: exit 1 for an init
    // container (its pod must not start), 0 for a sidecar being stopped with its pod.
    const onSignal = () => stop(v['exit-after-auth'] ? 1 : 0);
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
    void agent.start().then(
      () => {
        if (v['exit-after-auth']) stop(0);
      },
      () => undefined,
    );
  });
};
