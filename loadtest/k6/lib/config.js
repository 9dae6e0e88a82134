// Shared settings of the k6 scripts, all from environment variables (k6 run -e NAME=value or
// the shell environment). Written to k6's documented v1.x API; runs under k6, not Node.
import { SharedArray } from 'k6/data';

/** Base URL of authgate, e.g. http://127.0.0.1:8200 (what `authgate dev` prints as Gateway). */
export const ADDR = (__ENV.AUTHGATE_ADDR || 'http://127.0.0.1:8200').replace(/\/+$/, '');
/** Auth mounts: `kubernetes` (TokenReview) and `kubernetes-jwks` (JWKS) in `authgate dev`. */
export const TOKENREVIEW_MOUNT = __ENV.TOKENREVIEW_MOUNT || 'kubernetes';
export const JWKS_MOUNT = __ENV.JWKS_MOUNT || 'kubernetes-jwks';
export const ROLE = __ENV.ROLE || 'nginx';

/**
 * Pod tokens, from the file `authgate dev tokens --count N --namespaces K --out tokens.json`
 * writes (an array of {token, namespace, serviceAccount, pod}) — or, against a real cluster, any
 * JSON array of such objects (only `token` is required). Loaded once and shared by all VUs.
 */
export const TOKENS = new SharedArray('tokens', () => {
  const path = __ENV.TOKENS_FILE || './tokens.json';
  const parsed = JSON.parse(open(path));
  const list = Array.isArray(parsed) ? parsed : parsed.tokens;
  if (!Array.isArray(list) || list.length === 0) throw new Error(`no tokens in ${path}`);
  return list.map((t) => (typeof t === 'string' ? { token: t } : t));
});

/** Numeric environment variable with a default. */
export const num = (name, fallback) => {
  const v = __ENV[name];
  return v === undefined || v === '' ? fallback : Number(v);
};

export const JSON_HEADERS = { headers: { 'Content-Type': 'application/json' } };

/**
 * The login body of token number `i` (wrapping around the pool), with the role the tokens file
 * names for it (`authgate dev tokens` writes role "load"), else ROLE.
 */
export const loginBody = (i) => {
  const t = TOKENS[i % TOKENS.length];
  return JSON.stringify({ role: __ENV.ROLE || t.role || ROLE, jwt: t.token });
};

/** Thresholds shared by the scripts; every one can be overridden from the environment. */
export const thresholds = (p95Ms, p99Ms) => ({
  http_req_failed: [`rate<${num('MAX_FAILED_RATE', 0.01)}`],
  http_req_duration: [`p(95)<${num('P95_MS', p95Ms)}`, `p(99)<${num('P99_MS', p99Ms)}`],
  checks: ['rate>0.99'],
});
