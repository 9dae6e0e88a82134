import { TIMEOUT_BOUNDS, durationSeconds } from './durations.js';
import { readCaBundle, readCertAndKey, readConfigText } from './files.js';

/** `{ [key]: value }`, or nothing when `value` is undefined. */
const optional = <K extends string>(key: K, value: string | undefined) =>
  (value === undefined ? {} : { [key]: value }) as Partial<Record<K, string>>;
import type { ConfigDocument } from './schema.js';
import type { AuthgateConfig, Problem, RedisConfig, RedisSecretFiles } from './types.js';
import { redisUrlProblem } from './urls.js';

/**
 * `store.key_prefix` when unset: `ag:`. Config keeps its own copy (config imports no other part);
 * it is the same default `src/store/keys.ts` applies.
 */
export const DEFAULT_KEY_PREFIX = 'ag:';

/** What {@link RedisSecretFiles} hold, as the connection takes it. */
export type RedisSecrets = Pick<RedisConfig, 'password' | 'sentinelPassword' | 'tls'>;

/**
 * Reads and checks the secret files of `store.redis`, at start and at each reload alike: a
 * password file that holds something once trimmed (an empty one would connect with no password
 * at all), a CA bundle that holds a certificate, and a client certificate with its key, which must
 * parse and match. Problems are reported at their field; they name files, never their content.
 */
export const readRedisSecrets = (files: RedisSecretFiles, problem: Problem): RedisSecrets => {
  const at = 'store.redis';
  const text = (file: string | undefined, field: string) => {
    if (file === undefined) return undefined;
    const value = readConfigText(file, `${at}.${field}`, problem, { trim: true });
    if (value === '') problem(`${at}.${field}`, `${file} is empty`);
    return value || undefined;
  };
  const password = text(files.password, 'password_file');
  const sentinelPassword = text(files.sentinelPassword, 'sentinel_password_file');
  const ca = files.ca === undefined ? undefined : readCaBundle(files.ca, `${at}.tls.ca_file`, problem);
  const pair =
    files.cert === undefined || files.key === undefined
      ? undefined
      : readCertAndKey(
          files.cert,
          files.key,
          { cert: `${at}.tls.cert_file`, key: `${at}.tls.key_file` },
          problem,
        );
  const tlsFiles = files.ca !== undefined || files.cert !== undefined;
  return {
    ...(password === undefined ? {} : { password }),
    ...(sentinelPassword === undefined ? {} : { sentinelPassword }),
    ...(tlsFiles
      ? {
          tls: {
            ...(ca === undefined ? {} : { ca }),
            ...(pair === undefined
              ? {}
              : { cert: pair.cert.toString('utf8'), key: pair.key.toString('utf8') }),
          },
        }
      : {}),
  };
};

/**
 * Normalizes `store`: `memory` (default), or `redis` in exactly one mode (`url`, `sentinels` or
 * `cluster_nodes`), with the password and TLS files read now so that a missing file stops the
 * start rather than the first request.
 */
export const normalizeStore = (
  doc: ConfigDocument['store'],
  problem: Problem,
  file: (p: string | undefined) => string | undefined,
): AuthgateConfig['store'] => {
  const keyPrefix = doc?.key_prefix ?? DEFAULT_KEY_PREFIX;
  if (doc === undefined || doc.type === 'memory') {
    if (doc?.redis !== undefined) problem('store.redis', 'is only used when store.type is "redis"');
    return { type: 'memory', keyPrefix };
  }
  const r = doc.redis ?? {};
  const modes = [r.url, r.sentinels, r.cluster_nodes].filter((m) => m !== undefined);
  if (modes.length !== 1) {
    problem(
      'store.redis',
      'exactly one of url, sentinels or cluster_nodes must be set (or AUTHGATE_REDIS_URL)',
    );
  }
  const urlProblem = r.url === undefined ? undefined : redisUrlProblem(r.url);
  if (urlProblem !== undefined) problem('store.redis.url', urlProblem);
  const seconds = durationSeconds(problem);
  const files: RedisSecretFiles = {
    ...optional('password', file(r.password_file)),
    ...optional('sentinelPassword', file(r.sentinel_password_file)),
    ...optional('ca', file(r.tls?.ca_file)),
    ...optional('cert', file(r.tls?.cert_file)),
    ...optional('key', file(r.tls?.key_file)),
  };
  if ((files.cert === undefined) !== (files.key === undefined))
    problem('store.redis.tls', 'give cert_file and key_file together (a client certificate and its key)');
  const { password, sentinelPassword, tls } = readRedisSecrets(files, problem);
  for (const key of ['sentinel_name', 'sentinel_username', 'sentinel_password_file'] as const) {
    if (r[key] !== undefined && r.sentinels === undefined)
      problem(`store.redis.${key}`, 'is only used with sentinels');
  }
  const redis: RedisConfig = {
    ...(r.url !== undefined ? { url: r.url } : {}),
    ...(r.sentinels !== undefined
      ? {
          sentinels: r.sentinels,
          sentinelName: r.sentinel_name ?? 'mymaster',
          ...(r.sentinel_username !== undefined ? { sentinelUsername: r.sentinel_username } : {}),
          ...(sentinelPassword !== undefined ? { sentinelPassword } : {}),
        }
      : {}),
    ...(r.cluster_nodes !== undefined ? { clusterNodes: r.cluster_nodes } : {}),
    ...(r.username !== undefined ? { username: r.username } : {}),
    ...(password !== undefined ? { password } : {}),
    ...(tls !== undefined || r.tls !== undefined ? { tls: tls ?? {} } : {}),
    files,
    commandTimeoutMs: seconds(r.command_timeout, 'store.redis.command_timeout', 1, TIMEOUT_BOUNDS) * 1000,
    connectTimeoutMs: seconds(r.connect_timeout, 'store.redis.connect_timeout', 2, TIMEOUT_BOUNDS) * 1000,
  };
  const confirmTimeoutMs =
    seconds(r.confirm_timeout, 'store.redis.confirm_timeout', 1, TIMEOUT_BOUNDS) * 1000;
  if (r.confirm_timeout !== undefined && !r.confirm_replicas) {
    problem('store.redis.confirm_timeout', 'is only used with confirm_replicas');
  }
  if (r.confirm_replicas !== undefined && r.confirm_replicas > 0) {
    // WAIT counts the replicas of the master a connection writes to; a cluster's writes go to
    // many masters, each with replicas of its own.
    if (r.cluster_nodes !== undefined) {
      problem('store.redis.confirm_replicas', 'is not supported with cluster_nodes (use url or sentinels)');
    }
    redis.confirm = { replicas: r.confirm_replicas, timeoutMs: confirmTimeoutMs };
  }
  return { type: 'redis', keyPrefix, redis };
};
