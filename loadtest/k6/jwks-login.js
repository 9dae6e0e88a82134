// Scenario 1: JWKS logins with distinct tokens: each login sends a token never sent before in the
// run, so every one pays a signature check (authgate keeps a verified token for 60 s, so a token
// sent again would be a cache hit). Constant arrival rate, then a ramp to find where latency bends.
// The run takes RATE × DURATION + 1 tokens for the constant phase and 90 × RATE for the ramp
// (60 001 at the defaults); it stops with an error when the tokens file runs out rather than
// reuse one.
//
//   authgate dev tokens --count 60001 --namespaces 50 --out tokens.json
//   k6 run -e AUTHGATE_ADDR=http://127.0.0.1:8200 -e TOKENS_FILE=$PWD/tokens.json loadtest/k6/jwks-login.js
import http from 'k6/http';
import { check } from 'k6';
import exec from 'k6/execution';
import {
  ADDR,
  JSON_HEADERS,
  JWKS_MOUNT,
  constantPhaseIterations,
  freshLoginBody,
  num,
  thresholds,
} from './lib/config.js';

const RATE = num('RATE', 500);
const DURATION = __ENV.DURATION || '30s';
/** Logins the constant phase can start: the ramp's tokens begin after them. */
const CONSTANT_LOGINS = constantPhaseIterations(RATE, DURATION);
const RAMP_STAGES = [
  { target: RATE * 2, seconds: 20 },
  { target: RATE * 4, seconds: 20 },
];
/** Logins of the ramp: the area under its rate, each stage linear from the previous target. */
const RAMP_LOGINS = Math.ceil(
  RAMP_STAGES.reduce(
    (acc, s) => ({ from: s.target, logins: acc.logins + ((acc.from + s.target) / 2) * s.seconds }),
    { from: RATE, logins: 0 },
  ).logins,
);
const NEED =
  `${CONSTANT_LOGINS + RAMP_LOGINS} tokens (${CONSTANT_LOGINS} for the constant phase, RATE × DURATION + 1, ` +
  `then ${RAMP_LOGINS} for the ramp)`;

export const options = {
  scenarios: {
    constant: {
      executor: 'constant-arrival-rate',
      rate: RATE,
      timeUnit: '1s',
      duration: DURATION,
      preAllocatedVUs: num('VUS', 50),
      maxVUs: num('MAX_VUS', 200),
    },
    ramp: {
      executor: 'ramping-arrival-rate',
      startTime: DURATION,
      startRate: RATE,
      timeUnit: '1s',
      stages: RAMP_STAGES.map((s) => ({ target: s.target, duration: `${s.seconds}s` })),
      preAllocatedVUs: num('VUS', 50),
      maxVUs: num('MAX_VUS', 400),
    },
  },
  thresholds: {
    // Pass/fail is the constant phase alone: the ramp goes to 4 × RATE to find where latency
    // bends, so its slow and failed logins are what it is for, not a failure of the run.
    ...thresholds(20, 50, { scenario: 'constant' }),
    // Always passes; it makes the summary show the ramp's latencies apart.
    'http_req_duration{scenario:ramp}': ['max>=0'],
  },
};

export default function () {
  // iterationInTest counts per scenario: the ramp's tokens start where the constant phase's end.
  const offset = exec.scenario.name === 'ramp' ? CONSTANT_LOGINS : 0;
  const res = http.post(
    `${ADDR}/v1/auth/${JWKS_MOUNT}/login`,
    freshLoginBody(offset + exec.scenario.iterationInTest, NEED),
    JSON_HEADERS,
  );
  check(res, {
    'login 200': (r) => r.status === 200,
    'client token issued': (r) => r.status === 200 && r.json('auth.client_token') !== undefined,
  });
}
