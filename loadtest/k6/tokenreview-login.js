// Scenario 2: TokenReview logins, cold cache (every token new: one TokenReview each) then hot
// (a small set of tokens reused: one TokenReview for each hot token's first login, HOT_TOKENS in
// all (a few more if its first logins arrive together), then none while the cache holds). Compare the two scenarios' durations in the
// summary (tagged by scenario); authgate's /metrics shows authgate_tokenreview_calls_total.
// Tokens: HOT_TOKENS + ITERATIONS (5 020 at the defaults); a smaller file shortens the cold phase.
//
//   authgate dev tokens --count 5020 --namespaces 50 --out tokens.json
//   k6 run -e AUTHGATE_ADDR=http://127.0.0.1:8200 -e TOKENS_FILE=$PWD/tokens.json loadtest/k6/tokenreview-login.js
import http from 'k6/http';
import { check } from 'k6';
import exec from 'k6/execution';
import { ADDR, JSON_HEADERS, TOKENREVIEW_MOUNT, TOKENS, loginBody, num, thresholds } from './lib/config.js';

const HOT_TOKENS = num('HOT_TOKENS', 20);
const ITERATIONS = num('ITERATIONS', 5000);
if (!(Number.isInteger(HOT_TOKENS) && HOT_TOKENS >= 1 && Number.isInteger(ITERATIONS) && ITERATIONS >= 1)) {
  throw new Error(`HOT_TOKENS (${HOT_TOKENS}) and ITERATIONS (${ITERATIONS}) must be positive integers`);
}
// The first HOT_TOKENS tokens are the hot set; the cold phase needs at least one more.
if (TOKENS.length <= HOT_TOKENS) {
  throw new Error(
    `the tokens file has ${TOKENS.length} tokens, no more than HOT_TOKENS (${HOT_TOKENS}): the cold phase ` +
      `sends the tokens after the hot set; mint HOT_TOKENS + ITERATIONS (${HOT_TOKENS + ITERATIONS}) or lower HOT_TOKENS`,
  );
}

// The hot phase starts once the cold one has surely ended, interrupted iterations included
// (k6 stops a scenario at most maxDuration + gracefulStop after its start), so that the hot
// latencies are not measured beside cold logins and their TokenReviews.
const COLD_MAX_SECONDS = 120;
const COLD_GRACEFUL_STOP_SECONDS = 10;

// Each token once: as many cold logins as tokens after the hot set (at most ITERATIONS).
const COLD_LOGINS = Math.min(TOKENS.length - HOT_TOKENS, ITERATIONS);

export const options = {
  scenarios: {
    cold: {
      executor: 'shared-iterations',
      // k6 refuses a shared-iterations scenario with fewer iterations than VUs.
      vus: Math.min(num('VUS', 50), COLD_LOGINS),
      iterations: COLD_LOGINS,
      maxDuration: `${COLD_MAX_SECONDS}s`,
      gracefulStop: `${COLD_GRACEFUL_STOP_SECONDS}s`,
      env: { PHASE: 'cold' },
    },
    hot: {
      executor: 'constant-arrival-rate',
      startTime: `${COLD_MAX_SECONDS + COLD_GRACEFUL_STOP_SECONDS}s`,
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
