// Shared settings of the k6 scripts, all from environment variables (k6 run -e NAME=value or
// the shell environment). Written to k6's documented v1.x API; runs under k6, not Node.
import { SharedArray } from 'k6/data';
import exec from 'k6/execution';

/** Base URL of authgate, e.g. http://127.0.0.1:8200 (what `authgate dev` prints as Gateway). */
export const ADDR = (__ENV.AUTHGATE_ADDR || 'http://127.0.0.1:8200').replace(/\/+$/, '');
/** Auth mounts: `kubernetes` (TokenReview) and `kubernetes-jwks` (JWKS) in `authgate dev`. */
export const TOKENREVIEW_MOUNT = __ENV.TOKENREVIEW_MOUNT || 'kubernetes';
export const JWKS_MOUNT = __ENV.JWKS_MOUNT || 'kubernetes-jwks';
export const ROLE = __ENV.ROLE || 'nginx';

/**
 * The tokens file. k6 resolves a relative open() path against the directory of the module that
 * calls it — this file's, loadtest/k6/lib/ — not the working directory (grafana/k6 #3857), so the
 * default climbs to the repository root, where the README's `authgate dev tokens --out tokens.json`
 * writes it; the README passes TOKENS_FILE as an absolute path ($PWD/tokens.json) for the same reason.
 */
const TOKENS_FILE = __ENV.TOKENS_FILE || '../../../tokens.json';

/** The file k6 opens for `path`, to name it in errors: a relative path is taken from loadtest/k6/lib/. */
const openedPath = (path) =>
  /^(\/|[A-Za-z]:[\\/]|file:)/.test(path)
    ? path
    : import.meta.resolve(path.startsWith('.') ? path : `./${path}`);

/**
 * Pod tokens, from the file `authgate dev tokens --count N --namespaces K --out tokens.json`
 * writes (an array of {token, namespace, serviceAccount, pod}) — or, against a real cluster, any
 * JSON array of such objects (only `token` is required). Loaded once and shared by all VUs.
 */
export const TOKENS = new SharedArray('tokens', () => {
  let text;
  try {
    text = open(TOKENS_FILE);
  } catch (err) {
    throw new Error(
      `TOKENS_FILE ${TOKENS_FILE}: cannot read ${openedPath(TOKENS_FILE)} (${err}). k6 takes a relative ` +
        'path from loadtest/k6/lib/, not from the working directory: pass an absolute one, ' +
        '-e TOKENS_FILE=$PWD/tokens.json',
    );
  }
  const parsed = JSON.parse(text);
  const list = Array.isArray(parsed) ? parsed : parsed.tokens;
  if (!Array.isArray(list) || list.length === 0) throw new Error(`no tokens in ${openedPath(TOKENS_FILE)}`);
  return list.map((t) => (typeof t === 'string' ? { token: t } : t));
});

/** Numeric environment variable with a default. */
export const num = (name, fallback) => {
  const v = __ENV[name];
  return v === undefined || v === '' ? fallback : Number(v);
};

const SECONDS_PER_UNIT = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400 };

/** Seconds in a k6 duration string (`30s`, `2m`, `1m30s`, `500ms`); throws on anything else. */
export const durationSeconds = (text) => {
  const parts = [...String(text).matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== text) {
    throw new Error(`duration ${JSON.stringify(text)}: not a k6 duration such as 30s, 2m or 1m30s`);
  }
  return parts.reduce((sum, [, n, unit]) => sum + Number(n) * SECONDS_PER_UNIT[unit], 0);
};

export const JSON_HEADERS = { headers: { 'Content-Type': 'application/json' } };

/** A login body for token entry `t` with `jwt`: the role the tokens file names, else ROLE. */
const bodyFor = (t, jwt) => JSON.stringify({ role: __ENV.ROLE || t.role || ROLE, jwt });

/**
 * The login body of token number `i` (wrapping around the pool), with the role the tokens file
 * names for it (`authgate dev tokens` writes role "load"), else ROLE. For scripts that may send a
 * token again; those that promise a new token per login use freshLoginBody.
 */
export const loginBody = (i) => {
  const t = TOKENS[i % TOKENS.length];
  return bodyFor(t, t.token);
};

/**
 * The login body of token number `i`, which must not have been sent before in this run, with its
 * JWT passed through `transform` (a forged variant, for refused logins). When `i` is past the end
 * of the pool the test is aborted: wrapping around would send a token again within authgate's 60 s
 * verified-token cache, and measure cache hits instead of verifications. `need` says, for the
 * message, how many tokens the run takes and why.
 */
export const freshLoginBody = (i, need, transform = (jwt) => jwt) => {
  if (i >= TOKENS.length) {
    exec.test.abort(
      `login ${i + 1} of scenario ${exec.scenario.name} needs a token never sent before, but the tokens file ` +
        `has ${TOKENS.length}: this run needs ${need}. Mint more (authgate dev tokens --count N) or lower RATE/DURATION.`,
    );
  }
  const t = TOKENS[i];
  return bodyFor(t, transform(t.token));
};

/**
 * Thresholds shared by the scripts; every one can be overridden from the environment. `scenario`
 * restricts them to that scenario's requests (a tag filter: without one, setup()'s requests
 * count too); `maxFailedRate` is the default share of failed requests allowed (MAX_FAILED_RATE
 * overrides it; 0 allows none, and then every check must pass as well).
 */
export const thresholds = (p95Ms, p99Ms, { scenario, maxFailedRate = 0.01 } = {}) => {
  const only = scenario ? `{scenario:${scenario}}` : '';
  const failed = num('MAX_FAILED_RATE', maxFailedRate);
  return {
    [`http_req_failed${only}`]: [failed === 0 ? 'rate==0' : `rate<${failed}`],
    [`http_req_duration${only}`]: [`p(95)<${num('P95_MS', p95Ms)}`, `p(99)<${num('P99_MS', p99Ms)}`],
    [`checks${only}`]: [failed === 0 ? 'rate==1' : 'rate>0.99'],
  };
};

/**
 * Iterations a constant-arrival-rate phase of `rate` a second may start in `duration`: one more
 * than rate × duration, for the tick that falls on the phase's very end (k6 may start it), so
 * that a script promising a token never sent before keeps that promise across phases.
 */
export const constantPhaseIterations = (rate, duration) => Math.ceil(rate * durationSeconds(duration)) + 1;
