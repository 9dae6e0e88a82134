import { exportJWK, exportSPKI, SignJWT } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FakeClock } from '../lib/clock.js';
import { createJwksVerifier } from './jwks-verifier.js';
import type { startJwksServer } from './test-fixtures.js';
import {
  b64,
  ISSUER,
  jwksMount,
  k8sClaims,
  makeKey,
  refusal,
  request,
  sign,
  silent,
  urlJwksFixture,
  type TestKey,
} from './test-fixtures.js';
import type { Verifier } from './verifier.js';

describe('createJwksVerifier', () => {
  let server: Awaited<ReturnType<typeof startJwksServer>>;
  let clock: FakeClock;
  let rsa: TestKey;
  let verifier: Verifier;

  let fixture: Awaited<ReturnType<typeof urlJwksFixture>>;

  beforeEach(async () => {
    fixture = await urlJwksFixture();
    ({ server, clock, rsa, verifier } = fixture);
  });
  afterEach(async () => {
    await fixture.close();
  });

  describe('signatures and algorithms', () => {
    it.each(['RS256', 'ES256', 'PS256'] as const)(
      'verifies a %s token and returns its identity',
      async (alg) => {
        const key = await makeKey(alg);
        server.state.keys = [key.jwk];
        const claims = k8sClaims(clock);
        const identity = await verifier.verify(request(await sign(key, claims)));
        expect(identity).toEqual({
          issuer: ISSUER,
          subject: 'system:serviceaccount:team-a:app',
          namespace: 'team-a',
          serviceAccount: { name: 'app', uid: 'sa-uid' },
          pod: { name: 'app-7d9f', uid: 'pod-uid' },
          node: { name: 'worker-1', uid: 'node-uid' },
          audiences: ['vault'],
          expiresAt: claims.exp,
          jti: claims.jti,
          legacy: false,
        });
      },
    );

    it('reports only the requested audience, and the token’s own list when none is requested', async () => {
      const jwt = await sign(rsa, k8sClaims(clock, { aud: ['vault', 'other'] }));
      expect((await verifier.verify(request(jwt, 'vault'))).audiences).toEqual(['vault']);
      expect((await verifier.verify(request(jwt, undefined))).audiences).toEqual(['vault', 'other']);
    });

    it('refuses a tampered payload as a bad signature', async () => {
      const jwt = await sign(rsa, k8sClaims(clock));
      const [h, , s] = jwt.split('.');
      const forged = `${h}.${b64(k8sClaims(clock, { sub: 'system:serviceaccount:kube-system:admin' }))}.${s}`;
      const err = await refusal(verifier.verify(request(forged)));
      expect(err).toMatchObject({
        code: 'PERMISSION_DENIED',
        reason: 'jwks_bad_signature',
        message: 'permission denied',
      });
    });

    it('refuses alg none', async () => {
      const jwt = `${b64({ alg: 'none', kid: rsa.kid })}.${b64(k8sClaims(clock))}.`;
      const err = await refusal(verifier.verify({ ...request(`${jwt}x`), jwt }));
      expect(err).toMatchObject({
        code: 'LOGIN_DENIED',
        reason: 'algorithm_not_allowed',
        message: 'invalid algorithm (alg) header parameter: token signed with unexpected algorithm',
      });
    });

    it('refuses an HS256 token "signed" with the RSA public key as the HMAC secret', async () => {
      const fetchesBefore = server.state.hits.jwks;
      const secret = new TextEncoder().encode(await exportSPKI(rsa.publicKey));
      const jwt = await new SignJWT(k8sClaims(clock))
        .setProtectedHeader({ alg: 'HS256', kid: rsa.kid })
        .sign(secret);
      const err = await refusal(verifier.verify(request(jwt)));
      expect(err).toMatchObject({ code: 'LOGIN_DENIED', reason: 'algorithm_not_allowed' });
      expect(server.state.hits.jwks).toBe(fetchesBefore); // refused before any key lookup
    });

    it('refuses an algorithm outside the mount’s allow-list, and accepts one inside it', async () => {
      const esOnly = createJwksVerifier(
        jwksMount({ kind: 'url', url: server.jwksUrl }, { allowedAlgorithms: ['ES256'] }),
        { clock, log: silent },
      );
      const es = await makeKey('ES256');
      server.state.keys = [rsa.jwk, es.jwk];
      const err = await refusal(esOnly.verify(request(await sign(rsa, k8sClaims(clock)))));
      expect(err.reason).toBe('algorithm_not_allowed');
      await expect(esOnly.verify(request(await sign(es, k8sClaims(clock))))).resolves.toMatchObject({
        namespace: 'team-a',
      });
    });

    it('tries every key of the algorithm when the token has no kid', async () => {
      const other = await makeKey('RS256');
      server.state.keys = [other.jwk, rsa.jwk];
      const jwt = await new SignJWT(k8sClaims(clock))
        .setProtectedHeader({ alg: 'RS256' })
        .sign(rsa.privateKey);
      await expect(verifier.verify(request(jwt))).resolves.toMatchObject({ namespace: 'team-a' });
    });

    it('refuses a key whose published alg differs from the token’s', async () => {
      server.state.keys = [{ ...rsa.jwk, alg: 'PS256' }];
      const err = await refusal(verifier.verify(request(await sign(rsa, k8sClaims(clock)))));
      expect(err).toMatchObject({ code: 'PERMISSION_DENIED', reason: 'jwks_no_matching_key' });
    });

    it('ignores a published member that carries a private key', async () => {
      const { d } = await exportJWK(rsa.privateKey);
      const other = await makeKey('ES256');
      server.state.keys = [{ ...rsa.jwk, d }, other.jwk];
      const err = await refusal(verifier.verify(request(await sign(rsa, k8sClaims(clock)))));
      expect(err).toMatchObject({ code: 'PERMISSION_DENIED', reason: 'jwks_unknown_kid' });
    });

    it('is UNAVAILABLE when the published set has no usable key', async () => {
      server.state.keys = [{ kty: 'oct', k: 'c2VjcmV0', kid: rsa.kid }];
      const err = await refusal(verifier.verify(request(await sign(rsa, k8sClaims(clock)))));
      expect(err).toMatchObject({ code: 'UNAVAILABLE', reason: 'jwks_unavailable' });
      expect(err.detail).toContain('no usable signing key');
    });
  });

  describe('claims', () => {
    const now = () => Math.floor(clock.nowMs() / 1000);

    it.each([
      ['exp 59 s ago (inside the 60 s leeway)', () => ({ exp: now() - 59 }), undefined],
      ['exp 60 s ago (Vault accepts the boundary)', () => ({ exp: now() - 60 }), undefined],
      ['exp 61 s ago', () => ({ exp: now() - 61 }), 'expired'],
      ['nbf 60 s ahead', () => ({ nbf: now() + 60 }), undefined],
      ['nbf 61 s ahead', () => ({ nbf: now() + 61 }), 'not_yet_valid'],
      ['iat 60 s ahead', () => ({ iat: now() + 60, nbf: undefined }), undefined],
      ['iat 61 s ahead', () => ({ iat: now() + 61, nbf: undefined }), 'issued_in_future'],
    ])('%s', async (_what, over, reason) => {
      const jwt = await sign(rsa, k8sClaims(clock, over()));
      if (reason === undefined) {
        await expect(verifier.verify(request(jwt))).resolves.toMatchObject({ namespace: 'team-a' });
      } else {
        const err = await refusal(verifier.verify(request(jwt)));
        expect(err).toMatchObject({ code: 'LOGIN_DENIED', reason });
      }
    });

    it('uses Vault’s messages for time claims', async () => {
      const expired = await refusal(
        verifier.verify(request(await sign(rsa, k8sClaims(clock, { exp: now() - 120 })))),
      );
      expect(expired.message).toBe('invalid expiration time (exp) claim: token is expired');
      const early = await refusal(
        verifier.verify(request(await sign(rsa, k8sClaims(clock, { nbf: now() + 120 })))),
      );
      expect(early.message).toBe('invalid not before (nbf) claim: token not yet valid');
      const future = await refusal(
        verifier.verify(request(await sign(rsa, k8sClaims(clock, { iat: now() + 120, nbf: undefined })))),
      );
      expect(future.message).toBe('invalid issued at (iat) claim: token issued in the future');
    });

    it('refuses a wrong issuer', async () => {
      const err = await refusal(
        verifier.verify(request(await sign(rsa, k8sClaims(clock, { iss: 'https://evil' })))),
      );
      expect(err).toMatchObject({
        code: 'LOGIN_DENIED',
        reason: 'issuer_mismatch',
        message: 'invalid issuer (iss) claim',
      });
    });

    it('refuses a token minted for another audience', async () => {
      const err = await refusal(
        verifier.verify(request(await sign(rsa, k8sClaims(clock, { aud: ['other'] })))),
      );
      expect(err).toMatchObject({
        code: 'LOGIN_DENIED',
        reason: 'audience_mismatch',
        message: 'invalid audience (aud) claim: audience claim does not match any expected audience',
      });
    });

    it('refuses a bound token without exp', async () => {
      const err = await refusal(
        verifier.verify(request(await sign(rsa, k8sClaims(clock, { exp: undefined })))),
      );
      expect(err).toMatchObject({ code: 'LOGIN_DENIED', reason: 'missing_exp' });
    });

    it('refuses a token whose sub does not name its service account', async () => {
      const jwt = await sign(rsa, k8sClaims(clock, { sub: 'system:serviceaccount:kube-system:admin' }));
      const err = await refusal(verifier.verify(request(jwt)));
      expect(err).toMatchObject({ code: 'PERMISSION_DENIED', reason: 'jwks_subject_mismatch' });
    });

    describe('legacy Secret tokens', () => {
      const legacyClaims = {
        iss: 'kubernetes/serviceaccount',
        'kubernetes.io/serviceaccount/namespace': 'team-a',
        'kubernetes.io/serviceaccount/secret.name': 'app-token-x1',
        'kubernetes.io/serviceaccount/service-account.name': 'app',
        'kubernetes.io/serviceaccount/service-account.uid': 'sa-uid',
        sub: 'system:serviceaccount:team-a:app',
      };
      const legacyVerifier = () =>
        createJwksVerifier(
          jwksMount({ kind: 'url', url: server.jwksUrl }, { issuers: [ISSUER, 'kubernetes/serviceaccount'] }),
          { clock, log: silent },
        );

      it('refuses one even without a required audience: it never expires and its Secret cannot be checked locally', async () => {
        const jwt = await sign(rsa, legacyClaims, { kid: '' });
        const err = await refusal(legacyVerifier().verify(request(jwt, undefined)));
        expect(err).toMatchObject({ code: 'LOGIN_DENIED', reason: 'legacy_token_needs_tokenreview' });
      });

      it('refuses one when an audience is required (it has no aud)', async () => {
        const jwt = await sign(rsa, legacyClaims, { kid: '' });
        const err = await refusal(legacyVerifier().verify(request(jwt, 'vault')));
        expect(err).toMatchObject({ code: 'LOGIN_DENIED', reason: 'audience_mismatch' });
      });
    });
  });

  describe('verified-result cache', () => {
    it('serves a verified token from the cache without a signature check, until the 60 s bound', async () => {
      const jwt = await sign(rsa, k8sClaims(clock));
      await verifier.verify(request(jwt));
      clock.advanceMs(60_000);
      await expect(verifier.verify(request(jwt))).resolves.toMatchObject({ namespace: 'team-a' });
      expect(verifier.stats()).toMatchObject({ cacheHits: 1, cacheMisses: 1 });
      clock.advanceMs(1);
      await expect(verifier.verify(request(jwt))).resolves.toMatchObject({ namespace: 'team-a' });
      expect(verifier.stats()).toMatchObject({ cacheHits: 1, cacheMisses: 2 });
    });

    it('bounds an entry by the token’s exp', async () => {
      const jwt = await sign(rsa, k8sClaims(clock, { exp: Math.floor(clock.nowMs() / 1000) + 10 }));
      await verifier.verify(request(jwt));
      clock.advanceMs(9000);
      await verifier.verify(request(jwt));
      expect(verifier.stats()).toMatchObject({ cacheHits: 1, cacheMisses: 1 });
      clock.advanceMs(2000);
      await verifier.verify(request(jwt)); // past exp but inside the leeway: verified again
      expect(verifier.stats()).toMatchObject({ cacheHits: 1, cacheMisses: 2 });
    });

    it('keys entries by audience', async () => {
      const jwt = await sign(rsa, k8sClaims(clock));
      await verifier.verify(request(jwt, 'vault'));
      const err = await refusal(verifier.verify(request(jwt, 'other')));
      expect(err.reason).toBe('audience_mismatch');
    });
  });
});
