// Scenario 6: a fleet restart — 10 000 pods logging in within 10 s, each once, with its own
// token (a node pool replaced, a cluster-wide rollout). Every login must succeed and the p99 stay
// bounded; against TokenReview mounts it also shows the API server cost (one review per pod).
//
//   authgate dev tokens --count 10000 --namespaces 50 --out tokens.json
//   k6 run -e AUTHGATE_ADDR=http://127.0.0.1:8200 -e TOKENS_FILE=$PWD/tokens.json loadtest/k6/fleet-restart.js
import http from 'k6/http';
import { check } from 'k6';
import exec from 'k6/execution';
import { ADDR, JSON_HEADERS, TOKENREVIEW_MOUNT, TOKENS, loginBody, num, thresholds } from './lib/config.js';

const PODS = Math.min(num('PODS', 10000), TOKENS.length);
const WINDOW_SECONDS = num('WINDOW_SECONDS', 10);

export const options = {
  scenarios: {
    restart: {
      executor: 'constant-arrival-rate',
      rate: Math.ceil(PODS / WINDOW_SECONDS),
      timeUnit: '1s',
      duration: `${WINDOW_SECONDS}s`,
      preAllocatedVUs: num('VUS', 200),
      maxVUs: num('MAX_VUS', 1000),
    },
  },
  thresholds: {
    // Every pod must get in: no failed request, every check passed.
    ...thresholds(250, 1000, { scenario: 'restart', maxFailedRate: 0 }),
    // Logins sent, not iterations: an iteration past PODS (when PODS is no multiple of the
    // window) sends nothing, and counted would hide a login that was never started.
    'http_reqs{scenario:restart}': [`count>=${PODS}`],
  },
};

export default function () {
  const i = exec.scenario.iterationInTest;
  if (i >= PODS) return;
  const res = http.post(`${ADDR}/v1/auth/${TOKENREVIEW_MOUNT}/login`, loginBody(i), JSON_HEADERS);
  check(res, { 'pod logged in': (r) => r.status === 200 });
}
