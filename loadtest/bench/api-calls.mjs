/**
 * How many calls the gateway made to the (simulated) Kubernetes API server during a run, read
 * before and after it. Two sources, the better one first:
 *
 * 1. the simulator's own counters, `GET <cluster>/debug/simulator/stats` with the cluster admin
 *    bearer (`{ tokenReviews, requests, byPath }`, the in-process `cluster.stats()`): every request
 *    the API server received — TokenReviews, JWKS and discovery fetches, anything else;
 * 2. else the gateway's own `/metrics`: `authgate_tokenreview_calls_total` and
 *    `authgate_jwks_fetches_total`, the calls authgate counts itself (a retry after a 401 counts
 *    twice, as it reaches the API server twice).
 *
 * Neither (metrics off, no stats endpoint): no figure, and the bench runs on.
 */

/** The simulator's counters endpoint (admin only). */
export const SIMULATOR_STATS_PATH = '/debug/simulator/stats';

/** The gateway's counters of its API server calls, in `/metrics`. */
const TOKENREVIEW_COUNTER = 'authgate_tokenreview_calls_total';
const JWKS_COUNTER = 'authgate_jwks_fetches_total';

const http = globalThis.fetch;

/**
 * The sum of every sample of the counter `name` (any labels) in a Prometheus text exposition;
 * undefined when it has no sample.
 *
 * @param {string} text
 * @param {string} name  the full sample name, e.g. `authgate_tokenreview_calls_total`
 * @returns {number | undefined}
 */
export const sumCounter = (text, name) => {
  let sum;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    // `name 3` or `name{labels} 3`, not `name_suffix 3`.
    if (rest[0] !== ' ' && rest[0] !== '{') continue;
    const value = Number(
      rest
        .slice(rest.lastIndexOf('}') + 1)
        .trim()
        .split(/\s+/)[0],
    );
    if (Number.isFinite(value)) sum = (sum ?? 0) + value;
  }
  return sum;
};

/**
 * @typedef {{ calls: number, tokenReviews: number }} ApiCounts  totals since the process started
 * @typedef {{ source: 'simulator' | 'gateway metrics', read: () => Promise<ApiCounts> }} ApiCounter
 */

/**
 * A reader of the API server call counters of one `authgate dev` process, from the best source it
 * offers; undefined when it offers none. Probes once; `read` rejects when the source stops
 * answering (the run is then not comparable).
 *
 * @param {{ clusterUrl: string, clusterAdminToken: string, gatewayUrl: string }} dev
 * @returns {Promise<ApiCounter | undefined>}
 */
export const apiCallCounter = async (dev) => {
  const statsUrl = `${dev.clusterUrl}${SIMULATOR_STATS_PATH}`;
  const headers = { authorization: `Bearer ${dev.clusterAdminToken}` };
  const readStats = async () => {
    const res = await http(statsUrl, { headers });
    if (res.status !== 200) throw new Error(`GET ${SIMULATOR_STATS_PATH}: HTTP ${res.status}`);
    const stats = await res.json();
    if (typeof stats?.requests !== 'number' || typeof stats?.tokenReviews !== 'number') {
      throw new Error(`GET ${SIMULATOR_STATS_PATH}: not the simulator's stats`);
    }
    // Its own reads are requests too: they are not the gateway's.
    const own =
      typeof stats.byPath?.[SIMULATOR_STATS_PATH] === 'number' ? stats.byPath[SIMULATOR_STATS_PATH] : 0;
    return { calls: stats.requests - own, tokenReviews: stats.tokenReviews };
  };
  const readMetrics = async () => {
    const res = await http(`${dev.gatewayUrl}/metrics`);
    if (res.status !== 200) throw new Error(`GET /metrics: HTTP ${res.status}`);
    const text = await res.text();
    const tokenReviews = sumCounter(text, TOKENREVIEW_COUNTER);
    if (tokenReviews === undefined) throw new Error(`GET /metrics: no ${TOKENREVIEW_COUNTER}`);
    return { calls: tokenReviews + (sumCounter(text, JWKS_COUNTER) ?? 0), tokenReviews };
  };
  for (const [source, read] of /** @type {const} */ ([
    ['simulator', readStats],
    ['gateway metrics', readMetrics],
  ])) {
    try {
      await read();
      return { source, read };
    } catch {
      // Not offered by this build or this configuration: try the next source.
    }
  }
  return undefined;
};
