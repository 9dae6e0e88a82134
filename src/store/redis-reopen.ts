/**
 * Opening again an ioredis client that ioredis itself gave up on.
 *
 * ioredis reconnects by itself forever (see `retryStrategy` in redis-connection.ts), except when
 * its connector fails a connection attempt: `Redis#connect` then sets the client to `end`, where
 * it stays. In Sentinel mode a failover announced (`+switch-master`) while the client is
 * reconnecting does just that: the failover detector of the previous connection, still
 * subscribed, has the connector disconnect, and the connector, back from asking a sentinel where
 * the master is, finds itself disconnected and fails the attempt ("Connection is closed."). Its
 * subscriber, a copy with a detector of its own, meets the same fate. So does a connector that
 * throws while opening the socket (`tls.connect` with a key or certificate it cannot read).
 * Left so, authgate would answer 503 until restarted.
 */
import type { Cluster, Redis } from 'ioredis';

/** The delay before opening again, after `attempts` ends in a row: as the reconnections back off. */
const reopenDelayMs = (attempts: number): number => Math.min(100 * attempts, 2000);

export type Reopener = {
  /** Stops opening again, for good: the client is about to be closed on purpose. */
  stop(): void;
};

/**
 * Opens `client` again (`connect()`, which keeps its listeners, scripts and, for a subscriber, the
 * channels ioredis subscribes again) whenever it ends without {@link Reopener.stop} called first,
 * backing off while it keeps ending. Commands fail at once meanwhile ("Connection is closed."), as
 * while it reconnects. `onEnd` is told of each such end.
 */
export const reopenWhenEnded = (client: Redis | Cluster, onEnd: () => void = () => undefined): Reopener => {
  let stopped = false;
  let attempts = 0;
  let timer: NodeJS.Timeout | undefined;
  client.on('ready', () => {
    attempts = 0;
  });
  client.on('end', () => {
    if (stopped) return;
    onEnd();
    clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      if (!stopped && client.status === 'end') client.connect().catch(() => undefined);
    }, reopenDelayMs(++attempts));
  });
  return {
    stop: () => {
      stopped = true;
      clearTimeout(timer);
    },
  };
};
