/**
 * Keeps a Redis connection that fails twice from ending the process. ioredis listens to each
 * connection's socket for one 'error' only (`stream.once('error')` in `Redis#connect`, and in its
 * connectors), so a socket that reports a second error throws it as an unhandled 'error' event,
 * which ends the process. A TLS 1.3 server that refuses the client's certificate does exactly
 * that: its alert (`tlsv13 alert certificate required`) arrives after the handshake, and the reset
 * that follows it (`read ECONNRESET`) is the second error; it ended authgate in a test run, where
 * the store was meant to fail closed with 503s (redis/ioredis#962 proposed `on` for `once`, and
 * was closed without it).
 *
 * Every socket ioredis's connectors open (a client's, its duplicates', a cluster's nodes', a
 * Sentinel client's and its failover detector's) gets a listener of its own that stays: the first
 * error still reaches ioredis, which reports it (`store.unavailable`) and reconnects on 'close';
 * a later error of the same dead socket is dropped. Patched on the connectors' prototypes because
 * ioredis makes some of these clients itself, where no option reaches (the connector is chosen in
 * the client's constructor, and a client connects from it).
 */
// Not both in ioredis's public index; the package has no `exports` map, so its built module is
// the way in.
import { SentinelConnector, StandaloneConnector } from 'ioredis/built/connectors/index.js';

const ignore = () => undefined;
let guarded = false;

/** Installs the guard once for the process; later calls do nothing. */
export const guardRedisSockets = (): void => {
  if (guarded) return;
  guarded = true;
  for (const connector of [StandaloneConnector, SentinelConnector]) {
    const connect = connector.prototype.connect;
    connector.prototype.connect = async function guardedConnect(this: unknown, ...args) {
      const stream = await connect.apply(this, args);
      stream.on('error', ignore);
      return stream;
    };
  }
};
