/**
 * The report rows measured after a scenario's runs, in the same process: a paced rerun of its
 * load, at a share of the maximum rate it just measured (scenarios.mjs names them per scenario).
 */

/**
 * A measurement made after a scenario's runs, in the same process (fixtures.mjs `Fixture`
 * `followUp`), with a row of its own in the report.
 *
 * @typedef {object} FollowUp
 * @property {string} id
 * @property {string} title
 * @property {string} description
 * @property {string[]} compareTo
 */

/** The half-rate follow-up of a scenario whose maximum rate was just measured. */
export const halfRate = (id, title) => ({
  id: `${id}-half-rate`,
  title: `${title}, 50 % rate`,
  description: `As "${title}", paced evenly at half its median maximum rate: the latency a client sees when the gateway is not saturated.`,
  compareTo: [],
});

/**
 * The empty route again at a quarter of its rate. With the load generator on the same cores, a
 * request costs the server more the fewer there are per second: fewer are handled per wake-up, and
 * each answer more often has to wake the idle load generator. A cached login runs at about this
 * pace, so this row is the HTTP stack's cost where the login is measured.
 */
export const EMPTY_AT_QUARTER = {
  id: 'baseline-empty-quarter-rate',
  title: 'baseline: empty route, 25 % rate',
  description:
    'As "baseline: empty route", paced evenly at a quarter of its median maximum rate, about the pace of a cached login: what the HTTP stack alone costs per request at that pace, and the machine’s own p99 there.',
  compareTo: [],
};
