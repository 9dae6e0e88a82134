/**
 * Open-loop pacing for autocannon: requests go out on an even schedule (request k is due at
 * start + k / rate), the way k6's constant-arrival-rate executor starts iterations.
 *
 * Why not autocannon's own `overallRate`: it is a per-connection budget per 1-second tick, and
 * every connection's tick starts at the same moment, so each second's requests all go out at full
 * speed in the first part of the second and the connections then sit idle. Measured here (bare
 * Fastify, 50 connections, a third of the maximum rate): every request of a second was sent in its
 * first 350 ms, and the p99 was that of the saturated server (26 ms, against 22 ms at full load);
 * evenly paced, the same rate had a p99 of under 10 ms. A latency "at half the maximum rate" is
 * only meaningful with the requests spread out.
 *
 * How: each client's `_doRequest` (autocannon 9's one method that writes a request) is wrapped so
 * that the write waits for the next free slot of the shared schedule. A request whose slot has
 * already passed (every connection was busy: the server fell behind) goes out at once, and how late
 * it was is added to its latency, so that a server that cannot keep up shows it in the percentiles
 * instead of hiding it in fewer requests (no coordinated omission). A request written on time
 * waits on a timer, whose own imprecision (about a millisecond) is not counted.
 */
import { performance } from 'node:perf_hooks';
// Timers are imported, not global: loadtest/'s lint config declares only process and console.
import { clearTimeout, setTimeout } from 'node:timers';

/**
 * @typedef {object} Pacer
 * @property {(client: any) => void} setupClient  autocannon's `setupClient` option
 * @property {(client: any) => number} lateMs  how late the request `client` has in flight was
 *   sent against its slot, ms (0 when on time)
 * @property {() => number} maxLateMs  the latest any request was sent so far, ms
 * @property {() => void} stop  cancels the writes still waiting for their slot (call when the run
 *   is over: a destroyed client must not send again)
 */

/**
 * @param {{
 *   ratePerSecond: number,
 *   nowMs?: () => number,
 *   setTimer?: (fn: () => void, ms: number) => unknown,
 *   clearTimer?: (timer: any) => void,
 * }} opts  `nowMs`: a monotonic clock in ms (default `performance.now`); `setTimer`/`clearTimer`
 *   (default node:timers): both injectable for tests
 * @returns {Pacer}
 * @throws {TypeError} when the rate is not a positive finite number
 */
export const createPacer = ({
  ratePerSecond,
  nowMs = () => performance.now(),
  setTimer = setTimeout,
  clearTimer = clearTimeout,
}) => {
  if (!(ratePerSecond > 0) || !Number.isFinite(ratePerSecond)) {
    throw new TypeError(`createPacer: ratePerSecond must be a positive number, got ${ratePerSecond}`);
  }
  const intervalMs = 1000 / ratePerSecond;
  /** @type {number | undefined} the schedule starts with the first request */
  let startMs;
  let nextSlot = 0;
  let maxLate = 0;
  /** @type {WeakMap<object, number>} */
  const late = new WeakMap();
  /** @type {Set<unknown>} */
  const waiting = new Set();

  return {
    setupClient: (client) => {
      const send = client._doRequest;
      if (typeof send !== 'function') {
        throw new TypeError('pacing needs autocannon 9 (its clients no longer have _doRequest)');
      }
      client._doRequest = (...args) => {
        // The call after a connection's last response of an amount-mode run sends nothing (the
        // client closes): it must not take a slot, or the schedule would get holes.
        if (client.destroyed || (client.responseMax && client.reqsMade >= client.responseMax)) {
          return send.apply(client, args);
        }
        const now = nowMs();
        startMs ??= now;
        const dueMs = startMs + nextSlot++ * intervalMs;
        if (dueMs <= now) {
          // The connection was busy past the slot: the server's doing, counted in the latency.
          const lateMs = now - dueMs;
          late.set(client, lateMs);
          if (lateMs > maxLate) maxLate = lateMs;
          send.apply(client, args);
          return;
        }
        // On time. The timer's own imprecision (a millisecond or so) is the load generator's and
        // is not counted.
        late.set(client, 0);
        const timer = setTimer(() => {
          waiting.delete(timer);
          if (!client.destroyed) send.apply(client, args);
        }, dueMs - now);
        waiting.add(timer);
      };
    },
    lateMs: (client) => late.get(client) ?? 0,
    maxLateMs: () => maxLate,
    stop: () => {
      for (const timer of waiting) clearTimer(timer);
      waiting.clear();
    },
  };
};
