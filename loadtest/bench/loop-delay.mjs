/**
 * The longest the gateway's event loop was held during a run: `nodejs_eventloop_delay_max` of its
 * `/metrics` (OpenTelemetry's runtime metrics, seconds, sampled every 10 ms and reset by each
 * scrape). Read once before a run (which resets it) and once after. A request waits for a held
 * loop, so a p99 far above the rest of a row is explained, or not, by this figure: a collection
 * or a synchronous step that held every request, against a queue the server could not drain.
 */

/** The gauge, in seconds, since the previous scrape. */
export const LOOP_DELAY_MAX = 'nodejs_eventloop_delay_max';
/** monitorEventLoopDelay's sampling interval, included in every figure it reports. */
export const SAMPLING_MS = 10;

const http = globalThis.fetch;

/**
 * The value of the unlabelled gauge `name` in a Prometheus text exposition; undefined without it.
 *
 * @param {string} text
 * @param {string} name
 * @returns {number | undefined}
 */
export const gaugeValue = (text, name) => {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  const value =
    line === undefined
      ? NaN
      : Number(
          line
            .slice(name.length + 1)
            .trim()
            .split(/\s+/)[0],
        );
  return Number.isFinite(value) ? value : undefined;
};

/**
 * A reader of the longest event-loop stall of the gateway at `gatewayUrl` since the previous
 * read, in ms with the sampling interval taken off; undefined when its `/metrics` has no such
 * gauge (metrics off, an older build). A read with too few samples since the last (under 5: the
 * exporter leaves the gauge out) gives 0.
 *
 * @param {string} gatewayUrl
 * @returns {Promise<{ read: () => Promise<number> } | undefined>}
 */
export const loopDelayMeter = async (gatewayUrl) => {
  const scrape = async () => {
    const res = await http(`${gatewayUrl}/metrics`);
    if (res.status !== 200) throw new Error(`GET /metrics: HTTP ${res.status}`);
    return res.text();
  };
  try {
    // The runtime metrics are there (the delay gauges themselves are left out of a scrape that
    // comes too soon after the process started or after the previous one).
    if (!/^nodejs_eventloop_/m.test(await scrape())) return undefined;
  } catch {
    return undefined;
  }
  return {
    read: async () => {
      const seconds = gaugeValue(await scrape(), LOOP_DELAY_MAX);
      return seconds === undefined ? 0 : Math.max(0, seconds * 1000 - SAMPLING_MS);
    },
  };
};
