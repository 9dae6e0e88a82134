/**
 * How authgate connects to Redis, in each mode (standalone, Sentinel, Cluster): the ioredis
 * options every connection shares (no offline queue, bounded retries, timeouts, TLS,
 * credentials) and the client of the configured mode, its scripts defined.
 */
import { Redis, Cluster, type ClusterNode, type RedisOptions } from 'ioredis';
import type { RedisConnectionOptions } from '../lib/redis-connection-options.js';
import { defineScripts, type Client } from './redis-scripts.js';
import { guardRedisSockets } from './redis-stream-guard.js';

export type { RedisConnectionOptions };

/** The options of every connection to a Redis server, whatever the mode. */
export const connectionOptions = (o: RedisConnectionOptions): RedisOptions => {
  const tls = o.tls === undefined ? undefined : { ...o.tls };
  return {
    // Fail fast instead of queueing while Redis is away: callers turn it into a 503.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: o.commandTimeoutMs ?? 1000,
    // A connection that answers nothing for as long (dropped without a word by a NAT, a load
    // balancer or a frozen host) is torn down and opened again. A timed-out command leaves the
    // socket as it is, and the kernel may keep one whose peer is gone for a quarter of an hour:
    // every command would time out meanwhile.
    socketTimeout: o.commandTimeoutMs ?? 1000,
    connectTimeout: o.connectTimeoutMs ?? 2000,
    // Reconnect forever, backing off to 2 s: the process never exits because Redis is away.
    retryStrategy: (times: number) => Math.min(100 * times, 2000),
    ...(o.username === undefined ? {} : { username: o.username }),
    ...(o.password === undefined ? {} : { password: o.password }),
    ...(tls === undefined ? {} : { tls }),
  };
};

/**
 * A standalone URL without its user and password, and the options that carry them: `username` and
 * `password` given apart win over the URL's (ioredis takes the URL's first, an empty user included,
 * so a rotated password in its file lost to a stale one in the URL).
 */
const standalone = (url: string, options: RedisOptions): [string, RedisOptions] => {
  const parsed = new URL(url);
  const fromUrl = {
    username: decodeURIComponent(parsed.username) || undefined,
    password: decodeURIComponent(parsed.password) || undefined,
  };
  parsed.username = '';
  parsed.password = '';
  const username = options.username ?? fromUrl.username;
  const password = options.password ?? fromUrl.password;
  return [
    parsed.toString(),
    {
      ...options,
      ...(username === undefined ? {} : { username }),
      ...(password === undefined ? {} : { password }),
    },
  ];
};

/** What a rotation changes of how to reach Redis: the secrets read from files. */
export type RedisCredentials = Pick<RedisConnectionOptions, 'password' | 'sentinelPassword' | 'tls'>;

/**
 * Puts `credentials` in ioredis options, where ioredis reads them at each new connection:
 * `password` when it authenticates (`Redis#connect` builds its AUTH from `options` each time),
 * `tls` when it opens the socket (the connectors spread `options.tls` into `tls.connect`),
 * `sentinelPassword` and `sentinelTLS` when it asks a sentinel. Open connections keep theirs.
 * The TLS objects are changed in place: copies of the options (`duplicate()`, a cluster's node
 * connections and its subscriber) share them. Credentials left undefined are left as they are.
 */
export const putCredentials = (options: RedisOptions, credentials: RedisCredentials): void => {
  if (credentials.password !== undefined) options.password = credentials.password;
  if (credentials.sentinelPassword !== undefined && options.sentinels !== undefined)
    options.sentinelPassword = credentials.sentinelPassword;
  if (credentials.tls === undefined) return;
  for (const tls of [options.tls, options.sentinelTLS])
    if (typeof tls === 'object') Object.assign(tls, credentials.tls);
};

/**
 * The connections of the failover detector of a client in Sentinel mode, one per sentinel: ioredis
 * keeps them private, opens them with a copy of the sentinel credentials of the time (at each
 * connection to a master), and reconnects them by themselves. None for another client.
 */
const failoverDetectorClients = (client: Redis): Redis[] => {
  const { connector } = client as unknown as {
    connector?: { failoverDetector?: { sentinels?: Array<{ client?: Redis }> } | null };
  };
  return (connector?.failoverDetector?.sentinels ?? []).flatMap((s) =>
    s.client === undefined ? [] : [s.client],
  );
};

const guarded = new WeakSet<Redis>();

/** Where sentinels announce a failover, which ioredis's failover detector listens to. */
const SWITCH_MASTER = '+switch-master';

/**
 * Keeps the failover detector of `client` (Sentinel mode) listening, and the process up, when one
 * of its connections to a sentinel comes back refused (a rotated password not yet read, a sentinel
 * still starting). ioredis would subscribe it again with no rejection handler, which ends the
 * process (redis/ioredis#2187), and, once refused, forget the channel: the detector would stay
 * deaf after the next reconnection succeeds. So each of its connections subscribes again at each
 * 'ready', failing quietly (it has no 'error' listener either, redis/ioredis#1600). Each
 * connection to a master opens a new detector, whose connections are met at the client's 'connect'.
 */
export const guardFailoverDetector = (client: Redis): void => {
  client.on('connect', () => {
    for (const detector of failoverDetectorClients(client)) {
      if (guarded.has(detector)) continue;
      guarded.add(detector);
      // Not the store's errors: whether Redis can be reached is what the client's connection says.
      detector.on('error', () => undefined);
      detector.options.autoResubscribe = false;
      detector.on('ready', () => {
        detector.subscribe(SWITCH_MASTER).catch(() => undefined);
      });
    }
  });
};

/**
 * Puts `credentials` in force for every new connection of `client` (see {@link putCredentials}):
 * a cluster's, for nodes it has yet to meet (`redisOptions`) and for those it knows (each node's
 * connection reconnects, or is replaced by one from `redisOptions`); in Sentinel mode, the
 * failover detector's too when it reconnects to a sentinel (its TLS options are the client's).
 */
export const setClientCredentials = (client: Redis | Cluster, credentials: RedisCredentials): void => {
  if (client instanceof Cluster) {
    putCredentials(client.options.redisOptions ?? {}, credentials);
    for (const node of client.nodes('all')) putCredentials(node.options, credentials);
    return;
  }
  putCredentials(client.options, credentials);
  if (credentials.sentinelPassword === undefined) return;
  for (const detector of failoverDetectorClients(client))
    detector.options.password = credentials.sentinelPassword;
};

/** Builds the ioredis client of the configured mode, failing fast while disconnected. */
export const connectRedis = (o: RedisConnectionOptions): Client => {
  guardRedisSockets();
  const common = connectionOptions(o);
  let client: Redis | Cluster;
  if (o.clusterNodes !== undefined) {
    client = new Cluster(o.clusterNodes as ClusterNode[], {
      enableOfflineQueue: false,
      clusterRetryStrategy: (times: number) => Math.min(100 * times, 2000),
      redisOptions: common,
      ...(o.tls === undefined ? {} : { dnsLookup: (address, callback) => callback(null, address) }),
    });
  } else if (o.sentinels !== undefined) {
    client = new Redis({
      ...common,
      sentinels: o.sentinels,
      name: o.sentinelName ?? 'mymaster',
      // Leave the master as soon as a sentinel announces a failover (+switch-master). Otherwise a
      // master demoted alive keeps taking writes until the sentinel turns it into a replica, 8 s
      // or more later, and drops them all: tokens issued meanwhile would be lost, and revocations
      // published there missed.
      failoverDetector: true,
      // The detector's connection to a sentinel that restarted comes back within seconds, rather
      // than a minute later (ioredis's default), deaf to failovers meanwhile.
      sentinelReconnectStrategy: (times: number) => Math.min(1000 * times, 10_000),
      // A sentinel that takes the connection but never answers would otherwise hold the client
      // (and a stopping process) forever: past the command timeout, the next sentinel is asked.
      sentinelCommandTimeout: common.commandTimeout,
      ...(o.sentinelUsername === undefined ? {} : { sentinelUsername: o.sentinelUsername }),
      ...(o.sentinelPassword === undefined ? {} : { sentinelPassword: o.sentinelPassword }),
      ...(common.tls === undefined ? {} : { sentinelTLS: common.tls, enableTLSForSentinelMode: true }),
    });
    guardFailoverDetector(client);
  } else {
    client = new Redis(...standalone(o.url ?? 'redis://127.0.0.1:6379', common));
  }
  return defineScripts(client);
};
