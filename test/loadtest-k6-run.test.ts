import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAuthgate, waitFor, type Running } from './helpers/authgate-process.js';

// Runs the unchanged k6 scripts of loadtest/k6 against `authgate dev`, through a k6 shim
// (test/helpers/k6: k6's modules and init globals for Node, synchronous http, k6's rules for the
// options): k6 itself cannot be installed here. Each script runs a handful of iterations per scenario
// over a few VUs, with the environment loadtest/README.md documents, scaled down.

const ROOT = join(import.meta.dirname, '..');
const K6_DIR = join(ROOT, 'loadtest', 'k6');
const SHIM = join(import.meta.dirname, 'helpers', 'k6');

type Check = { name: string; passed: boolean; tags: Record<string, string>; status?: number; body?: string };
type Request = {
  method: string;
  url: string;
  status: number;
  failed?: boolean;
  error: string;
  tags: Record<string, string>;
  body?: string;
};
type Report = {
  options: { scenarios?: Record<string, object>; thresholds?: Record<string, unknown[]> };
  optionErrors: string[];
  exports: string[];
  scenarios: Array<{ name: string; iterations: number }>;
  checks: Check[];
  requests: Request[];
  errors: Array<{ where: string; message: string }>;
  aborted: string | null;
};

const dir = mkdtempSync(join(tmpdir(), 'authgate-k6-'));
let dev: Running;
let gateway = '';
let adminToken = '';
const tokensFile = join(dir, 'tokens.json');

/** Runs `script` (a path) through the shim with `env` (k6's -e), `iterations` per scenario over `vus` VUs. */
const runK6 = (script: string, env: Record<string, string>, iterations = 6, vus = 3): Report => {
  const out = join(dir, `report-${Math.random().toString(36).slice(2)}.json`);
  const config = { script, env, out, iterations, vus };
  const res = spawnSync(
    process.execPath,
    ['--import', join(SHIM, 'register.mjs'), join(SHIM, 'run.mjs'), JSON.stringify(config)],
    { encoding: 'utf8', timeout: 30_000 },
  );
  if (res.status !== 0) throw new Error(`the k6 shim failed (${res.status}): ${res.stderr}`);
  return JSON.parse(readFileSync(out, 'utf8')) as Report;
};

/** The environment of each script, as loadtest/README.md runs it, with small rates and pools. */
const ENV: Record<string, () => Record<string, string>> = {
  'jwks-login.js': () => ({ RATE: '2', DURATION: '2s' }),
  'tokenreview-login.js': () => ({ ITERATIONS: '40', HOT_TOKENS: '20', RATE: '2' }),
  'login-kv-read.js': () => ({ ADMIN_TOKEN: adminToken, RATE: '2' }),
  'renew-storm.js': () => ({ CLIENTS: '5', RATE: '2' }),
  'mixed-validity.js': () => ({ INVALID_RATE: '0.5', RATE: '2' }),
  'fleet-restart.js': () => ({ PODS: '20', WINDOW_SECONDS: '10' }),
};

const baseEnv = () => ({ AUTHGATE_ADDR: gateway, TOKENS_FILE: tokensFile });

beforeAll(async () => {
  const env = { AUTHGATE_DEV_STATE: join(dir, 'dev.json'), AUTHGATE_LOG_LEVEL: 'warn' };
  dev = runAuthgate(['dev', '--port', '0'], env);
  gateway = (await waitFor(() => dev.output().match(/Gateway:\s+(http:\/\/\S+)/)))[1] ?? '';
  adminToken = (await waitFor(() => dev.output().match(/Admin token:\s+(\S+)/)))[1] ?? '';
  await waitFor(() => dev.output().match(/More tokens/));
  // As loadtest/README.md makes them, fewer.
  const gen = runAuthgate(['dev', 'tokens', '--count', '120', '--namespaces', '3', '--out', tokensFile], env);
  expect(await gen.exited, gen.output()).toBe(0);
});

afterAll(async () => {
  dev.child.kill('SIGTERM');
  await dev.exited;
  rmSync(dir, { recursive: true, force: true });
});

describe('the k6 scripts, run through a k6 shim against authgate dev', () => {
  it.each(Object.keys(ENV))('%s: k6 takes its options, and every check and request passes', (script) => {
    const report = runK6(join(K6_DIR, script), { ...baseEnv(), ...ENV[script]!() });
    expect(report.errors).toEqual([]);
    expect(report.aborted).toBeNull();
    expect(report.optionErrors).toEqual([]);
    // Every scenario ran, with the function it names.
    expect(report.scenarios.map((s) => s.name).sort()).toEqual(
      Object.keys(report.options.scenarios ?? {}).sort(),
    );
    for (const s of report.scenarios) expect(s.iterations, s.name).toBeGreaterThan(0);

    expect(report.checks.length).toBeGreaterThan(0);
    expect(report.checks.filter((c) => !c.passed)).toEqual([]);
    expect(report.requests.length).toBeGreaterThan(0);
    // No request failed by the script's own definition (its responseCallback, else k6's 200–399).
    expect(report.requests.filter((r) => r.failed !== false || r.error !== '')).toEqual([]);

    // Each tag a threshold filters on (other than the scenario) is carried by some request or check:
    // a threshold on a tag nothing sets holds nothing to account.
    const tagged = [...report.requests, ...report.checks].map((x) => x.tags);
    for (const key of Object.keys(report.options.thresholds ?? {})) {
      const filter = /\{(.*)\}$/.exec(key)?.[1];
      if (!filter) continue;
      for (const pair of filter.split(',')) {
        const [tag = '', value = ''] = pair.split(':').map((s) => s.trim());
        if (tag === 'scenario') continue;
        expect(
          tagged.some((t) => t[tag] === value),
          `threshold ${key}: no request or check tagged ${tag}:${value}`,
        ).toBe(true);
      }
    }
  });

  it('mixed-validity mixes valid and invalid logins from its first ones, each answered as expected', () => {
    const report = runK6(
      join(K6_DIR, 'mixed-validity.js'),
      { ...baseEnv(), ...ENV['mixed-validity.js']!() },
      8,
      2,
    );
    const statuses = report.requests.map((r) => `${r.tags['expected']}:${r.status}`);
    expect(statuses.filter((s) => s === 'ok:200')).toHaveLength(4);
    expect(statuses.filter((s) => s === 'denied:403')).toHaveLength(4);
    expect(report.checks.filter((c) => !c.passed)).toEqual([]);
    // Each kind is refused where it should be: the second bad login, its aud claim rewritten, by
    // the audience check that runs before the signature is (Vault's order), not as a bad signature.
    expect(report.requests.filter((r) => r.status === 403).map((r) => JSON.parse(r.body ?? '{}'))).toEqual([
      { errors: ['permission denied'] },
      { errors: ['invalid audience (aud) claim: audience claim does not match any expected audience'] },
      { errors: ['permission denied'] },
      { errors: ['permission denied'] },
    ]);
  });

  it.each(['jwks-login.js', 'mixed-validity.js'])(
    '%s stops the test (exec.test.abort) when the tokens file runs out, rather than send a token again',
    (script) => {
      const small = join(dir, `small-${script}.json`);
      writeFileSync(small, JSON.stringify(JSON.parse(readFileSync(tokensFile, 'utf8')).slice(0, 3)));
      const report = runK6(join(K6_DIR, script), { ...baseEnv(), ...ENV[script]!(), TOKENS_FILE: small });
      expect(report.aborted).toMatch(
        /login 4 of scenario \S+ needs a token never sent before, but the tokens file has 3/,
      );
      expect(report.requests).toHaveLength(3);
    },
  );

  it('holds the fleet restart to every pod logged in, and each script to its own requests', () => {
    const options = (script: string) =>
      runK6(join(K6_DIR, script), { ...baseEnv(), ...ENV[script]!() }).options.thresholds ?? {};
    const fleet = options('fleet-restart.js');
    expect(fleet['http_req_failed{scenario:restart}']).toEqual(['rate==0']);
    expect(fleet['checks{scenario:restart}']).toEqual(['rate==1']);
    // Logins sent, not iterations (one past PODS sends nothing).
    expect(fleet['http_reqs{scenario:restart}']).toEqual([`count>=${ENV['fleet-restart.js']!()['PODS']}`]);
    expect(fleet['iterations']).toBeUndefined();
    // setup()'s requests (logins, secret writes) are not the scenario's.
    for (const [script, scenario] of [
      ['renew-storm.js', 'storm'],
      ['login-kv-read.js', 'constant'],
    ] as const) {
      const keys = Object.keys(options(script)).filter((k) =>
        /^(http_req_failed|http_req_duration|checks)/.test(k),
      );
      expect(keys.filter((k) => !k.endsWith(`{scenario:${scenario}}`) && !k.includes('step:'))).toEqual([]);
    }
  });

  it('tokenreview-login refuses a tokens file no bigger than HOT_TOKENS', () => {
    const small = join(dir, 'small-hot.json');
    writeFileSync(small, JSON.stringify(JSON.parse(readFileSync(tokensFile, 'utf8')).slice(0, 20)));
    const report = runK6(join(K6_DIR, 'tokenreview-login.js'), {
      ...baseEnv(),
      ...ENV['tokenreview-login.js']!(),
      TOKENS_FILE: small,
    });
    expect(report.errors.map((e) => e.message).join('\n')).toContain(
      'the tokens file has 20 tokens, no more than HOT_TOKENS (20)',
    );
  });

  it('a relative TOKENS_FILE is taken from loadtest/k6/lib/, as the README warns', () => {
    const report = runK6(join(K6_DIR, 'fleet-restart.js'), { ...baseEnv(), TOKENS_FILE: 'tokens.json' });
    expect(report.errors.map((e) => e.message).join('\n')).toContain(
      `TOKENS_FILE tokens.json: cannot read file://${join(K6_DIR, 'lib', 'tokens.json')}`,
    );
  });
});

describe('the k6 shim', () => {
  it("refuses options k6 refuses, with k6's reasons", () => {
    const script = join(dir, 'bad-options.js');
    writeFileSync(
      script,
      `export const options = {
        scenarios: {
          a: { executor: 'shared-iterations', vus: 10, iterations: 5 },
          b: { executor: 'constant-arrival-rate', rate: 2.5, duration: '1m', preAllocatedVUs: 1 },
          c: { executor: 'ramping-arrival-rate', stages: [], preAllocatedVUs: 2, maxVUs: 1, exec: 'nope' },
          d: { executor: 'constant-looping-vus', vus: 1, duration: '1s' },
          e: { executor: 'constant-vus', vus: 1, duration: '30 s' },
          f: { executor: 'per-vu-iterations', vus: 1, iterations: 1, maxDuratoin: '10s' },
          'g h': { executor: 'constant-vus', vus: 1, duration: '0.5s' },
        },
        thresholds: {
          http_req_durations: ['p(95)<500'],
          'http_req_duration{scenario:z}': ['p(95)<500'],
          http_req_failed: ['p(95)<0.01', 'rate<1%'],
          checks: [{ threshold: 'rate>0.9', abortOnFail: 'yes' }],
        },
      };
      export default function () {}`,
    );
    const report = runK6(script, {});
    expect(report.optionErrors).toEqual(
      expect.arrayContaining([
        "scenario a: the number of iterations (5) can't be less than the number of VUs (10)",
        'scenario b: rate: cannot unmarshal 2.5 into an integer',
        "scenario c: function 'nope' not found in exports",
        'scenario c: at least one stage has to be specified',
        "scenario c: maxVUs can't be less than preAllocatedVUs",
        'scenario d: executor type "constant-looping-vus" is not a k6 executor',
        'scenario e: duration: time: invalid duration "30 s"',
        'scenario f: json: unknown field "maxDuratoin"',
        'scenario g h: the scenario name should contain only numbers, latin letters, underscores, and dashes',
        'scenario g h: the duration must be at least 1s',
        'invalid threshold defined on http_req_durations; reason: no metric name "http_req_durations" found',
        'threshold http_req_duration{scenario:z}: no scenario named "z"',
        expect.stringContaining('unsupported aggregation method p on metric of type rate'),
        expect.stringContaining(
          `threshold http_req_failed: failed parsing threshold expression's "rate<1%" right hand side`,
        ),
        'threshold checks: abortOnFail must be a boolean',
      ]),
    );
    expect(report.optionErrors).toHaveLength(15);
  });

  it('records a wrong URL, a wrong header and a failed check as such', () => {
    const script = join(dir, 'wrong.js');
    writeFileSync(
      script,
      `import http from 'k6/http';
      import { check } from 'k6';
      export const options = { scenarios: { s: { executor: 'shared-iterations', vus: 1, iterations: 2 } } };
      export default function () {
        const res = http.post(__ENV.ADDR + '/v1/auth/no-such-mount/login', '{}', { headers: { 'Content-Type': 'application/json' } });
        check(res, { 'login 200': (r) => r.status === 200, 'body is JSON': (r) => r.json('errors.0') !== undefined });
        http.get(__ENV.ADDR + '/v1/auth/token/lookup-self', { header: { 'X-Vault-Token': 'x' } });
      }`,
    );
    const report = runK6(script, { ADDR: gateway });
    // A login to a mount that does not exist is refused before any route, as Vault refuses it: 403.
    expect(report.requests.map((r) => [r.status, r.failed])).toEqual([
      [403, true],
      [403, true],
    ]);
    expect(report.checks.map((c) => [c.name, c.passed])).toEqual([
      ['login 200', false],
      ['body is JSON', true],
      ['login 200', false],
      ['body is JSON', true],
    ]);
    // `header` is no k6 Params key (k6 would drop it silently): the iteration fails on it.
    expect(report.errors.map((e) => e.message)).toEqual([
      expect.stringContaining('unknown http Params key "header"'),
      expect.stringContaining('unknown http Params key "header"'),
    ]);
  });
});
