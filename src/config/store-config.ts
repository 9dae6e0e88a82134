import { TIMEOUT_BOUNDS, durationSeconds } from './durations.js';
import { readCaBundle, readCertAndKey, readConfigText } from './files.js';
import type { ConfigDocument } from './schema.js';
import type { AuthgateConfig, Problem, RedisConfig } from './types.js';
import { redisUrlProblem } from './urls.js';

/**
 * `store.key_prefix` when unset: `ag:`. Config keeps its own copy (config imports no other part);
 * it is the same default `src/store/keys.ts` applies.
 */
export const DEFAULT_KEY_PREFIX = 'ag:';

/**
 * `store.redis.tls`, its files read and checked now: a CA bundle that holds a certificate, and a
 * client certificate with its key (both or neither), which must parse and match.
 */
const normalizeTls = (
  doc: NonNullable<NonNullable<NonNullable<ConfigDocument['store']>['redis']>['tls']>,
  problem: Problem,
  file: (p: string | undefined) => string | undefined,
): NonNullable<RedisConfig['tls']> => {
  const at = 'store.redis.tls';
  const caFile = file(doc.ca_file);
  const ca = caFile === undefined ? undefined : readCaBundle(caFile, `${at}.ca_file`, problem);
  const [certFile, keyFile] = [file(doc.cert_file), file(doc.key_file)];
  if ((certFile === undefined) !== (keyFile === undefined))
    problem(at, 'give cert_file and key_file together (a client certificate and its key)');
  const pair =
    certFile === undefined || keyFile === undefined
      ? undefined
      : readCertAndKey(certFile, keyFile, { cert: `${at}.cert_file`, key: `${at}.key_file` }, problem);
  return {
    ...(ca === undefined ? {} : { ca }),
    ...(pair === undefined ? {} : { cert: pair.cert.toString('utf8'), key: pair.key.toString('utf8') }),
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
  const read = (p: string | undefined, at: string) => {
    const path = file(p);
    return path === undefined ? undefined : readConfigText(path, at, problem, { trim: true });
  };
  const tls = r.tls === undefined ? undefined : normalizeTls(r.tls, problem, file);
  const password = read(r.password_file, 'store.redis.password_file');
  const sentinelPassword = read(r.sentinel_password_file, 'store.redis.sentinel_password_file');
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
    ...(tls !== undefined ? { tls } : {}),
    commandTimeoutMs: seconds(r.command_timeout, 'store.redis.command_timeout', 1, TIMEOUT_BOUNDS) * 1000,
    connectTimeoutMs: seconds(r.connect_timeout, 'store.redis.connect_timeout', 2, TIMEOUT_BOUNDS) * 1000,
  };
  return { type: 'redis', keyPrefix, redis };
};
