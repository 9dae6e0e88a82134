/**
 * The building blocks of scenarios.mjs: a gateway (or the baseline) with its tokens, and the loads
 * the scenarios share — a hot pool of repeated tokens, and fresh tokens for every run.
 */
import { join } from 'node:path';
import { apiCallCounter } from './api-calls.mjs';
import { loopDelayMeter } from './loop-delay.mjs';
import { createClusterClient, loginBody, loginEach, postJson, writeSecret } from './cluster.mjs';
import { writeBenchPolicies } from './policies.mjs';
import { startBaseline, startDevGateway } from './procs.mjs';
import { median } from './report.mjs';

/** Login paths of the two dev mounts (src/cli/dev.ts). */
export const JWKS_LOGIN = '/v1/auth/kubernetes-jwks/login';
export const TOKENREVIEW_LOGIN = '/v1/auth/kubernetes/login';

/** The share of the maximum rate at which the half-rate follow-ups are paced. */
export const HALF_RATE = 0.5;

/**
 * @typedef {object} BenchOptions
 * @property {number} connections  concurrent keep-alive connections of autocannon
 * @property {number} runs  measured runs per scenario (the median is reported)
 * @property {number} pacedRuns  runs of each paced follow-up row (the median is reported)
 * @property {number} durationSeconds  length of a measured run in duration mode (and of a paced
 *   half-rate run)
 * @property {number} warmupSeconds  length of the unmeasured warm-up run in duration mode
 * @property {number} distinctTokens  logins per measured run of jwks with distinct tokens (amount mode)
 * @property {number} distinctWarmupTokens  logins of its warm-up run
 * @property {number} coldTokens  logins per measured run of tokenreview with a cold cache
 * @property {number} coldWarmupTokens  logins of its warm-up run
 * @property {number} mixedTokens  logins per measured run of the mixed-validity scenario
 * @property {number} mixedWarmupTokens  logins of its warm-up run
 * @property {number} badShare  share of refused logins in the mixed-validity scenario, in [0, 1]
 * @property {number} fleetPods  pods of the fleet restart, each logging in once with its own token
 * @property {number} fleetWindowSeconds  the fleet's logins arrive evenly over this many seconds
 * @property {number} fleetConnections  connections of the fleet restart (pods in flight at most)
 * @property {number} renewClients  client tokens the renew storm cycles through
 * @property {number} verifyPoolTokens  tokens the verify baseline cycles through
 * @property {number} hotTokens  tokens a repeated-token (cache-hit) scenario cycles through
 * @property {number} pods  pods the tokens are bound to (round-robin)
 * @property {string[]} authgateNodeArgs  extra node flags for authgate children (e.g. --cpu-prof)
 * @property {string | undefined} serverLog  file that authgate's output is appended to
 * @property {string} stateDir  a private temporary directory
 * @property {string} appDir  the build authgate runs from (procs.mjs `snapshotBuild`)
 * @property {(message: string) => void} log  progress, to stderr
 */

/**
 * The load of one run: `bodies` are sent in order; either exactly `amount` requests (each body at
 * most once) or for `durationSeconds`, cycling. The rest is passed to load.mjs `measure` as is:
 * `statuses` (what each body must be answered with), `ratePerSecond` (pacing), `connections`
 * (instead of the bench's), `requests` (a flow instead of `POST path`).
 *
 * @typedef {({ bodies: string[], amount: number } | { bodies: string[], durationSeconds: number })
 *   & Partial<Pick<import('./load.mjs').LoadSpec, 'statuses' | 'ratePerSecond' | 'connections' | 'requests'>>} LoadPlan
 */

/**
 * A measurement made after a scenario's runs, in the same process, reported as a row of its own.
 *
 * @typedef {object} FollowUpSpec
 * @property {Record<string, string>} facts  as {@link Fixture}'s
 * @property {() => Promise<LoadPlan>} plan  the load of its next run (each run gets fresh tokens if
 *   it needs them)
 */

/**
 * @typedef {object} Fixture
 * @property {'authgate' | 'baseline'} server  which program serves the scenario
 * @property {number} serverPid  the process whose CPU and RSS are reported
 * @property {number} [apiServerPid]  the simulated API server's process: its CPU is reported as
 *   what the logins cost the API server, not as other work on the machine
 * @property {number[]} [helperPids]  other processes of the system under test (a Redis): their CPU
 *   is reported beside the server's and not counted as other work on the machine
 * @property {string} url
 * @property {string} path
 * @property {(phase: 'warmup' | 'run') => Promise<LoadPlan | undefined> | LoadPlan | undefined} plan
 *   the load of the next run (it may mint the run's tokens: the runner calls it before it waits
 *   for the machine to settle); undefined when no further run is possible
 * @property {() => Promise<void>} [beforeRun]  runs before every run (and the warm-up), unmeasured
 * @property {Record<string, string>} facts  what the report should say about the tokens used
 * @property {import('./api-calls.mjs').ApiCounter} [apiCounter]  the API server's call counters,
 *   read around every run
 * @property {(id: string, runs: import('./load.mjs').RunResult[]) => FollowUpSpec | undefined} [followUp]
 *   the follow-up `id` (one of the scenario's `followUps`), given the scenario's measured runs
 * @property {() => string | undefined} exitReport  how the server died, if it has (procs.mjs `Child`)
 * @property {() => string} [outputTail]  what the server printed last (procs.mjs `Child`)
 * @property {() => Promise<void>} close  stops everything setup started
 */

/**
 * A duration-mode load over `bodies`, cycled.
 *
 * @param {BenchOptions} opts
 * @param {string[]} bodies
 * @param {'warmup' | 'run'} phase
 * @returns {LoadPlan}
 */
export const durationPlan = (opts, bodies, phase) => ({
  bodies,
  durationSeconds: phase === 'warmup' ? opts.warmupSeconds : opts.durationSeconds,
});

/**
 * Starts `authgate dev` (with `devArgs`), creates `opts.pods` pods and mints `count` distinct
 * tokens; finds its API call counters. On failure the process is stopped before the error
 * propagates.
 *
 * @param {BenchOptions} opts
 * @param {number} count
 * @param {string[]} [devArgs]
 */
export const gatewayWithTokens = async (opts, count, devArgs = []) => {
  const dev = await startDevGateway({
    appDir: opts.appDir,
    stateDir: opts.stateDir,
    nodeArgs: opts.authgateNodeArgs,
    devArgs,
    logFile: opts.serverLog,
  });
  try {
    const cluster = createClusterClient(dev);
    const pods = await cluster.createPods('bench', opts.pods);
    const started = Date.now();
    const tokens = await cluster.mintTokens({ count, pods });
    if (count > 0) {
      opts.log(`  minted ${count} pod-bound tokens over ${pods.length} pods in ${Date.now() - started} ms`);
    }
    const apiCounter = await apiCallCounter(dev);
    opts.log(
      apiCounter === undefined
        ? '  API server calls: no counters (no simulator stats endpoint, no /metrics)'
        : `  API server calls: from the ${apiCounter.source}`,
    );
    const loopDelay = await loopDelayMeter(dev.gatewayUrl);
    return { dev, cluster, pods, tokens, apiCounter, loopDelay };
  } catch (err) {
    await dev.stop();
    throw err;
  }
};

/**
 * What every fixture of an `authgate dev` process has.
 *
 * @param {Awaited<ReturnType<typeof gatewayWithTokens>>} gateway
 * @param {string} path
 */
export const gatewayFixture = ({ dev, apiCounter, loopDelay }, path) => ({
  server: /** @type {const} */ ('authgate'),
  serverPid: dev.pid,
  apiServerPid: dev.apiServerPid,
  url: dev.gatewayUrl,
  path,
  ...(apiCounter === undefined ? {} : { apiCounter }),
  ...(loopDelay === undefined ? {} : { loopDelay }),
  exitReport: dev.exitReport,
  outputTail: dev.outputTail,
  close: dev.stop,
});

/**
 * Tokens minted by a throwaway dev cluster, then the bare Fastify baseline that trusts its keys.
 *
 * @param {BenchOptions} opts
 * @param {number} count
 */
export const baselineWithTokens = async (opts, count) => {
  const { dev, cluster, tokens } = await gatewayWithTokens(opts, count);
  let jwks;
  try {
    jwks = await cluster.jwks();
  } finally {
    // Only its tokens and keys are needed: it must not share the cores with the measurement.
    await dev.stop();
  }
  const baseline = await startBaseline({ jwks });
  return { baseline, tokens };
};

/**
 * `count` tokens never minted before (plus the `margin` load.mjs asks for in amount mode), bound
 * round-robin to `pods`: minted right before the run that sends them, so a scenario mints only
 * what its runs (and retried runs) use.
 *
 * @param {BenchOptions} opts
 * @param {ReturnType<typeof createClusterClient>} cluster
 * @param {string[]} pods
 * @param {number} count
 * @param {{ audience?: string, margin?: number }} [more]
 */
export const freshTokens = async (opts, cluster, pods, count, more = {}) => {
  const total = count + (more.margin ?? opts.connections);
  const started = Date.now();
  const tokens = await cluster.mintTokens({
    count: total,
    pods,
    ...(more.audience ? { audience: more.audience } : {}),
  });
  opts.log(
    `  minted ${total} fresh tokens${more.audience ? ` for audience ${more.audience}` : ''} in ${Date.now() - started} ms`,
  );
  return tokens;
};

/**
 * The share of its maximum at which the empty route is measured again: about where a cached
 * login runs against it (a quarter to a third of its rate on the bench machine).
 */
export const QUARTER_RATE = 0.25;

/**
 * The rate of a paced follow-up: `fraction` ({@link HALF_RATE} by default) of the median of the
 * measured runs.
 */
const pacedOf = (runs, fraction = HALF_RATE) => {
  const max = median(runs.map((r) => r.rps));
  return { max, fraction, rate: Math.max(1, Math.round(max * fraction)) };
};

/** The facts line of a paced follow-up. */
const pacedFacts = ({ max, fraction, rate }, what) => ({
  tokens: `paced evenly at ${rate} req/s, ${fraction * 100} % of the median maximum above (${Math.round(max)} req/s), latency counted from each request's slot; ${what}`,
});

/**
 * A fixture's `followUp` that runs `bodies` again for `opts.durationSeconds`, paced at `fraction`
 * of the measured maximum; `what` names the bodies in its facts.
 *
 * @param {BenchOptions} opts
 * @param {string[]} bodies
 * @param {number} fraction
 * @param {string} what
 * @returns {NonNullable<Fixture['followUp']>}
 */
export const pacedRerun = (opts, bodies, fraction, what) => (_id, runs) => {
  const paced = pacedOf(runs, fraction);
  return {
    facts: pacedFacts(paced, `${opts.durationSeconds} s over ${what}`),
    plan: async () => ({ bodies, durationSeconds: opts.durationSeconds, ratePerSecond: paced.rate }),
  };
};

/**
 * The role a login scenario logs in with: the dev role `nginx` (and no check of the token type)
 * unless told; with `tokenType`, the scenario checks that its logins answer that type before it
 * measures anything (cluster.mjs `BATCH_LOGIN` for batch tokens).
 *
 * @typedef {object} RoleChoice
 * @property {string} [role]
 * @property {string} [tokenType]
 */

/** The facts line of a role other than the default. */
const roleFacts = ({ role, tokenType }) =>
  role === undefined
    ? {}
    : { role: `${role}${tokenType === undefined ? '' : `, ${tokenType} tokens (checked)`}` };

/**
 * A scenario that logs in with a small pool of tokens over and over: every login after the first
 * pass is a verified-result cache hit. The pool is logged in once right before every run, so each
 * run starts hot. Both caches keep a result for at most 60 s from when it was stored (a hit does
 * not extend it), so a scenario stretched past a minute by waits and retries may see one
 * verification per pool token during a run: 100 among tens of thousands of logins. Its follow-up
 * (any id) is the same load paced at half the measured maximum.
 *
 * @param {BenchOptions} opts
 * @param {string} path
 * @param {string[]} [devArgs]  for `authgate dev`
 * @param {{ facts?: Record<string, string>, close?: () => Promise<void>, helperPids?: number[] } & RoleChoice} [extra]
 *   more facts for the report, what to stop after the gateway, and its helper processes (e.g. its
 *   Redis); the role, whose token type is checked on every login before each run
 * @returns {Promise<Fixture>}
 */
export const hotLogin = async (opts, path, devArgs = [], extra = {}) => {
  const { facts = {}, close = async () => {}, helperPids = [], role, tokenType } = extra;
  const gateway = await gatewayWithTokens(opts, opts.hotTokens, devArgs);
  const { dev, tokens } = gateway;
  const bodies = tokens.map((jwt) => loginBody(jwt, role));
  const pool = `${tokens.length} tokens, cycled; each logged in once before every run (cache warm)`;
  return {
    ...gatewayFixture(gateway, path),
    helperPids,
    plan: (phase) => durationPlan(opts, bodies, phase),
    beforeRun: async () => {
      await loginEach(dev.gatewayUrl, path, bodies, { tokenType });
    },
    facts: { tokens: pool, ...roleFacts({ role, tokenType }), ...facts },
    followUp: pacedRerun(opts, bodies, HALF_RATE, 'the same pool'),
    close: async () => {
      await dev.stop();
      await close();
    },
  };
};

/**
 * A scenario where every login carries a token the gateway has never seen: each run (and the
 * warm-up) gets its own fresh tokens, minted right before it, so no token is sent twice in the
 * whole scenario. With `forge`, every token is sent as `forge` makes it instead (bad-tokens.mjs
 * `tamper`) and must be refused (403, counted as an expected refusal); before anything is
 * measured, one forged token is checked to be refused and the real one it was made from admitted,
 * so the refusals measured are the forgery's. With a `tokenType`, one login with a token of its
 * own is checked to answer that type before anything is measured. Its follow-up (any id) is the
 * same load paced at half the measured maximum, for half of `opts.durationSeconds`, with fresh
 * tokens again.
 *
 * @param {BenchOptions} opts
 * @param {string} path
 * @param {{ perRun: number, warmup: number, what: string, devArgs?: string[], forge?: (jwt: string) => string } & RoleChoice} sizes
 *   `what`: the facts line's end; `devArgs`: for `authgate dev`
 * @returns {Promise<Fixture>}
 */
export const distinctLogin = async (
  opts,
  path,
  { perRun, warmup, what, devArgs = [], forge, role, tokenType },
) => {
  const gateway = await gatewayWithTokens(opts, 0, devArgs);
  const { dev, cluster, pods } = gateway;
  if (forge !== undefined || tokenType !== undefined) {
    try {
      const [real] = await cluster.mintTokens({ count: 1, pods });
      if (forge !== undefined) await postJson(`${dev.gatewayUrl}${path}`, loginBody(forge(real), role), 403);
      await loginEach(dev.gatewayUrl, path, [loginBody(real, role)], { tokenType });
    } catch (err) {
      await dev.stop();
      throw err;
    }
  }
  const load = async (amount, extra = {}) => {
    const tokens = await freshTokens(opts, cluster, pods, amount);
    return {
      bodies: (forge === undefined ? tokens : tokens.map(forge)).map((jwt) => loginBody(jwt, role)),
      ...(forge === undefined ? {} : { statuses: tokens.map(() => 403) }),
      amount,
      ...extra,
    };
  };
  return {
    ...gatewayFixture(gateway, path),
    plan: (phase) => load(phase === 'warmup' ? warmup : perRun),
    facts: {
      tokens: `${perRun} logins per run, each with a token never seen before${forge === undefined ? '' : ' (forged)'}, minted right before the run (a ${warmup}-login warm-up likewise)${what}`,
      ...roleFacts({ role, tokenType }),
    },
    followUp: (_id, runs) => {
      const half = pacedOf(runs);
      // Half as long as a duration run: its tokens are minted too, and a p99 needs thousands, not more.
      const seconds = opts.durationSeconds / 2;
      const amount = Math.max(opts.connections, Math.round(half.rate * seconds));
      return {
        facts: pacedFacts(half, `${amount} logins (${seconds} s), each with a token never seen before`),
        plan: () => load(amount, { ratePerSecond: half.rate }),
      };
    },
  };
};

/** The secret the KV scenarios read: the dev policy `nginx` lets test/* workloads read `secret/data/test/*`. */
export const KV_PATH = '/v1/secret/data/test/app';
/** Policies loaded beside the dev ones in the KV scenarios. */
export const KV_BENCH_POLICIES = 1000;

/**
 * `authgate dev` with {@link KV_BENCH_POLICIES} more policies loaded and the secret at
 * {@link KV_PATH} written, and a pool of pod tokens; the client tokens of their first logins.
 *
 * @param {BenchOptions} opts
 */
export const kvGateway = async (opts) => {
  const dir = writeBenchPolicies(join(opts.stateDir, `policies-${Date.now()}`), KV_BENCH_POLICIES);
  const gateway = await gatewayWithTokens(opts, opts.hotTokens, ['--policy-dir', dir]);
  const { dev, tokens } = gateway;
  try {
    await writeSecret(dev.gatewayUrl, dev.adminToken, KV_PATH.slice('/v1/'.length), {
      username: 'app',
      password: 'bench-not-a-real-secret',
      port: 5432,
    });
    const bodies = tokens.map((jwt) => loginBody(jwt));
    const clientTokens = await loginEach(dev.gatewayUrl, JWKS_LOGIN, bodies);
    const res = await globalThis.fetch(`${dev.gatewayUrl}${KV_PATH}`, {
      headers: { 'x-vault-token': clientTokens[0] },
    });
    if (res.status !== 200) throw new Error(`GET ${KV_PATH} with a workload token: HTTP ${res.status}`);
    return { gateway, bodies, clientTokens };
  } catch (err) {
    await dev.stop();
    throw err;
  }
};
