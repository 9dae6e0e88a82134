import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../src/lib/clock.js';
import { createMemoryStore } from '../src/store/index.js';
import { startHarness, type Harness } from './helpers/harness.js';

// What replicas share to verify logins (TokenReview results, key sets) was proven against one
// cluster. Two gateways on one store and one server key whose mount of the same name trusts
// another cluster — a rolling update that repoints the mount, or the in-cluster
// `https://kubernetes.default.svc` of two clusters — must not take each other's proofs: both
// clusters here have the default issuer, so nothing in the token tells them apart.

const DENIED = { status: 403, json: { errors: ['permission denied'] } };

describe('verification state shared by gateways of two clusters over one store', () => {
  let a: Harness | undefined;
  let b: Harness | undefined;
  afterEach(async () => {
    await a?.close();
    await b?.close();
    a = b = undefined;
  });
  const start = async () => {
    const store = createMemoryStore({ clock: systemClock, sweepIntervalMs: 0 });
    const serverKey = randomBytes(32);
    a = await startHarness({ store, serverKey, sharedCaches: true });
    b = await startHarness({ store, serverKey, sharedCaches: true });
    expect(a.cluster.issuer).toBe(b.cluster.issuer);
    return { a, b };
  };

  it.each([
    ['kubernetes', 'A’s cached review'],
    ['jwks', 'the key set A fetched'],
  ])('does not let a token of cluster A in at B’s %s mount through %s', async (mount) => {
    const { a, b } = await start();
    const fromA = await a.podToken();
    expect((await a.login(mount, { role: 'nginx', jwt: fromA })).status).toBe(200);
    expect(await b.login(mount, { role: 'nginx', jwt: fromA })).toMatchObject(DENIED);
    expect((await b.login(mount, { role: 'nginx', jwt: await b.podToken() })).status).toBe(200);
  });
});
