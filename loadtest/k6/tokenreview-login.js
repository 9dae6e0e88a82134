// Scenario 2: TokenReview logins, cold cache (every token new: one TokenReview each) then hot
// (a small set of tokens reused: no API call at all). Compare the two scenarios' durations in the
// summary (tagged by scenario); authgate's /metrics shows authgate_tokenreview_calls_total.
//
//   k6 run -e AUTHGATE_ADDR=http://127.0.0.1:8200 -e TOKENS_FILE=tokens.json loadtest/k6/tokenreview-login.js
import http from 'k6/http';
import { check } from 'k6';
import exec from 'k6/execution';
import { ADDR, JSON_HEADERS, TOKENREVIEW_MOUNT, TOKENS, loginBody, num, thresholds } from './lib/config.js';

const HOT_TOKENS = num('HOT_TOKENS', 20);

export const options = {
  scenarios: {
    cold: {
      executor: 'shared-iterations',
      vus: num('VUS', 50),
      // Each token once: as many iterations as tokens (at most ITERATIONS).
      iterations: Math.min(TOKENS.length - HOT_TOKENS, num('ITERATIONS', 5000)),
      maxDuration: '2m',
      env: { PHASE: 'cold' },
    },
    hot: {
      executor: 'constant-arrival-rate',
      startTime: '2m',
      rate: num('RATE', 1000),
      timeUnit: '1s',
      duration: __ENV.DURATION || '30s',
      preAllocatedVUs: num('VUS', 50),
      maxVUs: num('MAX_VUS', 200),
      env: { PHASE: 'hot' },
    },
  },
  thresholds: {
    ...thresholds(50, 200),
    'http_req_duration{scenario:hot}': [`p(99)<${num('HOT_P99_MS', 20)}`],
  },
};

export default function () {
  // The first HOT_TOKENS tokens are the hot set; the cold phase uses the rest, each once.
  const i =
    __ENV.PHASE === 'hot'
      ? exec.scenario.iterationInTest % HOT_TOKENS
      : HOT_TOKENS + exec.scenario.iterationInTest;
  const res = http.post(`${ADDR}/v1/auth/${TOKENREVIEW_MOUNT}/login`, loginBody(i), JSON_HEADERS);
  check(res, { 'login 200': (r) => r.status === 200 });
}
