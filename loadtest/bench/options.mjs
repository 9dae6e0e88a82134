/**
 * The bench's options: flags, then `BENCH_*` environment variables, then defaults (or the
 * `--quick` set). Validated once, up front; a bad value throws with the option's name.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { SCENARIOS } from './scenarios.mjs';

/** `--help`. */
export const USAGE = `Usage: npm run bench [-- options]   (or: node loadtest/bench/run.mjs [options] after npm run build)

  --connections N             concurrent connections (env BENCH_CONNECTIONS; default 50)
  --runs N                    measured runs per scenario, median reported (BENCH_RUNS; default 3)
  --duration-seconds S        length of a measured run (BENCH_DURATION_SECONDS; default 6)
  --paced-runs N              runs of each paced row (half rate, quarter rate, refusals only), median
                              reported (BENCH_PACED_RUNS; default 3)
  --warmup-seconds S          unmeasured warm-up run before the first (BENCH_WARMUP_SECONDS; default 2)
  --distinct-tokens N         logins per run of jwks with distinct tokens (BENCH_DISTINCT_TOKENS; default 30000)
  --cold-tokens N             logins per run of tokenreview with a cold cache (BENCH_COLD_TOKENS; default 6000)
  --mixed-tokens N            logins per run of mixed validity (BENCH_MIXED_TOKENS; default 8000)
  --bad-share F               share of bad tokens in mixed validity, 0 to 1 (BENCH_BAD_SHARE; default 0.5)
  --fleet-pods N              pods of the fleet restart, one login each (BENCH_FLEET_PODS; default 10000)
  --fleet-window-seconds S    the fleet's logins arrive evenly over S seconds (BENCH_FLEET_WINDOW_SECONDS; default 10)
  --fleet-connections N       connections of the fleet restart (BENCH_FLEET_CONNECTIONS; default 200)
  --renew-clients N           client tokens the renew storm cycles through (BENCH_RENEW_CLIENTS; default 200)
  --hot-tokens N              token pool of the cache-hit scenarios (BENCH_HOT_TOKENS; default 100)
  --max-foreign-cpu-percent P a run during which the rest of the machine (other processes, steal) used
                              more than P % of a core is repeated (BENCH_MAX_FOREIGN_CPU_PERCENT; default 25)
  --max-retries N             disturbed runs repeated per scenario (BENCH_MAX_RETRIES; default 2)
  --max-wait-seconds S        how long, in all, runs may wait for the rest of the machine to quiet
                              down (BENCH_MAX_WAIT_SECONDS; default 60; 0: never wait)
  --scenarios ID,ID           run only these (${SCENARIOS.map((s) => s.id).join(', ')})
  --quick                     smoke run: 1 short run per scenario, small pools; docs not written
  --docs / --no-docs          write docs/benchmarks.md (default: yes, unless --quick or --scenarios)
  --json FILE                 also write every run's raw numbers to FILE
  --cpu-prof-dir DIR          run authgate with node --cpu-prof, profiles into DIR (written at exit)
  --node-args="FLAGS"         more node flags for authgate, space-separated (BENCH_NODE_ARGS), e.g.
                              --node-args=--trace-gc-nvp (not allowed in NODE_OPTIONS)
  --server-log FILE           append everything authgate prints to FILE (BENCH_SERVER_LOG): its
                              warnings, and what --node-args=--trace-gc writes
  -h, --help
`;

/** The defaults: about 7 minutes on 2 quiet cores, token minting included. */
const DEFAULTS = {
  connections: 50,
  runs: 3,
  pacedRuns: 3,
  durationSeconds: 6,
  warmupSeconds: 2,
  distinctTokens: 30_000,
  distinctWarmupTokens: 5000,
  coldTokens: 6000,
  coldWarmupTokens: 2000,
  mixedTokens: 8000,
  mixedWarmupTokens: 2000,
  badShare: 0.5,
  fleetPods: 10_000,
  fleetWindowSeconds: 10,
  fleetConnections: 200,
  renewClients: 200,
  verifyPoolTokens: 5000,
  hotTokens: 100,
  pods: 20,
};
/** `--quick`: a smoke run of a few seconds per scenario; its numbers are not worth publishing. */
const QUICK = {
  ...DEFAULTS,
  runs: 1,
  pacedRuns: 1,
  durationSeconds: 2,
  warmupSeconds: 1,
  distinctTokens: 2000,
  distinctWarmupTokens: 500,
  coldTokens: 1000,
  coldWarmupTokens: 200,
  mixedTokens: 2000,
  mixedWarmupTokens: 400,
  fleetPods: 1000,
  fleetWindowSeconds: 1,
  fleetConnections: 100,
  renewClients: 20,
  verifyPoolTokens: 1000,
  hotTokens: 20,
};

/** Reads a positive integer option: flag, then env, then default; throws with the option name. */
const positiveInt = (name, flag, envName, fallback) => {
  const raw = flag ?? process.env[envName];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got "${raw}"`);
  return n;
};

/** A fraction in [0, 1]: flag, then env, then default; throws with the option name. */
const fraction = (name, flag, envName, fallback) => {
  const raw = flag ?? process.env[envName];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!(n >= 0 && n <= 1)) throw new Error(`--${name} must be a number from 0 to 1, got "${raw}"`);
  return n;
};

/** As {@link positiveInt}, 0 allowed. */
const nonNegativeInt = (name, flag, envName, fallback) =>
  flag === '0' || (flag === undefined && process.env[envName] === '0')
    ? 0
    : positiveInt(name, flag, envName, fallback);

/**
 * Parses the command line (without node and the script).
 *
 * @param {string[]} argv
 */
export const parseOptions = (argv) => {
  const { values } = parseArgs({
    args: argv,
    options: {
      connections: { type: 'string' },
      runs: { type: 'string' },
      'paced-runs': { type: 'string' },
      'duration-seconds': { type: 'string' },
      'warmup-seconds': { type: 'string' },
      'distinct-tokens': { type: 'string' },
      'cold-tokens': { type: 'string' },
      'mixed-tokens': { type: 'string' },
      'bad-share': { type: 'string' },
      'fleet-pods': { type: 'string' },
      'fleet-window-seconds': { type: 'string' },
      'fleet-connections': { type: 'string' },
      'renew-clients': { type: 'string' },
      'hot-tokens': { type: 'string' },
      'max-foreign-cpu-percent': { type: 'string' },
      'max-retries': { type: 'string' },
      'max-wait-seconds': { type: 'string' },
      scenarios: { type: 'string' },
      quick: { type: 'boolean', default: false },
      docs: { type: 'boolean' },
      'no-docs': { type: 'boolean' },
      json: { type: 'string' },
      'cpu-prof-dir': { type: 'string' },
      'node-args': { type: 'string' },
      'server-log': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const base = values.quick ? QUICK : DEFAULTS;
  const only = values.scenarios?.split(',').map((s) => s.trim());
  const unknown = only?.filter((id) => !SCENARIOS.some((s) => s.id === id)) ?? [];
  if (unknown.length > 0) throw new Error(`unknown scenario(s): ${unknown.join(', ')}`);
  const bench = {
    connections: positiveInt('connections', values.connections, 'BENCH_CONNECTIONS', base.connections),
    runs: positiveInt('runs', values.runs, 'BENCH_RUNS', base.runs),
    pacedRuns: positiveInt('paced-runs', values['paced-runs'], 'BENCH_PACED_RUNS', base.pacedRuns),
    durationSeconds: positiveInt(
      'duration-seconds',
      values['duration-seconds'],
      'BENCH_DURATION_SECONDS',
      base.durationSeconds,
    ),
    warmupSeconds: positiveInt(
      'warmup-seconds',
      values['warmup-seconds'],
      'BENCH_WARMUP_SECONDS',
      base.warmupSeconds,
    ),
    distinctTokens: positiveInt(
      'distinct-tokens',
      values['distinct-tokens'],
      'BENCH_DISTINCT_TOKENS',
      base.distinctTokens,
    ),
    distinctWarmupTokens: base.distinctWarmupTokens,
    coldTokens: positiveInt('cold-tokens', values['cold-tokens'], 'BENCH_COLD_TOKENS', base.coldTokens),
    coldWarmupTokens: base.coldWarmupTokens,
    mixedTokens: positiveInt('mixed-tokens', values['mixed-tokens'], 'BENCH_MIXED_TOKENS', base.mixedTokens),
    mixedWarmupTokens: base.mixedWarmupTokens,
    badShare: fraction('bad-share', values['bad-share'], 'BENCH_BAD_SHARE', base.badShare),
    fleetPods: positiveInt('fleet-pods', values['fleet-pods'], 'BENCH_FLEET_PODS', base.fleetPods),
    fleetWindowSeconds: positiveInt(
      'fleet-window-seconds',
      values['fleet-window-seconds'],
      'BENCH_FLEET_WINDOW_SECONDS',
      base.fleetWindowSeconds,
    ),
    fleetConnections: positiveInt(
      'fleet-connections',
      values['fleet-connections'],
      'BENCH_FLEET_CONNECTIONS',
      base.fleetConnections,
    ),
    renewClients: positiveInt(
      'renew-clients',
      values['renew-clients'],
      'BENCH_RENEW_CLIENTS',
      base.renewClients,
    ),
    verifyPoolTokens: base.verifyPoolTokens,
    hotTokens: positiveInt('hot-tokens', values['hot-tokens'], 'BENCH_HOT_TOKENS', base.hotTokens),
    pods: base.pods,
    authgateNodeArgs: [
      ...(values['cpu-prof-dir'] === undefined
        ? []
        : ['--cpu-prof', `--cpu-prof-dir=${resolve(values['cpu-prof-dir'])}`]),
      ...(values['node-args'] ?? process.env['BENCH_NODE_ARGS'] ?? '').split(' ').filter((a) => a !== ''),
    ],
    serverLog: ((file) => (file === undefined || file === '' ? undefined : resolve(file)))(
      values['server-log'] ?? process.env['BENCH_SERVER_LOG'],
    ),
  };
  const perRun = [
    bench.distinctTokens,
    bench.distinctWarmupTokens,
    bench.coldTokens,
    bench.coldWarmupTokens,
    bench.mixedTokens,
    bench.mixedWarmupTokens,
  ];
  if (perRun.some((n) => bench.connections > n)) {
    throw new Error('--connections may not exceed the logins of a run (autocannon needs one per connection)');
  }
  if (bench.fleetConnections > bench.fleetPods) {
    throw new Error('--fleet-connections may not exceed --fleet-pods (autocannon needs one per connection)');
  }
  const docs = values['no-docs'] ? false : (values.docs ?? (!values.quick && only === undefined));
  const gate = {
    maxForeignCpuPercent: positiveInt(
      'max-foreign-cpu-percent',
      values['max-foreign-cpu-percent'],
      'BENCH_MAX_FOREIGN_CPU_PERCENT',
      25,
    ),
    maxRetries: nonNegativeInt('max-retries', values['max-retries'], 'BENCH_MAX_RETRIES', 2),
    maxWaitSeconds: nonNegativeInt(
      'max-wait-seconds',
      values['max-wait-seconds'],
      'BENCH_MAX_WAIT_SECONDS',
      60,
    ),
  };
  return {
    help: values.help,
    bench,
    gate,
    scenarios: only === undefined ? SCENARIOS : SCENARIOS.filter((s) => only.includes(s.id)),
    docs,
    json: values.json,
  };
};
