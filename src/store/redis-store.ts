import { assertBatch, assertInteger, assertStreamAdd, assertTtlMs } from './arguments.js';
import { Redis, type Cluster } from 'ioredis';
import {
  connectRedis,
  connectionOptions,
  guardFailoverDetector,
  setClientCredentials,
  type RedisConnectionOptions,
  type RedisCredentials,
} from './redis-connection.js';
import { reopenWhenEnded, type Reopener } from './redis-reopen.js';
import { isTooOld, isTransient, MIN_VERSION } from './redis-replies.js';
import { scanPrefixOn } from './redis-scan.js';
import { traced } from './traced.js';
import type { BatchOp, SetOptions, Store } from './store.js';
import { createReplicationConfirmation, type ConfirmSettings } from './redis-confirm.js';
import { StoreUnavailableError } from './store.js';

export type { RedisConnectionOptions, RedisCredentials };

export type RedisStoreDeps = {
  log: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };
  /**
   * How much longer than asked an index keeps a member, in cluster mode (default
   * {@link CLUSTER_INDEX_GRACE_MS}; a single Redis keeps members exactly as long as asked).
   */
  clusterIndexGraceMs?: number;
  /** How often the subscribed connection is pinged (default {@link SUBSCRIBER_PING_MS}). */
  subscriberPingMs?: number;
  /**
   * `confirmReplicated` waits until this many replicas hold the writes made so far, at most
   * `timeoutMs`; `probeKey` is the key it writes first (see there). Absent: nothing to confirm.
   * Not with a cluster (a cluster's writes go to many masters).
   */
  confirm?: ConfirmSettings;
};

/**
 * How often the subscribed connection is pinged. It only listens, so a connection dropped without
 * a word (a NAT or a load balancer forgetting an idle flow, a frozen host) would go unnoticed, and
 * with it every message published from then on, cache invalidations included. A PING left
 * unanswered for the command timeout gets the connection torn down (`socketTimeout`, see
 * redis-connection.ts); the reconnection then says what was lost (`onGap`).
 */
export const SUBSCRIBER_PING_MS = 5_000;

/**
 * On Redis Cluster an index and the entry it lists (a token's record, a cached review) live on
 * different nodes, each expiring keys by its own clock. With the index's node ahead, a member
 * listed for exactly its entry's lifetime would leave the index while the entry still lives, and
 * revocation by identity would miss it. So a cluster keeps members this much longer: a member
 * that outlives its entry costs revocation one lookup that finds nothing. A minute covers what
 * NTP leaves and more. (A single Redis, replicas and Sentinel included, expires both by one clock:
 * a replica applies its master's expiries, and a promoted replica expires both by its own.)
 */
export const CLUSTER_INDEX_GRACE_MS = 60_000;

/**
 * The production store: Redis (standalone, Sentinel or Cluster) through ioredis, shared by
 * every replica. While Redis is unreachable every call rejects at once with
 * {@link StoreUnavailableError} (no offline queue), the client reconnects by itself, and the
 * connection state is logged once per change (`store.connected`, `store.unavailable`).
 * `setCredentials` puts a rotated password or certificate in force for the connections opened
 * from then on (a reconnect after a restart, a failover, a network blip); open ones stay.
 */
export const createRedisStore = (
  connection: RedisConnectionOptions,
  deps: RedisStoreDeps,
): Store & { setCredentials(credentials: RedisCredentials): void } => {
  // A copy: the credentials in it change with setCredentials, for the subscriber created later.
  const options = { ...connection, ...(connection.tls === undefined ? {} : { tls: { ...connection.tls } }) };
  const client = connectRedis(options);
  const isCluster = options.clusterNodes !== undefined;
  if (isCluster && deps.confirm !== undefined && deps.confirm.replicas > 0) {
    throw new TypeError('replication confirmation (WAIT) is not supported with a cluster');
  }
  const indexGraceMs = isCluster ? (deps.clusterIndexGraceMs ?? CLUSTER_INDEX_GRACE_MS) : 0;
  let subscriber: Redis | undefined;
  let pingTimer: NodeJS.Timeout | undefined;
  const handlers = new Map<string, Set<(message: string) => void>>();
  // Channels the subscriber has confirmed; ioredis subscribes them again itself after a reconnect.
  const subscribed = new Set<string>();
  const gapHandlers = new Set<() => void>();
  let wasSubscribed = false;
  const ensureSubscribed = async (channel: string): Promise<void> => {
    if (subscribed.has(channel) || subscriber === undefined) return;
    await subscriber.subscribe(channel);
    subscribed.add(channel);
  };
  let lastState: 'connected' | 'unavailable' | undefined;
  /** Set when the server is too old to serve (see MIN_VERSION): every call then fails closed. */
  let unsupported: string | undefined;

  /**
   * The subscribed connection of cluster mode: one node's, since a PUBLISH reaches every node of a
   * cluster. Not `Cluster.duplicate()`: when its connection drops, ioredis's cluster subscriber
   * moves to another node without a word (no 'close', no 'ready'), so messages lost meanwhile
   * would go unsaid. This one says so as the standalone one does, and each reconnection tries the
   * next node known, as the last one may be gone for good.
   */
  const clusterSubscriber = (): Redis => {
    const nodeAt = (i: number) => {
      const known = (client as Cluster)
        .nodes('all')
        .map((n) => ({ host: n.options.host, port: n.options.port }))
        .concat(options.clusterNodes ?? []);
      return known[i % known.length];
    };
    const sub: Redis = new Redis({
      ...connectionOptions(options),
      ...nodeAt(0),
      enableOfflineQueue: true,
      retryStrategy: (times: number) => {
        // Read by ioredis at each connection attempt.
        Object.assign(sub.options, nodeAt(times));
        return Math.min(100 * times, 2000);
      },
    });
    return sub;
  };

  const reopeners: Reopener[] = [];
  // Said as a failure to connect is, once: commands fail at once until the client is opened again.
  const onEnd = () => {
    if (lastState !== 'unavailable') {
      const reason = 'connection ended by the client, opening a new one';
      deps.log.warn({ event: 'store.unavailable', store: 'redis', reason }, 'store.unavailable');
    }
    lastState = 'unavailable';
  };
  reopeners.push(reopenWhenEnded(client, onEnd));
  client.on('ready', () => {
    if (lastState !== 'connected') {
      deps.log.info({ event: 'store.connected', store: 'redis' }, 'store.connected');
      // Said at once rather than by the first login's error, and every call then fails closed
      // with 503 (readiness too): every login would fail on the indexes' `ZADD GT` anyway.
      void client.info('server').then(
        (info) => {
          const version = /redis_version:(\S+)/.exec(info)?.[1];
          unsupported = isTooOld(info)
            ? `redis ${version ?? '?'} is older than ${MIN_VERSION.join('.')}, which authgate needs`
            : undefined;
          if (unsupported !== undefined)
            deps.log.warn(
              { event: 'store.unsupported_version', store: 'redis', version },
              `store.unsupported_version: authgate needs Redis ${MIN_VERSION.join('.')} or later`,
            );
        },
        () => undefined,
      );
    }
    lastState = 'connected';
  });
  // An 'error' listener is required: ioredis prints unhandled error events otherwise.
  client.on('error', (err: Error) => {
    if (lastState !== 'unavailable') {
      deps.log.warn({ event: 'store.unavailable', store: 'redis', reason: err.message }, 'store.unavailable');
    }
    lastState = 'unavailable';
  });

  const guard = async <T>(p: Promise<T>): Promise<T> => {
    if (unsupported !== undefined) {
      p.catch(() => undefined);
      throw new StoreUnavailableError(unsupported);
    }
    try {
      return await p;
    } catch (err) {
      if (isTransient(err))
        throw new StoreUnavailableError(`redis unavailable: ${(err as Error).message}`, { cause: err });
      throw err;
    }
  };

  const confirmation = createReplicationConfirmation({
    client: client as Redis,
    confirm: deps.confirm,
    socketTimeoutMs: options.commandTimeoutMs ?? 1000,
    guard,
    onConnection: (conn) => {
      if (options.sentinels !== undefined) guardFailoverDetector(conn);
      reopeners.push(reopenWhenEnded(conn));
    },
  });

  const setArgs = (options: SetOptions = {}): Array<string | number> => {
    const args: Array<string | number> = [];
    if (options.ttlMs !== undefined) args.push('PX', Math.ceil(options.ttlMs));
    if (options.mode === 'if-absent') args.push('NX');
    if (options.mode === 'if-present') args.push('XX');
    return args;
  };
  const ttlArg = (ttlMs: number | undefined) => (ttlMs === undefined ? 0 : Math.ceil(ttlMs));

  const runOne = async (op: BatchOp): Promise<boolean> => {
    switch (op.op) {
      case 'set':
        return (await client.call('SET', op.key, op.value, ...setArgs(op.options))) === 'OK';
      case 'delete':
        return (await client.del(op.key)) > 0;
      case 'indexAdd':
        await client.agIndexAdd(op.key, ttlArg(op.ttlMs + indexGraceMs), ...op.members);
        return true;
    }
  };

  return traced('redis', {
    get: (key) => guard(client.get(key)).then((v) => v ?? undefined),
    set: async (key, value, options) => {
      assertTtlMs(options?.ttlMs);
      return (await guard(client.call('SET', key, value, ...setArgs(options)))) === 'OK';
    },
    // One DEL per key: on a cluster, keys of one call may live on different nodes.
    delete: async (...keys) => {
      if (keys.length === 0) return 0;
      const counts = await guard(Promise.all(keys.map((k) => client.del(k))));
      return counts.reduce((a, b) => a + b, 0);
    },
    deleteIfEquals: (key, value) => guard(client.agDeleteIfEquals(key, value)).then((n) => Number(n) === 1),
    raiseTo: async (key, value, { ttlMs }) => {
      assertInteger('value', value);
      assertTtlMs(ttlMs);
      return Number(await guard(client.agRaiseTo(key, value, ttlArg(ttlMs))));
    },
    incrBy: async (key, delta, options = {}) => {
      assertInteger('delta', delta);
      assertTtlMs(options.ttlMs);
      return Number(await guard(client.agIncrBy(key, delta, ttlArg(options.ttlMs))));
    },
    ttlMs: async (key) => {
      const ms = await guard(client.pttl(key));
      if (ms === -2) return undefined;
      return ms === -1 ? Infinity : ms;
    },
    setAdd: async (key, members) => {
      if (members.length > 0) await guard(client.sadd(key, ...members));
    },
    setMembers: (key) => guard(client.smembers(key)),
    setRemove: async (key, members) => {
      if (members.length > 0) await guard(client.srem(key, ...members));
    },
    indexMembers: (key) => guard(client.agIndexMembers(key)),
    scanPrefix: async (prefix, { limit }) => {
      assertInteger('limit', limit, 1);
      return guard(scanPrefixOn(client, isCluster, prefix, limit));
    },
    indexRemove: async (key, members) => {
      if (members.length > 0) await guard(client.zrem(key, ...members));
    },
    batch: async (ops) => {
      assertBatch(ops);
      if (ops.length === 0) return [];
      if (isCluster) {
        // Keys of one batch live on different nodes, so no script can hold them all: the writes go
        // one after another, in the batch's order, and a failure stops the rest (callers put what
        // makes the rest visible — a token's record, a secret's metadata — where it belongs).
        const results: boolean[] = [];
        for (const op of ops) results.push(await guard(runOne(op)));
        return results;
      }
      const keys: string[] = [];
      const args: Array<string | number> = [];
      for (const op of ops) {
        keys.push(op.key);
        if (op.op === 'set') {
          const mode =
            op.options?.mode === 'if-absent' ? 'NX' : op.options?.mode === 'if-present' ? 'XX' : '';
          args.push('s', op.value, ttlArg(op.options?.ttlMs), mode);
        } else if (op.op === 'delete') {
          args.push('d');
        } else {
          args.push('a', ttlArg(op.ttlMs), op.members.length, ...op.members);
        }
      }
      const results = await guard(client.agBatch(keys.length, ...keys, ...args));
      return results.map((r) => r > 0);
    },
    streamAdd: async (key, fields, { maxLen }) => {
      assertStreamAdd(fields, maxLen);
      const flat = Object.entries(fields).flat();
      const id = await guard(client.xadd(key, 'MAXLEN', '~', maxLen, '*', ...flat));
      // XADD returns null only with NOMKSTREAM, which is not used.
      return id as string;
    },
    streamRange: async (key, { startId = '-', endId = '+', count, reverse = false }) => {
      // Redis 7.0 answers COUNT 0 with nil, not an empty list.
      assertInteger('count', count, 1);
      const rows = await guard(
        reverse
          ? client.xrevrange(key, endId, startId, 'COUNT', count)
          : client.xrange(key, startId, endId, 'COUNT', count),
      );
      return rows.map(([id, flat]) => {
        const pairs: Array<[string, string]> = [];
        for (let i = 0; i + 1 < flat.length; i += 2) pairs.push([flat[i] as string, flat[i + 1] as string]);
        // Defined, not assigned: a field named `__proto__` is a field, not the object's prototype.
        return { id, fields: Object.fromEntries(pairs) };
      });
    },
    publish: async (channel, message) => {
      await guard(client.publish(channel, message));
    },
    subscribe: async (channel, handler, onGap) => {
      if (onGap !== undefined) gapHandlers.add(onGap);
      if (subscriber === undefined) {
        // A subscribed connection can do nothing else; it queues while offline and
        // re-subscribes by itself after a reconnect.
        subscriber = isCluster
          ? clusterSubscriber()
          : (client as Redis).duplicate({ enableOfflineQueue: true });
        const sub = subscriber;
        pingTimer = setInterval(() => {
          if (sub.status === 'ready') sub.ping().catch(() => undefined);
        }, deps.subscriberPingMs ?? SUBSCRIBER_PING_MS);
        pingTimer.unref();
        if (options.sentinels !== undefined) guardFailoverDetector(subscriber);
        reopeners.push(reopenWhenEnded(subscriber));
        subscriber.on('error', () => undefined);
        subscriber.on('message', (ch: string, message: string) => {
          for (const h of handlers.get(ch) ?? []) h(message);
        });
        subscriber.on('ready', () => {
          for (const ch of handlers.keys()) void ensureSubscribed(ch).catch(() => undefined);
          // Whatever was published while the subscriber was away is lost: say so.
          if (wasSubscribed) for (const g of gapHandlers) g();
          wasSubscribed = false;
        });
        subscriber.on('close', () => {
          wasSubscribed = subscribed.size > 0;
        });
      }
      let set = handlers.get(channel);
      if (set === undefined) {
        set = new Set();
        handlers.set(channel, set);
      }
      set.add(handler);
      const handlerSet = set;
      // Rejects while Redis is away; the handler stays, and the channel is subscribed as soon as
      // the subscriber is ready again (a channel marked subscribed before it was had been lost).
      await ensureSubscribed(channel);
      return async () => {
        handlerSet.delete(handler);
      };
    },
    writeEpoch: confirmation.writeEpoch,
    confirmReplicated: confirmation.confirmReplicated,
    ping: async () => {
      await guard(client.ping());
    },
    setCredentials: (credentials: RedisCredentials) => {
      if (credentials.password !== undefined) options.password = credentials.password;
      if (credentials.sentinelPassword !== undefined) options.sentinelPassword = credentials.sentinelPassword;
      if (credentials.tls !== undefined) options.tls = { ...options.tls, ...credentials.tls };
      for (const c of [client, subscriber, confirmation.connection()])
        if (c !== undefined) setClientCredentials(c, credentials);
    },
    close: async () => {
      clearInterval(pingTimer);
      for (const r of reopeners) r.stop();
      for (const c of [subscriber, confirmation.connection(), client]) {
        if (c === undefined) continue;
        try {
          await c.quit();
        } catch {
          c.disconnect();
        }
        // In Sentinel mode quit() leaves the failover detector's connections to the sentinels
        // open, and they would keep the process up (redis/ioredis#1362); disconnect() ends them.
        if (options.sentinels !== undefined) c.disconnect();
      }
    },
  });
};
