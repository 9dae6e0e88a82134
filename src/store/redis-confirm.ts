import type { Redis } from 'ioredis';
import { ReplicationUnconfirmedError } from './store.js';

/** The longest delay Node's timers take, ms. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** The `run_id` of `INFO server` text: which server process answered. */
const runIdOf = (info: string): string | undefined => /^run_id:(\w+)/m.exec(info)?.[1];

/** What `store.redis.confirm_replicas` asks, and the key each round writes first. */
export type ConfirmSettings = { replicas: number; timeoutMs: number; probeKey: string };

export type ReplicationConfirmationDeps = {
  /** The shared connection, through which every write goes. */
  client: Redis;
  /** Absent, or 0 replicas: nothing to confirm. */
  confirm: ConfirmSettings | undefined;
  /** The command timeout of the store's connections, ms. */
  socketTimeoutMs: number;
  /** The store's guard: a transient Redis error becomes a StoreUnavailableError. */
  guard: <T>(p: Promise<T>) => Promise<T>;
  /** Told of the confirming connection when it is opened (failover detection, reopening). */
  onConnection: (conn: Redis) => void;
};

/**
 * Store.confirmReplicated and Store.writeEpoch over Redis `WAIT` (see createRedisStore).
 *
 * `WAIT` holds the connection it is sent on until the replicas answer or the time is up, so it runs
 * on a connection of its own, opened at the first confirmation: every request's command would
 * otherwise queue behind it (a second, with a replica down). And it counts the replicas that hold
 * that connection's own last write, so each round writes a probe first. Replication is one ordered
 * stream: a replica that holds the probe holds every write the master applied before it.
 *
 * What a round cannot vouch for, it refuses (ReplicationUnconfirmedError): a round whose
 * connection dropped while it waited (ioredis sends an unanswered command again over the next
 * connection, which may reach another server), one whose connection reached another server than
 * the shared one writes to (their `run_id`s differ: a failover under way), and, for a caller
 * that passes the epoch it took before its writes, writes begun on a shared connection since
 * replaced.
 */
export const createReplicationConfirmation = (deps: ReplicationConfirmationDeps) => {
  const { client, guard } = deps;

  // Which server the shared connection writes to: its connections are counted, and each one's
  // server named by its run_id once known.
  // Only when there is something to confirm: an INFO at every connection costs a round trip.
  let mainEpoch = 0;
  let mainRunId: string | undefined;
  if (deps.confirm !== undefined && deps.confirm.replicas > 0) {
    client.on('ready', () => {
      const epoch = ++mainEpoch;
      mainRunId = undefined;
      void client.info('server').then(
        (info) => {
          if (epoch === mainEpoch) mainRunId = runIdOf(info);
        },
        () => undefined,
      );
    });
    client.on('close', () => {
      mainEpoch++;
      mainRunId = undefined;
    });
  }

  let confirmer: Redis | undefined;
  let confirmerDrops = 0;
  const confirmConnection = (timeoutMs: number): Redis => {
    if (confirmer === undefined) {
      // Node's timers take at most 2^31 - 1 ms (a larger one fires at once); each timeout of the
      // config may be that long, their sum not.
      const socketTimeout = Math.min(deps.socketTimeoutMs + timeoutMs, MAX_TIMER_MS);
      // Its first command is queued while it connects; the command timeout bounds the wait.
      confirmer = client.duplicate({
        commandTimeout: socketTimeout,
        socketTimeout,
        enableOfflineQueue: true,
      });
      deps.onConnection(confirmer);
      confirmer.on('error', () => undefined);
      confirmer.on('close', () => {
        confirmerDrops++;
      });
    }
    return confirmer;
  };

  /**
   * One round: the probe, then `WAIT` for it. It serves the callers whose writes had completed
   * when it began. Resolves the shared connection's epoch it vouches for.
   */
  const confirmRound = async (c: ConfirmSettings): Promise<number> => {
    const conn = confirmConnection(c.timeoutMs);
    const drops = confirmerDrops;
    const epoch = mainEpoch;
    const writtenOn = mainRunId;
    const confirmingOn = runIdOf(await guard(conn.info('server')));
    if (writtenOn === undefined || confirmingOn !== writtenOn) {
      throw new ReplicationUnconfirmedError(
        'the writes and their confirmation reached different redis servers (a failover under way)',
      );
    }
    await guard(conn.set(c.probeKey, String(Date.now()), 'PX', 60_000));
    const acked = Number(await guard(conn.call('WAIT', c.replicas, c.timeoutMs)));
    if (confirmerDrops !== drops || mainEpoch !== epoch) {
      throw new ReplicationUnconfirmedError(
        'the connection to the redis master dropped while its replicas were asked to confirm the write',
      );
    }
    if (acked < c.replicas) {
      throw new ReplicationUnconfirmedError(
        `the write is on the redis master, but ${acked} of the ${c.replicas} replicas ` +
          `store.redis.confirm_replicas asks for confirmed it within ${c.timeoutMs / 1000}s`,
      );
    }
    return epoch;
  };

  let currentRound: Promise<number> | undefined;
  let nextRound: Promise<number> | undefined;
  /**
   * A round for a caller whose writes are done: the current one if none runs, else the next (one
   * under way may have written its probe before this caller's writes). One round serves all that
   * wait for it, so a replica down costs each caller one timeout, not one each in a queue.
   */
  const round = (c: ConfirmSettings): Promise<number> => {
    if (currentRound === undefined) {
      currentRound = confirmRound(c).finally(() => {
        currentRound = undefined;
      });
      return currentRound;
    }
    nextRound ??= currentRound
      .catch(() => undefined)
      .then(() => {
        nextRound = undefined;
        return round(c);
      });
    return nextRound;
  };

  return {
    /** Store.writeEpoch: which connection of the shared client writes now. */
    writeEpoch: (): number => mainEpoch,
    /** Store.confirmReplicated. */
    confirmReplicated: async (since?: number): Promise<void> => {
      const c = deps.confirm;
      if (c === undefined || c.replicas === 0) return;
      const epoch = await round(c);
      if (since !== undefined && since !== epoch) {
        throw new ReplicationUnconfirmedError(
          'the connection to the redis master was replaced while the write was made',
        );
      }
    },
    /** The confirming connection, once opened: for credentials and close. */
    connection: (): Redis | undefined => confirmer,
  };
};
