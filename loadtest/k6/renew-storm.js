// Scenario 4: a renew-self storm. setup() logs in CLIENTS times (200 by default), then the
// iterations renew those client tokens in turn, as fast as the arrival rate asks (several VUs may
// renew one token at once) — the load Vault Agents or sidecars make when many pods renew at once.
//
//   k6 run -e AUTHGATE_ADDR=http://127.0.0.1:8200 -e TOKENS_FILE=$PWD/tokens.json loadtest/k6/renew-storm.js
import http from 'k6/http';
import { check, fail } from 'k6';
import exec from 'k6/execution';
import { ADDR, JSON_HEADERS, JWKS_MOUNT, TOKENS, loginBody, num, thresholds } from './lib/config.js';

const CLIENTS = Math.min(num('CLIENTS', 200), TOKENS.length);

export const options = {
  scenarios: {
    storm: {
      executor: 'constant-arrival-rate',
      rate: num('RATE', 1000),
      timeUnit: '1s',
      duration: __ENV.DURATION || '30s',
      preAllocatedVUs: num('VUS', 50),
      maxVUs: num('MAX_VUS', 200),
    },
  },
  // The storm's renewals only: setup()'s logins are not what is measured.
  thresholds: thresholds(20, 50, { scenario: 'storm' }),
};

export function setup() {
  const clientTokens = [];
  for (let i = 0; i < CLIENTS; i++) {
    const res = http.post(`${ADDR}/v1/auth/${JWKS_MOUNT}/login`, loginBody(i), JSON_HEADERS);
    if (res.status !== 200) fail(`setup login ${i} answered ${res.status}: ${res.body}`);
    clientTokens.push(res.json('auth.client_token'));
  }
  return { clientTokens };
}

export default function (data) {
  const token = data.clientTokens[exec.scenario.iterationInTest % data.clientTokens.length];
  const res = http.post(`${ADDR}/v1/auth/token/renew-self`, JSON.stringify({ increment: '1h' }), {
    headers: { 'Content-Type': 'application/json', 'X-Vault-Token': token },
  });
  check(res, { 'renew 200': (r) => r.status === 200 && r.json('auth.lease_duration') > 0 });
}
