// Scenario 3: a workload's whole path — log in with its pod token, then read one KV v2 secret of
// its own namespace with the client token it got (the ACL check and the decryption in the path).
// setup() writes one secret per namespace of the tokens file with the admin token, so that every
// read finds one; the dev policy `load` (or your own) must grant
// `secret/data/{{identity.namespace}}/*` read to the tokens' role.
//
//   k6 run -e AUTHGATE_ADDR=http://127.0.0.1:8200 -e TOKENS_FILE=$PWD/tokens.json \
//          -e ADMIN_TOKEN=<the admin token authgate dev prints> loadtest/k6/login-kv-read.js
import http from 'k6/http';
import { check, fail } from 'k6';
import exec from 'k6/execution';
import { ADDR, JSON_HEADERS, JWKS_MOUNT, TOKENS, loginBody, num, thresholds } from './lib/config.js';

const RATE = num('RATE', 300);
const KV_MOUNT = __ENV.KV_MOUNT || 'secret';
const SECRET_NAME = __ENV.SECRET_NAME || 'config';

export const options = {
  scenarios: {
    constant: {
      executor: 'constant-arrival-rate',
      rate: RATE,
      timeUnit: '1s',
      duration: __ENV.DURATION || '30s',
      preAllocatedVUs: num('VUS', 50),
      maxVUs: num('MAX_VUS', 200),
    },
  },
  thresholds: {
    // The workloads' requests only, not setup()'s secret writes.
    ...thresholds(25, 60, { scenario: 'constant' }),
    'http_req_duration{step:kv_read}': [`p(99)<${num('KV_P99_MS', 30)}`],
  },
};

/** The namespace of token `i` (`authgate dev tokens` writes it; else NAMESPACE for every token). */
const namespaceOf = (i) => TOKENS[i % TOKENS.length].namespace || __ENV.NAMESPACE || 'test';

export function setup() {
  const admin = __ENV.ADMIN_TOKEN;
  if (!admin) fail('ADMIN_TOKEN is required: setup writes the secrets the workloads read');
  const namespaces = new Set();
  for (let i = 0; i < TOKENS.length; i++) namespaces.add(namespaceOf(i));
  for (const ns of namespaces) {
    const res = http.post(
      `${ADDR}/v1/${KV_MOUNT}/data/${ns}/${SECRET_NAME}`,
      JSON.stringify({ data: { username: `app-${ns}`, password: `load-test-${ns}` } }),
      { headers: { 'Content-Type': 'application/json', 'X-Vault-Token': admin } },
    );
    if (res.status !== 200) fail(`writing the secret of ${ns}: HTTP ${res.status} ${res.body}`);
  }
  return { namespaces: namespaces.size };
}

export default function () {
  const i = exec.scenario.iterationInTest;
  const login = http.post(`${ADDR}/v1/auth/${JWKS_MOUNT}/login`, loginBody(i), {
    ...JSON_HEADERS,
    tags: { step: 'login' },
  });
  const ok = check(login, { 'login 200': (r) => r.status === 200 });
  if (!ok) return;
  const token = login.json('auth.client_token');
  const read = http.get(`${ADDR}/v1/${KV_MOUNT}/data/${namespaceOf(i)}/${SECRET_NAME}`, {
    headers: { 'X-Vault-Token': token },
    tags: { step: 'kv_read' },
  });
  check(read, {
    'kv read 200': (r) => r.status === 200,
    'own namespace secret': (r) =>
      r.status === 200 && r.json('data.data.username') === `app-${namespaceOf(i)}`,
  });
}
