/**
 * One measured run: autocannon (in this process) against one server, with the request bodies
 * rotated per request, latency recorded per response at sub-millisecond resolution, and the
 * server's CPU time and RSS read from /proc around it. Any error, timeout or unexpected status
 * fails the run: a non-2xx, unless the plan says that body must be refused (`statuses`).
 */
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import autocannon from 'autocannon';
import { createPacer } from './pace.mjs';
import { cpuSeconds, machineBusySeconds, rssBytes } from './procs.mjs';

/** The load generator's event loop is sampled this often, ms (its figures include it). */
const LOOP_SAMPLING_MS = 10;

/** A request that takes longer than this counts as a timeout (and fails the run), seconds. */
const REQUEST_TIMEOUT_SECONDS = 10;

/**
 * @typedef {object} LoadSpec
 * @property {string} url  server base URL
 * @property {string} path
 * @property {string[]} bodies  request bodies, used in order
 * @property {number[]} [statuses]  the HTTP status each body must be answered with, index for
 *   index (e.g. 403 for a login with a bad token); without it every answer must be 2xx. A
 *   response with another status fails the run; the expected non-2xx ones are counted apart
 * @property {number} connections
 * @property {number} [amount]  send exactly this many requests, each body at most once (then
 *   `bodies` must hold `amount + connections`: a margin in case autocannon builds requests ahead;
 *   the run fails rather than send a body twice)
 * @property {number} [durationSeconds]  otherwise: send for this long, cycling through `bodies`
 * @property {number} [ratePerSecond]  pace the requests evenly at this rate (pace.mjs) instead of
 *   sending as fast as the connections allow; latency is then counted from each request's slot
 * @property {number} serverPid  whose CPU time and RSS are read
 * @property {number} [apiServerPid]  the simulated API server, whose CPU is read apart
 * @property {number[]} [helperPids]  other processes of the system under test, whose CPU is read
 * @property {object[]} [requests]  autocannon request specs sent in turn instead of `POST path` with
 *   `bodies` (duration mode only, every answer 2xx): a flow such as a login and then a read with
 *   its token
 */

/**
 * @typedef {object} RunResult
 * @property {number} requests  responses with the expected status: every 2xx, plus the expected
 *   non-2xx ones when `statuses` is given (anything else fails the run)
 * @property {number} deniedRequests  of which expected non-2xx (0 without `statuses`)
 * @property {number} durationSeconds  from the start of the run to its last response (autocannon's
 *   own duration ends on its next 1-second tick, which in amount mode adds up to a second of idle)
 * @property {number} rps  requests / durationSeconds
 * @property {number} p50Ms  over every response of the run
 * @property {number} p99Ms
 * @property {number} okP99Ms  over the 2xx responses only
 * @property {number} deniedP50Ms  over the expected non-2xx responses only (NaN when none)
 * @property {number} deniedP99Ms
 * @property {number | undefined} targetRps  the paced rate (`ratePerSecond`), if any
 * @property {number} maxLateMs  paced runs: the latest a request went out after its slot because no
 *   connection was free (the server fell behind), ms; 0 otherwise
 * @property {number} loadgenMaxStallMs  the longest this process's event loop (autocannon's) was
 *   held during the run, ms (sampled every 10 ms, the sampling interval taken off): a stall here
 *   delays reading answers and sending requests, and shows in the latencies as if the server
 *   were slow
 * @property {number} serverCpuSeconds  user + system CPU of the server during the run
 * @property {number} cpuPer1kSeconds  serverCpuSeconds per 1000 requests
 * @property {number} serverCpuPercent  serverCpuSeconds / durationSeconds × 100 (200 = both cores)
 * @property {number} loadgenCpuSeconds  CPU of this process (autocannon) during the run
 * @property {number | undefined} apiServerCpuSeconds  CPU of the simulated API server during the
 *   run; undefined without one
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

/** A growable list of latencies in ms (autocannon's own histogram keeps whole milliseconds only). */
const latencyList = () => {
  let values = new Float64Array(1 << 16);
  let count = 0;
  return {
    /** @param {number} ms */
    add: (ms) => {
      if (count === values.length) {
        const grown = new Float64Array(values.length * 2);
        grown.set(values);
        values = grown;
      }
      values[count++] = ms;
    },
    count: () => count,
    /** The values so far, ascending (a copy). */
    sorted: () => values.slice(0, count).sort(),
  };
};

/** `a` and `b` (ascending) merged, ascending. */
const mergeSorted = (a, b) => {
  const out = new Float64Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out.sort();
};

const is2xx = (status) => status >= 200 && status <= 299;

/**
 * Checks a load spec once, up front.
 *
 * @param {LoadSpec} spec
 * @throws {TypeError} on a spec that cannot run as asked
 */
const validate = (spec) => {
  const { bodies, amount, statuses } = spec;
  if ((amount === undefined) === (spec.durationSeconds === undefined)) {
    throw new TypeError('measure: give exactly one of amount and durationSeconds');
  }
  if (spec.requests !== undefined && (amount !== undefined || statuses !== undefined)) {
    throw new TypeError('measure: a request flow runs in duration mode only, every answer 2xx');
  }
  if (statuses !== undefined && statuses.length !== bodies.length) {
    throw new TypeError(`measure: ${bodies.length} bodies but ${statuses.length} statuses`);
  }
  if (amount !== undefined && bodies.length < amount + spec.connections) {
    throw new TypeError(`measure: ${amount} requests need ${amount + spec.connections} bodies`);
  }
  // A paced connection waits about connections / rate seconds between two requests, and autocannon
  // counts that wait towards the request timeout.
  if (
    spec.ratePerSecond !== undefined &&
    spec.connections / spec.ratePerSecond > REQUEST_TIMEOUT_SECONDS / 2
  ) {
    throw new TypeError(
      `measure: ${spec.connections} connections at ${spec.ratePerSecond} req/s would idle past the request timeout: use fewer connections`,
    );
  }
};

/**
 * Runs one load and checks it was clean. Rejects when a request errored or timed out, when an
 * answer had another status than expected (any non-2xx without `statuses`), when the amount was
 * not reached, or when a body would have been sent twice in amount mode.
 *
 * @param {LoadSpec} spec
 * @returns {Promise<RunResult>}
 */
export const measure = async (spec) => {
  validate(spec);
  const { bodies, amount, statuses } = spec;
  let next = 0;
  let exhausted = false;
  /** The index of the next body to send. */
  const take = () => {
    let i = next++;
    if (i >= bodies.length) {
      if (amount !== undefined) exhausted = true;
      i %= bodies.length;
    }
    return i;
  };
  /** Up to 5 examples of answers with the wrong status, for the error message. */
  const wrong = { count: 0, examples: /** @type {string[]} */ ([]) };
  const loginRequest = {
    method: 'POST',
    path: spec.path,
    headers: { 'content-type': 'application/json' },
    setupRequest: (request, context) => {
      const i = take();
      request.body = bodies[i];
      if (statuses !== undefined) {
        // autocannon keeps one context per connection, and a connection has one request in
        // flight: the context says what the answer to this body must be.
        context.body = i;
        context.expected = statuses[i];
      }
      return request;
    },
    ...(statuses === undefined
      ? {}
      : {
          onResponse: (status, _body, context) => {
            if (status === context.expected) return;
            wrong.count++;
            if (wrong.examples.length < 5) {
              wrong.examples.push(`body #${context.body}: ${status}, expected ${context.expected}`);
            }
          },
        }),
  };

  const pacer =
    spec.ratePerSecond === undefined ? undefined : createPacer({ ratePerSecond: spec.ratePerSecond });
  const ok = latencyList();
  const denied = latencyList();
  let lastResponseMs = 0;
  const onResponse = (client, statusCode, _bytes, responseTimeMs) => {
    lastResponseMs = performance.now();
    const latencyMs = responseTimeMs + (pacer?.lateMs(client) ?? 0);
    if (is2xx(statusCode)) ok.add(latencyMs);
    else if (statuses !== undefined) denied.add(latencyMs);
  };

  const helperPids = spec.helperPids ?? [];
  const helperCpu = () => helperPids.reduce((sum, pid) => sum + cpuSeconds(pid), 0);
  const cpuBefore = cpuSeconds(spec.serverPid);
  const helpersBefore = helperCpu();
  const apiServerCpu = () => (spec.apiServerPid === undefined ? 0 : cpuSeconds(spec.apiServerPid));
  const apiServerBefore = apiServerCpu();
  const machineBefore = machineBusySeconds();
  const loadgenBefore = process.cpuUsage();
  const loopDelay = monitorEventLoopDelay({ resolution: LOOP_SAMPLING_MS });
  loopDelay.enable();
  const startMs = performance.now();
  let result;
  try {
    const instance = autocannon({
      url: spec.url,
      connections: spec.connections,
      ...(amount !== undefined ? { amount } : { duration: spec.durationSeconds }),
      timeout: REQUEST_TIMEOUT_SECONDS,
      // The first error ends the run: it fails anyway, and a dead server would otherwise be
      // hammered for the whole duration.
      bailout: 1,
      ...(pacer === undefined ? {} : { setupClient: pacer.setupClient }),
      requests: spec.requests ?? [loginRequest],
    });
    instance.on('response', onResponse);
    result = await instance;
  } finally {
    pacer?.stop();
    loopDelay.disable();
  }
  const wallSeconds = (performance.now() - startMs) / 1000;
  const loadgen = process.cpuUsage(loadgenBefore);
  const serverCpuSeconds = cpuSeconds(spec.serverPid) - cpuBefore;
  const helperCpuSeconds = helperCpu() - helpersBefore;
  const apiServerCpuSeconds = apiServerCpu() - apiServerBefore;
  const machineSeconds = machineBusySeconds() - machineBefore;
  const rss = rssBytes(spec.serverPid);

  const count = ok.count() + denied.count() - wrong.count;
  const problems = [];
  if (result.errors > 0) problems.push(`${result.errors} errors`);
  if (result.timeouts > 0) problems.push(`${result.timeouts} timeouts`);
  if (statuses === undefined && result.non2xx > 0) {
    const codes = Object.entries(result.statusCodeStats ?? {})
      .filter(([code]) => !code.startsWith('2'))
      .map(([code, { count: n }]) => `${n}×${code}`);
    problems.push(`${result.non2xx} non-2xx responses (${codes.join(', ')})`);
  }
  if (wrong.count > 0) {
    problems.push(`${wrong.count} answers with the wrong status (${wrong.examples.join('; ')})`);
  }
  if (result.resets > 0) problems.push(`${result.resets} request pipeline resets`);
  if (exhausted) problems.push(`the body pool (${bodies.length}) ran out: a token would have repeated`);
  if (amount !== undefined && count !== amount)
    problems.push(`${count} expected answers, expected ${amount}`);
  if (count === 0) {
    problems.push(
      statuses === undefined ? 'no 2xx response at all' : 'no answer with its expected status at all',
    );
  }
  if (problems.length > 0) {
    throw new Error(
      `${spec.requests === undefined ? 'POST ' : ''}${spec.url}${spec.path}: ${problems.join('; ')}`,
    );
  }

  const okSorted = ok.sorted();
  const deniedSorted = denied.sorted();
  const all = deniedSorted.length === 0 ? okSorted : mergeSorted(okSorted, deniedSorted);
  const durationSeconds = (lastResponseMs - startMs) / 1000;
  const loadgenCpuSeconds = (loadgen.user + loadgen.system) / 1e6;
  return {
    requests: count,
    deniedRequests: deniedSorted.length,
    durationSeconds,
    rps: count / durationSeconds,
    p50Ms: percentile(all, 0.5),
    p99Ms: percentile(all, 0.99),
    okP99Ms: percentile(okSorted, 0.99),
    deniedP50Ms: percentile(deniedSorted, 0.5),
    deniedP99Ms: percentile(deniedSorted, 0.99),
    targetRps: spec.ratePerSecond,
    maxLateMs: pacer?.maxLateMs() ?? 0,
    loadgenMaxStallMs: Math.max(0, loopDelay.max / 1e6 - LOOP_SAMPLING_MS),
    serverCpuSeconds,
    cpuPer1kSeconds: (serverCpuSeconds / count) * 1000,
    serverCpuPercent: (serverCpuSeconds / durationSeconds) * 100,
    loadgenCpuSeconds,
    helperCpuSeconds,
    apiServerCpuSeconds: spec.apiServerPid === undefined ? undefined : apiServerCpuSeconds,
    foreignCpuPercent: Math.max(
      0,
      ((machineSeconds - serverCpuSeconds - apiServerCpuSeconds - helperCpuSeconds - loadgenCpuSeconds) /
        wallSeconds) *
        100,
    ),
    rssBytes: rss,
    bodiesUsed: Math.min(next, bodies.length),
  };
};
