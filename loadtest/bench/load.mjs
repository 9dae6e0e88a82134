/**
 * One measured run: autocannon (in this process) against one server, with the request bodies
 * rotated per request, latency recorded per response at sub-millisecond resolution, and the
 * server's CPU time and RSS read from /proc around it. Any error, timeout or non-2xx fails the run.
 */
import { performance } from 'node:perf_hooks';
import autocannon from 'autocannon';
import { cpuSeconds, machineBusySeconds, rssBytes } from './procs.mjs';

/** A request that takes longer than this counts as a timeout (and fails the run), seconds. */
const REQUEST_TIMEOUT_SECONDS = 10;

/**
 * @typedef {object} LoadSpec
 * @property {string} url  server base URL
 * @property {string} path
 * @property {string[]} bodies  request bodies, used in order
 * @property {number} connections
 * @property {number} [amount]  send exactly this many requests, each body at most once (then
 *   `bodies` must hold `amount + connections`: a margin in case autocannon builds requests ahead;
 *   the run fails rather than send a body twice)
 * @property {number} [durationSeconds]  otherwise: send for this long, cycling through `bodies`
 * @property {number} serverPid  whose CPU time and RSS are read
 * @property {number[]} [helperPids]  other processes of the system under test, whose CPU is read
 * @property {object[]} [requests]  autocannon request specs sent in turn instead of `POST path` with
 *   `bodies` (duration mode only): a flow such as a login and then a read with its token
 */

/**
 * @typedef {object} RunResult
 * @property {number} requests  2xx responses (all responses: anything else fails the run)
 * @property {number} durationSeconds  from the start of the run to its last response (autocannon's
 *   own duration ends on its next 1-second tick, which in amount mode adds up to a second of idle)
 * @property {number} rps  requests / durationSeconds
 * @property {number} p50Ms
 * @property {number} p99Ms
 * @property {number} serverCpuSeconds  user + system CPU of the server during the run
 * @property {number} cpuPer1kSeconds  serverCpuSeconds per 1000 requests
 * @property {number} serverCpuPercent  serverCpuSeconds / durationSeconds × 100 (200 = both cores)
 * @property {number} loadgenCpuSeconds  CPU of this process (autocannon) during the run
 * @property {number} helperCpuSeconds  CPU of the helper processes (a Redis) during the run
 * @property {number} foreignCpuPercent  CPU the rest of the machine used during the run (busy time
 *   minus server, helpers and autocannon), % of one core: other processes, kernel threads,
 *   hypervisor steal
 * @property {number} rssBytes  server RSS right after the run
 * @property {number} bodiesUsed  distinct body indexes handed to autocannon (amount mode)
 */

/**
 * Nearest-rank percentile of ascending `sorted`, `q` in (0, 1].
 *
 * @param {Float64Array} sorted
 * @param {number} q
 */
export const percentile = (sorted, q) => {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
};

/**
 * Runs one load and checks it was clean. Rejects when a request errored, timed out or was not
 * 2xx, when the amount was not reached, or when a body would have been sent twice in amount mode.
 *
 * @param {LoadSpec} spec
 * @returns {Promise<RunResult>}
 */
export const measure = async (spec) => {
  const { bodies, amount } = spec;
  if ((amount === undefined) === (spec.durationSeconds === undefined)) {
    throw new TypeError('measure: give exactly one of amount and durationSeconds');
  }
  if (spec.requests !== undefined && amount !== undefined) {
    throw new TypeError('measure: a request flow runs in duration mode only');
  }
  if (amount !== undefined && bodies.length < amount + spec.connections) {
    throw new TypeError(`measure: ${amount} requests need ${amount + spec.connections} bodies`);
  }
  let next = 0;
  let exhausted = false;
  const setupRequest = (request) => {
    let i = next++;
    if (i >= bodies.length) {
      if (amount !== undefined) exhausted = true;
      i %= bodies.length;
    }
    request.body = bodies[i];
    return request;
  };

  // Latencies of 2xx responses in ms (autocannon's own histogram keeps whole milliseconds only).
  let latencies = new Float64Array(1 << 16);
  let count = 0;
  let lastResponseMs = 0;
  const onResponse = (_client, statusCode, _bytes, responseTimeMs) => {
    lastResponseMs = performance.now();
    if (statusCode < 200 || statusCode > 299) return;
    if (count === latencies.length) {
      const grown = new Float64Array(latencies.length * 2);
      grown.set(latencies);
      latencies = grown;
    }
    latencies[count++] = responseTimeMs;
  };

  const helperPids = spec.helperPids ?? [];
  const helperCpu = () => helperPids.reduce((sum, pid) => sum + cpuSeconds(pid), 0);
  const cpuBefore = cpuSeconds(spec.serverPid);
  const helpersBefore = helperCpu();
  const machineBefore = machineBusySeconds();
  const loadgenBefore = process.cpuUsage();
  const startMs = performance.now();
  const instance = autocannon({
    url: spec.url,
    connections: spec.connections,
    ...(amount !== undefined ? { amount } : { duration: spec.durationSeconds }),
    timeout: REQUEST_TIMEOUT_SECONDS,
    // The first error ends the run: it fails anyway, and a dead server would otherwise be
    // hammered for the whole duration.
    bailout: 1,
    requests: spec.requests ?? [
      { method: 'POST', path: spec.path, headers: { 'content-type': 'application/json' }, setupRequest },
    ],
  });
  instance.on('response', onResponse);
  const result = await instance;
  const wallSeconds = (performance.now() - startMs) / 1000;
  const loadgen = process.cpuUsage(loadgenBefore);
  const serverCpuSeconds = cpuSeconds(spec.serverPid) - cpuBefore;
  const helperCpuSeconds = helperCpu() - helpersBefore;
  const machineSeconds = machineBusySeconds() - machineBefore;
  const rss = rssBytes(spec.serverPid);

  const problems = [];
  if (result.errors > 0) problems.push(`${result.errors} errors`);
  if (result.timeouts > 0) problems.push(`${result.timeouts} timeouts`);
  if (result.non2xx > 0) {
    const codes = Object.entries(result.statusCodeStats ?? {})
      .filter(([code]) => !code.startsWith('2'))
      .map(([code, { count: n }]) => `${n}×${code}`);
    problems.push(`${result.non2xx} non-2xx responses (${codes.join(', ')})`);
  }
  if (result.resets > 0) problems.push(`${result.resets} request pipeline resets`);
  if (exhausted) problems.push(`the body pool (${bodies.length}) ran out: a token would have repeated`);
  if (amount !== undefined && count !== amount) problems.push(`${count} 2xx responses, expected ${amount}`);
  if (count === 0) problems.push('no 2xx response at all');
  if (problems.length > 0) {
    throw new Error(
      `${spec.requests === undefined ? 'POST ' : ''}${spec.url}${spec.path}: ${problems.join('; ')}`,
    );
  }

  const sorted = latencies.subarray(0, count).sort();
  const durationSeconds = (lastResponseMs - startMs) / 1000;
  const loadgenCpuSeconds = (loadgen.user + loadgen.system) / 1e6;
  return {
    requests: count,
    durationSeconds,
    rps: count / durationSeconds,
    p50Ms: percentile(sorted, 0.5),
    p99Ms: percentile(sorted, 0.99),
    serverCpuSeconds,
    cpuPer1kSeconds: (serverCpuSeconds / count) * 1000,
    serverCpuPercent: (serverCpuSeconds / durationSeconds) * 100,
    loadgenCpuSeconds,
    helperCpuSeconds,
    foreignCpuPercent: Math.max(
      0,
      ((machineSeconds - serverCpuSeconds - helperCpuSeconds - loadgenCpuSeconds) / wallSeconds) * 100,
    ),
    rssBytes: rss,
    bodiesUsed: Math.min(next, bodies.length),
  };
};
