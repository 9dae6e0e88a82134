/**
 * What `npm run bench` measures: the scenario list and the issue's targets. A scenario's `setup`
 * starts the process it measures (fresh for every scenario, so no heap, cache or stored client
 * tokens carry over from another one), prepares its tokens, and returns a {@link Fixture}; the
 * runner (run.mjs) does the warm-up, the measured runs and the teardown. A new scenario (another
 * mount type, a Redis store) is one more entry here.
 */
import { join } from 'node:path';
import { createClusterClient, loginBody, loginEach, postJson, writeSecret } from './cluster.mjs';
import { writeBenchPolicies } from './policies.mjs';
import { startBaseline, startDevGateway, startRedis } from './procs.mjs';

/** Login paths of the two dev mounts (src/cli/dev.ts). */
const JWKS_LOGIN = '/v1/auth/kubernetes-jwks/login';
const TOKENREVIEW_LOGIN = '/v1/auth/kubernetes/login';

/**
 * @typedef {object} BenchOptions
 * @property {number} connections  concurrent keep-alive connections of autocannon
 * @property {number} runs  measured runs per scenario (the median is reported)
 * @property {number} durationSeconds  length of a measured run in duration mode
 * @property {number} warmupSeconds  length of the unmeasured warm-up run in duration mode
 * @property {number} distinctTokens  logins per measured run of a distinct-token scenario (amount mode)
 * @property {number} distinctWarmupTokens  logins of its warm-up run
 * @property {number} verifyPoolTokens  tokens the verify baseline cycles through
 * @property {number} hotTokens  tokens a repeated-token (cache-hit) scenario cycles through
 * @property {number} spareRuns  extra token slices a distinct-token scenario mints for retried runs
 * @property {number} pods  pods the tokens are bound to (round-robin)
 * @property {string[]} authgateNodeArgs  extra node flags for authgate children (e.g. --cpu-prof)
 * @property {string} stateDir  a private temporary directory
 * @property {string} appDir  the build authgate runs from (procs.mjs `snapshotBuild`)
 * @property {(message: string) => void} log  progress, to stderr
 */

/**
 * The load of one run: `bodies` are sent in order; either exactly `amount` requests (each body at
 * most once) or for `durationSeconds`, cycling.
 *
 * @typedef {{ bodies: string[], amount: number } | { bodies: string[], durationSeconds: number }} LoadPlan
 */

/**
 * @typedef {object} Fixture
 * @property {'authgate' | 'baseline'} server  which program serves the scenario
 * @property {number} serverPid  the process whose CPU and RSS are reported
 * @property {number[]} [helperPids]  other processes of the system under test (a Redis): their CPU
 *   is reported beside the server's and not counted as other work on the machine
 * @property {string} url
 * @property {string} path
 * @property {(phase: 'warmup' | 'run') => LoadPlan | undefined} plan  the load of the next run;
 *   undefined when no fresh tokens are left for another measured run (then no retry is possible)
 * @property {() => Promise<void>} [beforeRun]  runs before every run (and the warm-up), unmeasured
 * @property {Record<string, string>} facts  what the report should say about the tokens used
 * @property {() => string | undefined} exitReport  how the server died, if it has (procs.mjs `Child`)
 * @property {() => number} [freshLoads]  measured runs the fixture can still serve with tokens never
 *   sent before; absent when unlimited
 * @property {() => Promise<void>} close  stops everything setup started
 */

/**
 * @typedef {object} Scenario
 * @property {string} id
 * @property {string} title  short, for the table
 * @property {string} description  one sentence, for the docs
 * @property {string[]} compareTo  ids of the baselines whose req/s this scenario's is divided by
 * @property {(opts: BenchOptions) => Promise<Fixture>} setup
 */

/**
 * A duration-mode load over `bodies`, cycled.
 *
 * @param {BenchOptions} opts
 * @param {string[]} bodies
 * @param {'warmup' | 'run'} phase
 * @returns {LoadPlan}
 */
const durationPlan = (opts, bodies, phase) => ({
  bodies,
  durationSeconds: phase === 'warmup' ? opts.warmupSeconds : opts.durationSeconds,
});

/**
 * Starts `authgate dev` (with `devArgs`), creates `opts.pods` pods and mints `count` distinct
 * tokens. On failure the process is stopped before the error propagates.
 *
 * @param {BenchOptions} opts
 * @param {number} count
 * @param {string[]} [devArgs]
 */
const gatewayWithTokens = async (opts, count, devArgs = []) => {
  const dev = await startDevGateway({
    appDir: opts.appDir,
    stateDir: opts.stateDir,
    nodeArgs: opts.authgateNodeArgs,
    devArgs,
  });
  try {
    const cluster = createClusterClient(dev);
    const pods = await cluster.createPods('bench', opts.pods);
    const started = Date.now();
    const tokens = await cluster.mintTokens({ count, pods });
    opts.log(`  minted ${count} pod-bound tokens over ${pods.length} pods in ${Date.now() - started} ms`);
    return { dev, cluster, tokens };
  } catch (err) {
    await dev.stop();
    throw err;
  }
};

/**
 * Tokens minted by a throwaway dev cluster, then the bare Fastify baseline that trusts its keys.
 *
 * @param {BenchOptions} opts
 * @param {number} count
 */
const baselineWithTokens = async (opts, count) => {
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
 * A scenario that logs in with a small pool of tokens over and over: every login after the first
 * pass is a verified-result cache hit. The pool is logged in once right before every run, so each
 * run starts hot. Both caches keep a result for at most 60 s from when it was stored (a hit does
 * not extend it), so a scenario stretched past a minute by waits and retries may see one
 * verification per pool token during a run: 100 among tens of thousands of logins.
 *
 * @param {BenchOptions} opts
 * @param {string} path
 * @param {string[]} [devArgs]  for `authgate dev`
 * @param {{ facts: Record<string, string>, close: () => Promise<void>, helperPids?: number[] }} [extra]
 *   more facts for the report, what to stop after the gateway, and its helper processes (e.g. its Redis)
 * @returns {Promise<Fixture>}
 */
const hotLogin = async (opts, path, devArgs = [], extra = { facts: {}, close: async () => {} }) => {
  const { dev, tokens } = await gatewayWithTokens(opts, opts.hotTokens, devArgs);
  const bodies = tokens.map(loginBody);
  return {
    server: 'authgate',
    serverPid: dev.pid,
    helperPids: extra.helperPids ?? [],
    url: dev.gatewayUrl,
    path,
    plan: (phase) => durationPlan(opts, bodies, phase),
    beforeRun: () => loginEach(dev.gatewayUrl, path, bodies),
    facts: {
      tokens: `${tokens.length} tokens, cycled; each logged in once before every run (cache warm)`,
      ...extra.facts,
    },
    exitReport: dev.exitReport,
    close: async () => {
      await dev.stop();
      await extra.close();
    },
  };
};

/** The secret the KV scenarios read: the dev policy `nginx` lets test/* workloads read `secret/data/test/*`. */
const KV_PATH = '/v1/secret/data/test/app';
/** Policies loaded beside the dev ones in the KV scenarios. */
export const KV_BENCH_POLICIES = 1000;

/**
 * `authgate dev` with {@link KV_BENCH_POLICIES} more policies loaded and the secret at
 * {@link KV_PATH} written, and a pool of pod tokens; the client tokens of their first logins.
 *
 * @param {BenchOptions} opts
 */
const kvGateway = async (opts) => {
  const dir = writeBenchPolicies(join(opts.stateDir, `policies-${Date.now()}`), KV_BENCH_POLICIES);
  const { dev, tokens } = await gatewayWithTokens(opts, opts.hotTokens, ['--policy-dir', dir]);
  try {
    await writeSecret(dev.gatewayUrl, dev.adminToken, KV_PATH.slice('/v1/'.length), {
      username: 'app',
      password: 'bench-not-a-real-secret',
      port: 5432,
    });
    const bodies = tokens.map(loginBody);
    const clientTokens = await loginEach(dev.gatewayUrl, JWKS_LOGIN, bodies);
    const res = await globalThis.fetch(`${dev.gatewayUrl}${KV_PATH}`, {
      headers: { 'x-vault-token': clientTokens[0] },
    });
    if (res.status !== 200) throw new Error(`GET ${KV_PATH} with a workload token: HTTP ${res.status}`);
    return { dev, bodies, clientTokens };
  } catch (err) {
    await dev.stop();
    throw err;
  }
};

/** @type {Scenario[]} */
export const SCENARIOS = [
  {
    id: 'baseline-empty',
    title: 'baseline: empty route',
    description:
      'Bare Fastify `POST /empty` returning `{}`, with the same login body (`{"role","jwt"}` and a real pod token): the cost of the HTTP stack alone.',
    compareTo: [],
    setup: async (opts) => {
      const { baseline, tokens } = await baselineWithTokens(opts, opts.hotTokens);
      const bodies = tokens.map(loginBody);
      return {
        server: 'baseline',
        serverPid: baseline.pid,
        url: baseline.url,
        path: '/empty',
        plan: (phase) => durationPlan(opts, bodies, phase),
        facts: { tokens: `${tokens.length} login bodies, cycled` },
        exitReport: baseline.exitReport,
        close: baseline.stop,
      };
    },
  },
  {
    id: 'baseline-verify',
    title: 'baseline: RS256 verify',
    description:
      'Bare Fastify `POST /verify`: the body parsed and the token’s RS256 signature checked with `crypto.verify` against the cluster’s key, nothing else: the ceiling for a login that verifies every token.',
    compareTo: ['baseline-empty'],
    setup: async (opts) => {
      const { baseline, tokens } = await baselineWithTokens(opts, opts.verifyPoolTokens);
      const bodies = tokens.map(loginBody);
      // It must really verify: a token with a flipped signature byte is refused.
      const jwt = tokens[0];
      const flipped = `${jwt.slice(0, -2)}${jwt.at(-2) === 'A' ? 'B' : 'A'}${jwt.at(-1)}`;
      try {
        await postJson(`${baseline.url}/verify`, bodies[0], 200);
        await postJson(`${baseline.url}/verify`, loginBody(flipped), 403);
      } catch (err) {
        await baseline.stop();
        throw err;
      }
      return {
        server: 'baseline',
        serverPid: baseline.pid,
        url: baseline.url,
        path: '/verify',
        plan: (phase) => durationPlan(opts, bodies, phase),
        facts: {
          tokens: `${tokens.length} distinct tokens, cycled (the baseline caches nothing, so every request is a full verify)`,
        },
        exitReport: baseline.exitReport,
        close: baseline.stop,
      };
    },
  },
  {
    id: 'jwks-distinct',
    title: 'jwks, distinct tokens',
    description: `\`POST ${JWKS_LOGIN}\` where every request carries a token the gateway has never seen: a full local verification (signature, claims) and a client token issued per login.`,
    compareTo: ['baseline-empty', 'baseline-verify'],
    setup: async (opts) => {
      const { connections, runs, spareRuns, distinctTokens: perRun, distinctWarmupTokens: warm } = opts;
      // Every run gets its own slice (with the margin measure() asks for), so no token is sent
      // twice in the whole scenario. Spare slices serve runs retried after a disturbance.
      const sliceOf = (amount) => amount + connections;
      const total = sliceOf(warm) + (runs + spareRuns) * sliceOf(perRun);
      const { dev, tokens } = await gatewayWithTokens(opts, total);
      const bodies = tokens.map(loginBody);
      let next = sliceOf(warm);
      return {
        server: 'authgate',
        serverPid: dev.pid,
        url: dev.gatewayUrl,
        path: JWKS_LOGIN,
        freshLoads: () => Math.floor((bodies.length - next) / sliceOf(perRun)),
        plan: (phase) => {
          if (phase === 'warmup') return { bodies: bodies.slice(0, sliceOf(warm)), amount: warm };
          if (next + sliceOf(perRun) > bodies.length) return undefined;
          next += sliceOf(perRun);
          return { bodies: bodies.slice(next - sliceOf(perRun), next), amount: perRun };
        },
        facts: {
          tokens: `${perRun} logins per run, each with a token never seen before (${total} minted: ${runs} runs, ${spareRuns} spare for retries and a ${warm}-login warm-up, each slice with a margin of ${connections})`,
        },
        exitReport: dev.exitReport,
        close: dev.stop,
      };
    },
  },
  {
    id: 'jwks-repeated',
    title: 'jwks, repeated tokens',
    description: `\`POST ${JWKS_LOGIN}\` cycling through a small pool of tokens: verified-result cache hits (no signature check), still a client token issued per login.`,
    compareTo: ['baseline-empty'],
    setup: (opts) => hotLogin(opts, JWKS_LOGIN),
  },
  {
    id: 'jwks-repeated-redis',
    title: 'jwks, repeated, Redis store',
    description: `As "jwks, repeated tokens", with tokens stored in a private redis-server on this machine (\`authgate dev --redis\`): every login is one MULTI to Redis.`,
    compareTo: ['jwks-repeated'],
    setup: async (opts) => {
      const redis = await startRedis();
      try {
        return await hotLogin(opts, JWKS_LOGIN, ['--redis', redis.url], {
          facts: { store: 'redis-server 7 on 127.0.0.1, no persistence' },
          close: redis.stop,
          helperPids: [redis.pid],
        });
      } catch (err) {
        await redis.stop();
        throw err;
      }
    },
  },
  {
    id: 'jwks-repeated-audit',
    title: 'jwks, repeated, file audit',
    description: `As "jwks, repeated tokens", with a file audit device on (\`authgate dev --audit-file\`): a request and a response entry per login, secrets HMAC'd.`,
    compareTo: ['jwks-repeated'],
    setup: (opts) => {
      const path = `${opts.stateDir}/audit-${Date.now()}.log`;
      return hotLogin(opts, JWKS_LOGIN, ['--audit-file', path], {
        facts: { audit: `file device at ${path}` },
        close: async () => {},
      });
    },
  },
  {
    id: 'jwks-repeated-metrics-off',
    title: 'jwks, repeated, metrics off',
    description: `As "jwks, repeated tokens", with \`/metrics\` off (\`authgate dev --metrics off\`; traces are off in every scenario): what telemetry costs.`,
    compareTo: ['jwks-repeated'],
    setup: (opts) => hotLogin(opts, JWKS_LOGIN, ['--metrics', 'off']),
  },
  {
    id: 'tokenreview-hot',
    title: 'tokenreview, hot cache',
    description: `\`POST ${TOKENREVIEW_LOGIN}\` (TokenReview mode) cycling through a small pool of tokens whose reviews are cached (60 s): no TokenReview call while they last.`,
    compareTo: ['baseline-empty'],
    setup: (opts) => hotLogin(opts, TOKENREVIEW_LOGIN),
  },
  {
    id: 'kv-read',
    title: 'KV read, 1000 policies',
    description: `\`GET ${KV_PATH}\` with workload tokens (templated policy \`secret/data/{{identity.namespace}}/*\`), ${KV_BENCH_POLICIES} more policies loaded: token lookup, the ACL check, and the value opened (AES-256-GCM) and answered.`,
    compareTo: ['baseline-empty'],
    setup: async (opts) => {
      const { dev, clientTokens } = await kvGateway(opts);
      let next = 0;
      const requests = [
        {
          method: 'GET',
          path: KV_PATH,
          setupRequest: (request) => {
            request.headers = {
              ...request.headers,
              'x-vault-token': clientTokens[next++ % clientTokens.length],
            };
            return request;
          },
        },
      ];
      return {
        server: 'authgate',
        serverPid: dev.pid,
        url: dev.gatewayUrl,
        path: KV_PATH,
        plan: (phase) => ({ ...durationPlan(opts, [], phase), requests }),
        facts: { tokens: `${clientTokens.length} client tokens of pod-bound logins, cycled` },
        exitReport: dev.exitReport,
        close: dev.stop,
      };
    },
  },
  {
    id: 'login-kv-read',
    title: 'login + KV read',
    description: `A workload's whole path: \`POST ${JWKS_LOGIN}\` (repeated tokens: cached verification, a client token issued), then \`GET ${KV_PATH}\` with the token it got; ${KV_BENCH_POLICIES} more policies loaded. req/s counts both requests: full paths per second are half of it.`,
    compareTo: ['baseline-empty', 'kv-read'],
    setup: async (opts) => {
      const { dev, bodies } = await kvGateway(opts);
      let next = 0;
      const requests = [
        {
          method: 'POST',
          path: JWKS_LOGIN,
          headers: { 'content-type': 'application/json' },
          setupRequest: (request) => {
            request.body = bodies[next++ % bodies.length];
            return request;
          },
          onResponse: (status, body, context) => {
            if (status === 200) context.token = JSON.parse(body).auth.client_token;
          },
        },
        {
          method: 'GET',
          path: KV_PATH,
          setupRequest: (request, context) => {
            request.headers = { ...request.headers, 'x-vault-token': context.token };
            return request;
          },
        },
      ];
      return {
        server: 'authgate',
        serverPid: dev.pid,
        url: dev.gatewayUrl,
        path: JWKS_LOGIN,
        plan: (phase) => ({ ...durationPlan(opts, [], phase), requests }),
        facts: {
          tokens: `${bodies.length} pod tokens, cycled (each logged in once during setup: cache warm)`,
        },
        exitReport: dev.exitReport,
        close: dev.stop,
      };
    },
  },
];

/**
 * @typedef {object} Target
 * @property {string} id
 * @property {string} text  what is promised, for the report
 * @property {string} subject  scenario id
 * @property {string} reference  scenario id
 * @property {number} minRatio  subject req/s ≥ minRatio × reference req/s
 * @property {boolean} [informational]  reported, but not one of the issue's targets
 */

/**
 * The issue's targets (on median requests per second) and one like-for-like check beside them.
 *
 * @type {Target[]}
 */
export const TARGETS = [
  {
    id: 'jwks-vs-empty',
    text: 'jwks login (distinct tokens) ≥ 40 % of the empty baseline',
    subject: 'jwks-distinct',
    reference: 'baseline-empty',
    minRatio: 0.4,
  },
  {
    id: 'tokenreview-vs-jwks',
    text: 'hot-cache tokenreview within 15 % of jwks (distinct tokens: a cache hit costs no more than a local verify)',
    subject: 'tokenreview-hot',
    reference: 'jwks-distinct',
    minRatio: 0.85,
  },
  {
    id: 'tokenreview-vs-jwks-cached',
    text: 'like for like: hot-cache tokenreview within 15 % of jwks with repeated tokens (both cache hits)',
    subject: 'tokenreview-hot',
    reference: 'jwks-repeated',
    minRatio: 0.85,
    informational: true,
  },
  {
    id: 'redis-vs-memory',
    text: 'issue 3: a login on the Redis store ≥ 60 % of the memory store’s rate',
    subject: 'jwks-repeated-redis',
    reference: 'jwks-repeated',
    minRatio: 0.6,
  },
  {
    id: 'audit-cost',
    text: 'issue 4: the file audit device costs ≤ 15 % of the login rate',
    subject: 'jwks-repeated-audit',
    reference: 'jwks-repeated',
    minRatio: 0.85,
  },
  {
    id: 'telemetry-cost',
    text: 'issue 6: telemetry on (Prometheus) costs ≤ 10 % of the login rate against telemetry off',
    subject: 'jwks-repeated',
    reference: 'jwks-repeated-metrics-off',
    minRatio: 0.9,
  },
];
