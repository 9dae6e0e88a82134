import { decodeProtectedHeader } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type DevCluster, startDevCluster } from '../devcluster/index.js';
import { createFakeClock, type FakeClock } from '../lib/clock.js';
import { createJwksVerifier } from './jwks-verifier.js';
import { jwksMount, refusal, request, silent } from './test-fixtures.js';
import type { Verifier } from './verifier.js';

/* The jwks verifier against the simulator's own discovery document, JWKS and minted tokens. */
describe('createJwksVerifier against the simulator', () => {
  let clock: FakeClock;
  let cluster: DevCluster;
  let verifier: Verifier;

  beforeEach(async () => {
    clock = createFakeClock();
    cluster = await startDevCluster({ clock });
    cluster.createPod({ namespace: 'team-a', name: 'app-1', serviceAccount: 'app' });
    verifier = createJwksVerifier(
      jwksMount({ kind: 'oidc-discovery', url: cluster.url }, { issuers: [cluster.issuer] }),
      { clock, log: silent },
    );
  });
  afterEach(async () => {
    await verifier.close();
    await cluster.close();
  });

  const mint = async () =>
    (
      await cluster.mintToken({
        namespace: 'team-a',
        serviceAccount: 'app',
        audiences: ['vault'],
        pod: 'app-1',
      })
    ).token;

  it('verifies a minted token through discovery, and follows a key rotation', async () => {
    await expect(verifier.verify(request(await mint()))).resolves.toMatchObject({
      namespace: 'team-a',
      pod: { name: 'app-1' },
    });
    const before = await mint();
    await cluster.rotateKey('ES256');
    await expect(verifier.verify(request(await mint()))).resolves.toMatchObject({ namespace: 'team-a' });
    await expect(verifier.verify(request(before))).resolves.toMatchObject({ namespace: 'team-a' });
    expect(cluster.stats().byPath['/openid/v1/jwks']).toBe(2);
  });

  it('does not see a deleted pod (only TokenReview does)', async () => {
    const jwt = await mint();
    cluster.deletePod('team-a', 'app-1');
    await expect(verifier.verify(request(jwt))).resolves.toMatchObject({ namespace: 'team-a' });
  });

  it('refuses a token signed by a key the cluster has removed, once the set is refreshed', async () => {
    const signedByOld = await mint();
    await verifier.verify(request(await mint()));
    await cluster.rotateKey('RS256');
    cluster.removeKey(decodeProtectedHeader(signedByOld).kid as string);
    clock.advanceSeconds(600);
    // A token with the new kid makes the verifier refetch the set, which no longer has the old key.
    await expect(verifier.verify(request(await mint()))).resolves.toMatchObject({ namespace: 'team-a' });
    const err = await refusal(verifier.verify(request(signedByOld)));
    expect(err).toMatchObject({ code: 'PERMISSION_DENIED', reason: 'jwks_unknown_kid' });
  });
});
