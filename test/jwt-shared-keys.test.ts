import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { SignJWT, exportJWK } from 'jose';
import { afterAll, describe, expect, it } from 'vitest';
import { systemClock } from '../src/lib/clock.js';
import { createMemoryStore } from '../src/store/index.js';
import { recordSecrets } from './helpers/audit.js';
import { startHarness, type Harness } from './helpers/harness.js';
import { json, startKeyServer, type KeyServer } from './helpers/key-server.js';

/*
 * Replicas over one store share a jwt mount's key set, as they share a jwks mount's: one fetch
 * serves them all. A replica whose mount of the same name reads another issuer's keys never
 * takes that set.
 */

const issuers: KeyServer[] = [];
const harnesses: Harness[] = [];
afterAll(async () => {
  for (const h of harnesses) await h.close();
  for (const i of issuers) await i.close();
});

/** An issuer on a key server of its own: discovery, JWKS, and a signer. */
const startIssuer = async () => {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = { ...(await exportJWK(publicKey)), kid: 'k', alg: 'ES256' };
  const server = await startKeyServer();
  issuers.push(server);
  server.handler = (req, res, base) => {
    if (req.url === '/.well-known/openid-configuration')
      return json({ issuer: base, jwks_uri: `${base}/keys` })(req, res, base);
    if (req.url === '/keys') return json({ keys: [jwk] })(req, res, base);
    res.writeHead(404).end();
  };
  const sign = async () => {
    const now = Math.floor(Date.now() / 1000);
    const jwt = await new SignJWT({
      iss: server.base,
      sub: 'job-1',
      aud: 'authgate',
      iat: now,
      exp: now + 300,
    })
      .setProtectedHeader({ alg: 'ES256', kid: 'k' })
      .sign(privateKey);
    recordSecrets(jwt);
    return jwt;
  };
  return { server, sign };
};

const replica = async (store: ReturnType<typeof createMemoryStore>, serverKey: Buffer, issuer: KeyServer) => {
  const h = await startHarness({
    store,
    serverKey,
    sharedCaches: true,
    moreMounts: () => ({
      ci: {
        type: 'jwt',
        oidc_discovery_url: issuer.base,
        roles: { job: { user_claim: 'sub', bound_audiences: ['authgate'] } },
      },
    }),
  });
  harnesses.push(h);
  return h;
};

describe('a jwt mount’s key set shared by replicas', () => {
  it('is fetched once for every replica, and never taken by a replica that reads another issuer', async () => {
    const store = createMemoryStore({ clock: systemClock, sweepIntervalMs: 0 });
    const serverKey = randomBytes(32);
    const one = await startIssuer();
    const a = await replica(store, serverKey, one.server);
    const b = await replica(store, serverKey, one.server);

    expect((await a.login('ci', { role: 'job', jwt: await one.sign() })).status).toBe(200);
    const fetched = one.server.paths.filter((p) => p === '/keys').length;
    expect(fetched).toBeGreaterThan(0);
    expect((await b.login('ci', { role: 'job', jwt: await one.sign() })).status).toBe(200);
    expect(one.server.paths.filter((p) => p === '/keys')).toHaveLength(fetched);

    // The same mount path, another issuer: its own set, and the first issuer's tokens refused.
    const two = await startIssuer();
    const c = await replica(store, serverKey, two.server);
    expect((await c.login('ci', { role: 'job', jwt: await one.sign() })).status).toBe(400);
    expect((await c.login('ci', { role: 'job', jwt: await two.sign() })).status).toBe(200);
    expect(two.server.paths.filter((p) => p === '/keys').length).toBeGreaterThan(0);
  });
});
