// Scenario 1: JWKS logins with distinct tokens (each iteration uses the next token of the pool,
// so with a pool at least as large as the iterations no token repeats and every login pays a
// signature check). Constant arrival rate, then a ramp to find where latency bends.
//
//   k6 run -e AUTHGATE_ADDR=http://127.0.0.1:8200 -e TOKENS_FILE=tokens.json loadtest/k6/jwks-login.js
import http from 'k6/http';
import { check } from 'k6';
import exec from 'k6/execution';
import { ADDR, JSON_HEADERS, JWKS_MOUNT, loginBody, num, thresholds } from './lib/config.js';

const RATE = num('RATE', 500);

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
    ramp: {
      executor: 'ramping-arrival-rate',
      startTime: __ENV.DURATION || '30s',
      startRate: RATE,
      timeUnit: '1s',
      stages: [
        { target: RATE * 2, duration: '20s' },
        { target: RATE * 4, duration: '20s' },
      ],
      preAllocatedVUs: num('VUS', 50),
      maxVUs: num('MAX_VUS', 400),
    },
  },
  thresholds: thresholds(20, 50),
};

export default function () {
  const res = http.post(
    `${ADDR}/v1/auth/${JWKS_MOUNT}/login`,
    loginBody(exec.scenario.iterationInTest),
    JSON_HEADERS,
  );
  check(res, {
    'login 200': (r) => r.status === 200,
    'client token issued': (r) => r.status === 200 && r.json('auth.client_token') !== undefined,
  });
}
