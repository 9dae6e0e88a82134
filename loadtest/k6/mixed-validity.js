// Scenario 5: a mix of valid and invalid tokens — a misconfigured fleet or an attacker. Denials
// must stay cheap: the p99 of refused logins is held to the same bound as accepted ones, and
// authgate must never answer anything but 200 or 403 (no 5xx). INVALID_RATE (default 0.5) sets
// the share of bad tokens, spread evenly from the first logins on, in turn of three kinds: a
// tampered signature, a wrong audience claim, and garbage. Like its bench twin, every login uses a token never sent before (an
// accepted one sent again would be a cache hit): RATE × DURATION + 1 tokens, 30 001 at the
// defaults; the run stops with an error when the tokens file runs out rather than reuse one.
//
//   authgate dev tokens --count 30001 --namespaces 50 --out tokens.json
//   k6 run -e AUTHGATE_ADDR=http://127.0.0.1:8200 -e TOKENS_FILE=$PWD/tokens.json loadtest/k6/mixed-validity.js
import http from 'k6/http';
import { check } from 'k6';
import exec from 'k6/execution';
import encoding from 'k6/encoding';
import {
  ADDR,
  JSON_HEADERS,
  JWKS_MOUNT,
  constantPhaseIterations,
  freshLoginBody,
  num,
  thresholds,
} from './lib/config.js';

const INVALID_RATE = num('INVALID_RATE', 0.5);
const RATE = num('RATE', 1000);
const DURATION = __ENV.DURATION || '30s';
const NEED = `${constantPhaseIterations(RATE, DURATION)} tokens (RATE × DURATION + 1)`;

export const options = {
  scenarios: {
    mix: {
      executor: 'constant-arrival-rate',
      rate: RATE,
      timeUnit: '1s',
      duration: DURATION,
      preAllocatedVUs: num('VUS', 50),
      maxVUs: num('MAX_VUS', 200),
    },
  },
  thresholds: {
    // No failed request by default: with the responseCallback below, that is any answer but 200
    // or 403 (every 5xx), or no answer.
    ...thresholds(20, 50, { maxFailedRate: 0 }),
    'http_req_duration{expected:denied}': [`p(99)<${num('P99_MS', 50)}`],
    'http_req_duration{expected:ok}': [`p(99)<${num('P99_MS', 50)}`],
  },
};

// A 403 is the expected answer to a bad token, not a failed request. Made once, as k6's docs advise.
const ANSWERED = http.expectedStatuses(200, 403);

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
const KINDS = [tampered, otherAudience, () => 'not-a-jwt'];

export default function () {
  const n = exec.scenario.iterationInTest;
  // The bad logins spread evenly among the good ones, the kinds in turn, as in the bench twin
  // (loadtest/bench/bad-tokens.mjs, mixLayout): login n is bad when it brings the count of bad ones
  // up to floor((n + 1) × INVALID_RATE).
  const badBefore = Math.floor(n * INVALID_RATE);
  const bad = Math.floor((n + 1) * INVALID_RATE) > badBefore;
  const res = http.post(
    `${ADDR}/v1/auth/${JWKS_MOUNT}/login`,
    freshLoginBody(n, NEED, bad ? KINDS[badBefore % KINDS.length] : undefined),
    { ...JSON_HEADERS, tags: { expected: bad ? 'denied' : 'ok' }, responseCallback: ANSWERED },
  );
  check(res, {
    'right answer': (r) => (bad ? r.status === 403 : r.status === 200),
    'never 5xx': (r) => r.status < 500,
  });
}
