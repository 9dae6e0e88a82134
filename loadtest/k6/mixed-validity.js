// Scenario 5: a mix of valid and invalid tokens — a misconfigured fleet or an attacker. Denials
// must stay cheap: the p99 of refused logins is held to the same bound as accepted ones, and
// authgate must never answer 5xx. INVALID_RATE (default 0.5) sets the share of bad tokens, split
// between three kinds: a tampered signature, a wrong audience claim, and garbage.
//
//   k6 run -e AUTHGATE_ADDR=http://127.0.0.1:8200 -e TOKENS_FILE=tokens.json loadtest/k6/mixed-validity.js
import http from 'k6/http';
import { check } from 'k6';
import exec from 'k6/execution';
import encoding from 'k6/encoding';
import { ADDR, JSON_HEADERS, JWKS_MOUNT, ROLE, TOKENS, num } from './lib/config.js';

const INVALID_RATE = num('INVALID_RATE', 0.5);

export const options = {
  scenarios: {
    mix: {
      executor: 'constant-arrival-rate',
      rate: num('RATE', 1000),
      timeUnit: '1s',
      duration: __ENV.DURATION || '30s',
      preAllocatedVUs: num('VUS', 50),
      maxVUs: num('MAX_VUS', 200),
    },
  },
  thresholds: {
    'http_req_duration{expected:denied}': [`p(99)<${num('P99_MS', 50)}`],
    'http_req_duration{expected:ok}': [`p(99)<${num('P99_MS', 50)}`],
    checks: ['rate>0.99'],
  },
};

const tampered = (jwt) => {
  const [h, p, s] = jwt.split('.');
  return `${h}.${p}.${s.slice(0, -4)}AAAA`;
};
const otherAudience = (jwt) => {
  const [h, p, s] = jwt.split('.');
  const claims = JSON.parse(encoding.b64decode(p, 'rawurl', 's'));
  claims.aud = ['someone-else'];
  return `${h}.${encoding.b64encode(JSON.stringify(claims), 'rawurl')}.${s}`;
};

export default function () {
  const n = exec.scenario.iterationInTest;
  const entry = TOKENS[n % TOKENS.length];
  const jwt = entry.token;
  const bad = (n % 1000) / 1000 < INVALID_RATE;
  const kinds = [tampered, otherAudience, () => 'not-a-jwt'];
  // The role the tokens file names (`authgate dev tokens` writes "load"), as loginBody does.
  const body = JSON.stringify({ role: __ENV.ROLE || entry.role || ROLE, jwt: bad ? kinds[n % 3](jwt) : jwt });
  const res = http.post(`${ADDR}/v1/auth/${JWKS_MOUNT}/login`, body, {
    ...JSON_HEADERS,
    tags: { expected: bad ? 'denied' : 'ok' },
    // A 403 is the expected answer to a bad token, not a failed request.
    responseCallback: http.expectedStatuses(200, 403),
  });
  check(res, {
    'right answer': (r) => (bad ? r.status === 403 : r.status === 200),
    'never 5xx': (r) => r.status < 500,
  });
}
