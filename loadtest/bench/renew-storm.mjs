/**
 * The renew storm (the k6 script renew-storm.js): client tokens from logins during setup, renewed
 * over and over with `POST /v1/auth/token/renew-self` — the load Vault Agents or sidecars make when
 * many pods renew at once.
 */
import { loginBody, loginEach } from './cluster.mjs';
import { JWKS_LOGIN, durationPlan, gatewayFixture, gatewayWithTokens } from './fixtures.mjs';

export const RENEW_PATH = '/v1/auth/token/renew-self';
/** The bodies, alternately: the role's TTL again, and an explicit increment. */
const RENEW_BODIES = ['{}', '{"increment":"1h"}'];

/**
 * `authgate dev` with `opts.renewClients` client tokens (one login each, checked to renew), and a
 * duration-mode load that renews them in turn, `X-Vault-Token` cycled.
 *
 * @param {import('./fixtures.mjs').BenchOptions} opts
 * @returns {Promise<import('./fixtures.mjs').Fixture>}
 */
export const setupRenewStorm = async (opts) => {
  const gateway = await gatewayWithTokens(opts, opts.renewClients);
  const { dev, tokens } = gateway;
  let clientTokens;
  try {
    clientTokens = await loginEach(
      dev.gatewayUrl,
      JWKS_LOGIN,
      tokens.map((jwt) => loginBody(jwt)),
    );
    const res = await globalThis.fetch(`${dev.gatewayUrl}${RENEW_PATH}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-vault-token': clientTokens[0] },
      body: RENEW_BODIES[1],
    });
    const body = await res.json();
    if (res.status !== 200 || !(body?.auth?.lease_duration > 0)) {
      throw new Error(`${RENEW_PATH}: HTTP ${res.status}, lease_duration ${body?.auth?.lease_duration}`);
    }
  } catch (err) {
    await dev.stop();
    throw err;
  }
  let next = 0;
  const requests = [
    {
      method: 'POST',
      path: RENEW_PATH,
      headers: { 'content-type': 'application/json' },
      setupRequest: (request) => {
        const i = next++;
        request.headers = { ...request.headers, 'x-vault-token': clientTokens[i % clientTokens.length] };
        request.body = RENEW_BODIES[i % RENEW_BODIES.length];
        return request;
      },
    },
  ];
  return {
    ...gatewayFixture(gateway, RENEW_PATH),
    plan: (phase) => ({ ...durationPlan(opts, [], phase), requests }),
    facts: { tokens: `${clientTokens.length} client tokens of pod-bound logins, cycled` },
  };
};
