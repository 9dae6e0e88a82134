/**
 * What `npm run bench` measures: the scenario list (the targets are in targets.mjs). A
 * scenario's `setup` starts the process it measures (fresh for every scenario, so no heap, cache
 * or stored client tokens carry over from another one), prepares its tokens, and returns a
 * {@link Fixture}; the runner (run.mjs) does the warm-up, the measured runs, the follow-ups and the
 * teardown. A new scenario (another mount type, a Redis store) is one more entry here.
 */
import { rmSync } from 'node:fs';
import { tamper } from './bad-tokens.mjs';
import { BATCH_LOGIN, loginBody, postJson } from './cluster.mjs';
import {
  JWKS_LOGIN,
  KV_BENCH_POLICIES,
  KV_PATH,
  QUARTER_RATE,
  TOKENREVIEW_LOGIN,
  baselineWithTokens,
  distinctLogin,
  durationPlan,
  gatewayFixture,
  hotLogin,
  kvGateway,
  pacedRerun,
} from './fixtures.mjs';
import { setupFleetRestart } from './fleet-restart.mjs';
import { EMPTY_AT_QUARTER, halfRate } from './follow-ups.mjs';
import { setupMixedValidity } from './mixed-validity.mjs';
import { startRedis } from './procs.mjs';
import { RENEW_PATH, setupRenewStorm } from './renew-storm.mjs';

export { KV_BENCH_POLICIES } from './fixtures.mjs';

/** @typedef {import('./fixtures.mjs').BenchOptions} BenchOptions */
/** @typedef {import('./fixtures.mjs').Fixture} Fixture */
/** @typedef {import('./fixtures.mjs').LoadPlan} LoadPlan */
/** @typedef {import('./follow-ups.mjs').FollowUp} FollowUp */

/**
 * @typedef {object} Scenario
 * @property {string} id
 * @property {string} title  short, for the table
 * @property {string} description  one sentence, for the docs
 * @property {string[]} compareTo  ids of the baselines whose req/s this scenario's is divided by
 * @property {number} [runs]  measured runs, whatever `--runs` says (a scenario too long to repeat)
 * @property {FollowUp[]} [followUps]  measured once after the runs
 * @property {(opts: BenchOptions) => Promise<Fixture>} setup
 */

/**
 * The description of a scenario that is `title`'s (`what` it measures) with batch tokens: the
 * same tokens and load, the role `nginx-batch` instead of `nginx`. `check` names the logins that
 * make sure the role really answers batch tokens, so a misconfigured role fails the scenario
 * instead of measuring service tokens under its name.
 */
const withBatchTokens = (title, what, check) =>
  `As "${title}" (${what}), logging in with role \`${BATCH_LOGIN.role}\` (the bindings of \`nginx\`, \`token_type: batch\`): each login issues a batch token (\`agb.…\`, its record sealed into the token itself with AES-256-GCM, no accessor), so nothing is stored per login — no token record, accessor or revocation index written. ${check} checks that the answer is \`token_type: batch\`.`;

/**
 * A scenario on the bare Fastify baseline: `count` login bodies cycled against `path`, after
 * `check` has shown the route does what it claims (the baseline is stopped if it does not). With
 * `pacedAt`, its follow-up is the same load paced at that share of the measured maximum.
 *
 * @param {BenchOptions} opts
 * @param {{ count: number, path: string, fact: (n: number) => string,
 *   check?: (url: string, bodies: string[], tokens: string[]) => Promise<void>, pacedAt?: number }} spec
 * @returns {Promise<Fixture>}
 */
const baselineFixture = async (opts, { count, path, fact, check, pacedAt }) => {
  const { baseline, tokens } = await baselineWithTokens(opts, count);
  const bodies = tokens.map((jwt) => loginBody(jwt));
  try {
    await check?.(baseline.url, bodies, tokens);
  } catch (err) {
    await baseline.stop();
    throw err;
  }
  return {
    server: 'baseline',
    serverPid: baseline.pid,
    url: baseline.url,
    path,
    plan: (phase) => durationPlan(opts, bodies, phase),
    facts: { tokens: fact(tokens.length) },
    ...(pacedAt === undefined ? {} : { followUp: pacedRerun(opts, bodies, pacedAt, 'the same bodies') }),
    exitReport: baseline.exitReport,
    outputTail: baseline.outputTail,
    close: baseline.stop,
  };
};

/** @type {Scenario[]} */
export const SCENARIOS = [
  {
    id: 'baseline-empty',
    title: 'baseline: empty route',
    description:
      'Bare Fastify `POST /empty` returning `{}`, with the same login body (`{"role","jwt"}` and a real pod token): the cost of the HTTP stack alone.',
    compareTo: [],
    followUps: [EMPTY_AT_QUARTER],
    setup: (opts) =>
      baselineFixture(opts, {
        count: opts.hotTokens,
        path: '/empty',
        fact: (n) => `${n} login bodies, cycled`,
        pacedAt: QUARTER_RATE,
      }),
  },
  {
    id: 'baseline-issue',
    title: 'baseline: issue a token',
    description:
      'Bare Fastify `POST /issue`: the least a login that issues a Vault client token must do — the JWT payload decoded (not verified), a random token and accessor, two HMACs, the record serialized into an in-process Map, Vault’s `auth` answer — with no verification, policy, audit, telemetry or logging: what a cached login can fairly be compared with.',
    compareTo: ['baseline-empty'],
    setup: (opts) =>
      baselineFixture(opts, {
        count: opts.hotTokens,
        path: '/issue',
        check: async (url, bodies) => {
          const answer = await postJson(`${url}/issue`, bodies[0], 200);
          if (typeof answer?.auth?.client_token !== 'string') throw new Error('POST /issue: no client token');
        },
        fact: (n) => `${n} login bodies, cycled (a new client token for each request)`,
      }),
  },
  {
    id: 'baseline-verify',
    title: 'baseline: RS256 verify',
    description:
      'Bare Fastify `POST /verify`: the body parsed and the token’s RS256 signature checked with `crypto.verify` against the cluster’s key, nothing else: the ceiling for a login that verifies every token.',
    compareTo: ['baseline-empty'],
    setup: (opts) =>
      baselineFixture(opts, {
        count: opts.verifyPoolTokens,
        path: '/verify',
        // It must really verify: a token with a flipped signature byte is refused.
        check: async (url, bodies, tokens) => {
          const jwt = tokens[0];
          const flipped = `${jwt.slice(0, -2)}${jwt.at(-2) === 'A' ? 'B' : 'A'}${jwt.at(-1)}`;
          await postJson(`${url}/verify`, bodies[0], 200);
          await postJson(`${url}/verify`, loginBody(flipped), 403);
        },
        fact: (n) =>
          `${n} distinct tokens, cycled (the baseline caches nothing, so every request is a full verify)`,
      }),
  },
  {
    id: 'jwks-distinct',
    title: 'jwks, distinct tokens',
    description: `\`POST ${JWKS_LOGIN}\` where every request carries a token the gateway has never seen: a full local verification (signature, claims) and a client token issued per login.`,
    compareTo: ['baseline-empty', 'baseline-verify'],
    followUps: [halfRate('jwks-distinct', 'jwks, distinct tokens')],
    setup: (opts) =>
      distinctLogin(opts, JWKS_LOGIN, {
        perRun: opts.distinctTokens,
        warmup: opts.distinctWarmupTokens,
        what: '',
      }),
  },
  {
    id: 'jwks-distinct-batch',
    title: 'jwks, distinct tokens, batch tokens',
    description: withBatchTokens(
      'jwks, distinct tokens',
      'a full local verification per login',
      'One login during setup',
    ),
    compareTo: ['baseline-empty', 'baseline-verify', 'jwks-distinct'],
    setup: (opts) =>
      distinctLogin(opts, JWKS_LOGIN, {
        perRun: opts.distinctTokens,
        warmup: opts.distinctWarmupTokens,
        what: '',
        ...BATCH_LOGIN,
      }),
  },
  {
    id: 'jwks-repeated',
    title: 'jwks, repeated tokens',
    description: `\`POST ${JWKS_LOGIN}\` cycling through a small pool of tokens: verified-result cache hits (no signature check), still a client token issued per login.`,
    compareTo: ['baseline-empty'],
    followUps: [halfRate('jwks-repeated', 'jwks, repeated tokens')],
    setup: (opts) => hotLogin(opts, JWKS_LOGIN),
  },
  {
    id: 'jwks-repeated-batch',
    title: 'jwks, repeated, batch tokens',
    description: withBatchTokens(
      'jwks, repeated tokens',
      'verified-result cache hits',
      'Every login before each run',
    ),
    compareTo: ['baseline-empty', 'jwks-repeated'],
    followUps: [halfRate('jwks-repeated-batch', 'jwks, repeated, batch tokens')],
    setup: (opts) => hotLogin(opts, JWKS_LOGIN, [], BATCH_LOGIN),
  },
  {
    id: 'jwks-repeated-redis',
    title: 'jwks, repeated, Redis store',
    description: `As "jwks, repeated tokens", with tokens stored in a private redis-server on this machine (\`authgate dev --redis\`): every login writes its token with one Lua script call to Redis.`,
    compareTo: ['jwks-repeated'],
    followUps: [halfRate('jwks-repeated-redis', 'jwks, repeated, Redis store')],
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
        facts: { audit: `file device at ${path}, removed after each round` },
        // Gone with its dirty pages: written back later, the hundreds of MB a round writes slowed
        // the scenarios after this one by 15-20 % ("metrics off" looked slower than metrics on).
        close: async () => rmSync(path, { force: true }),
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
    id: 'tokenreview-hot-batch',
    title: 'tokenreview, hot cache, batch tokens',
    description: withBatchTokens(
      'tokenreview, hot cache',
      'cached reviews, no TokenReview call',
      'Every login before each run',
    ),
    compareTo: ['baseline-empty'],
    setup: (opts) => hotLogin(opts, TOKENREVIEW_LOGIN, [], BATCH_LOGIN),
  },
  {
    id: 'tokenreview-cold',
    title: 'tokenreview, cold cache',
    description: `\`POST ${TOKENREVIEW_LOGIN}\` (TokenReview mode) where every request carries a token never seen before: one TokenReview to the simulated API server per login. That server runs in a process of its own (\`authgate dev --cluster-process\`), as a real one does: its side of each review (an RS256 check, its HTTP) is in \`API CPU s/1k\`, not in the gateway's CPU, though it shares the machine's cores.`,
    compareTo: ['baseline-empty', 'baseline-verify'],
    setup: (opts) =>
      distinctLogin(opts, TOKENREVIEW_LOGIN, {
        perRun: opts.coldTokens,
        warmup: opts.coldWarmupTokens,
        what: ': one TokenReview each',
      }),
  },
  {
    id: 'tokenreview-forged',
    title: 'forged tokens, tokenreview with prefilter',
    description: `\`POST ${TOKENREVIEW_LOGIN}\` (TokenReview mode, with the signature prefilter: \`authgate dev --cluster-process --tokenreview-prefilter\`) where every request carries a forged token never seen before — the claims of a real pod token, its signature tampered: each must be answered 403 (counted as expected refusals) by the local signature check, with no TokenReview, so \`API/1k\` stays ≈ 0 where "tokenreview, cold cache" makes one per login.`,
    compareTo: ['baseline-empty', 'tokenreview-cold'],
    setup: (opts) =>
      distinctLogin(opts, TOKENREVIEW_LOGIN, {
        perRun: opts.coldTokens,
        warmup: opts.coldWarmupTokens,
        what: ', its signature tampered (bad-tokens.mjs `tamper`): refused with no TokenReview',
        devArgs: ['--tokenreview-prefilter'],
        forge: tamper,
      }),
  },
  {
    id: 'renew-storm',
    title: 'renew-self storm',
    description: `\`POST ${RENEW_PATH}\` with client tokens from logins during setup, \`X-Vault-Token\` cycled and the body alternately \`{}\` and \`{"increment":"1h"}\` (Vault Agents renewing at once): each renewal looks the token up, recomputes its TTL from the role and writes the record back (in-memory store).`,
    compareTo: ['baseline-empty'],
    setup: setupRenewStorm,
  },
  {
    id: 'mixed-validity',
    title: 'mixed validity, jwks',
    description: `\`POST ${JWKS_LOGIN}\` with every token never seen before, a share of them bad — a tampered signature, a real token for another audience, another cluster's key (unknown \`kid\`), not a JWT — in equal parts: each bad one must be answered 403 (counted apart, never a failure), the good ones 200. req/s and latency are over both.`,
    compareTo: ['baseline-empty', 'jwks-distinct'],
    followUps: [
      {
        id: 'mixed-validity-denials',
        title: 'refused logins only, jwks',
        description: `As "mixed validity, jwks" with only the bad tokens: what a refusal costs the gateway.`,
        compareTo: ['jwks-distinct'],
      },
    ],
    setup: setupMixedValidity,
  },
  {
    id: 'fleet-restart',
    title: 'fleet restart, tokenreview',
    description: `A fleet restarting: every pod of the fleet logs in once on \`${TOKENREVIEW_LOGIN}\` with its own new token, the logins arriving evenly over the window (k6's constant-arrival-rate), at most as many in flight as connections; a cold cache, so one TokenReview per pod (the simulated API server in a process of its own, as for "tokenreview, cold cache"). Latency is counted from each pod's arrival; one measured run.`,
    compareTo: [],
    runs: 1,
    setup: setupFleetRestart,
  },
  {
    id: 'kv-read',
    title: 'KV read, 1000 policies',
    description: `\`GET ${KV_PATH}\` with workload tokens (templated policy \`secret/data/{{identity.namespace}}/*\`), ${KV_BENCH_POLICIES} more policies loaded: token lookup, the ACL check, and the value opened (AES-256-GCM) and answered.`,
    compareTo: ['baseline-empty'],
    setup: async (opts) => {
      const { gateway, clientTokens } = await kvGateway(opts);
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
        ...gatewayFixture(gateway, KV_PATH),
        plan: (phase) => ({ ...durationPlan(opts, [], phase), requests }),
        facts: { tokens: `${clientTokens.length} client tokens of pod-bound logins, cycled` },
      };
    },
  },
  {
    id: 'login-kv-read',
    title: 'login + KV read',
    description: `A workload's whole path: \`POST ${JWKS_LOGIN}\` (repeated tokens: cached verification, a client token issued), then \`GET ${KV_PATH}\` with the token it got; ${KV_BENCH_POLICIES} more policies loaded. req/s counts both requests: full paths per second are half of it.`,
    compareTo: ['baseline-empty', 'kv-read'],
    setup: async (opts) => {
      const { gateway, bodies } = await kvGateway(opts);
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
        ...gatewayFixture(gateway, JWKS_LOGIN),
        plan: (phase) => ({ ...durationPlan(opts, [], phase), requests }),
        facts: {
          tokens: `${bodies.length} pod tokens, cycled (each logged in once during setup: cache warm)`,
        },
      };
    },
  },
];

/**
 * The rows of the report in order: each scenario, then its follow-ups.
 *
 * @param {Scenario[]} scenarios
 * @returns {Array<Scenario | FollowUp>}
 */
export const reportEntries = (scenarios) => scenarios.flatMap((s) => [s, ...(s.followUps ?? [])]);
