import { describe, expect, it } from 'vitest';
import { API, errorOf, review, useReviewCluster } from './test-support.js';

/* The simulator's TokenReview of legacy Secret tokens, and its 1.19-era wording. */

const env = useReviewCluster();
const start = env.start;

describe('legacy Secret tokens in TokenReview', () => {
  it('accepts a legacy token for the API audience and refuses it for "vault"', async () => {
    const c = await start();
    const sa = c.createServiceAccount('ns', 'sa');
    const token = await c.mintLegacyToken('ns', 'sa', 'sa-token-abcde');
    const ok = await review(c, token);
    expect(ok).toEqual({
      authenticated: true,
      user: {
        username: 'system:serviceaccount:ns:sa',
        uid: sa.uid,
        groups: ['system:serviceaccounts', 'system:serviceaccounts:ns', 'system:authenticated'],
      },
      audiences: [API],
    });
    expect(await errorOf(c, token, ['vault'])).toBe(
      `[invalid bearer token, token audiences ["${API}"] is invalid for the target audiences ["vault"]]`,
    );
  });

  it('refuses a legacy token whose Secret is gone or holds another token', async () => {
    const c = await start();
    c.createServiceAccount('ns', 'sa');
    const first = await c.mintLegacyToken('ns', 'sa', 'tok');
    // Legacy tokens have no iat or jti: only another key makes the controller's next token differ.
    await c.rotateKey();
    expect(await c.mintLegacyToken('ns', 'sa', 'tok')).not.toBe(first);
    expect(await errorOf(c, first)).toBe("[invalid bearer token, Token does not match server's copy]");
    c.deleteSecret('ns', 'tok');
    expect(await errorOf(c, first)).toBe('[invalid bearer token, Token has been invalidated]');
  });

  it('refuses a legacy token whose Secret the token cleaner marked invalid, until the label goes', async () => {
    const c = await start();
    c.createServiceAccount('ns', 'sa');
    const token = await c.mintLegacyToken('ns', 'sa', 'tok');
    expect((await review(c, token)).authenticated).toBe(true);
    c.labelSecret('ns', 'tok', { 'kubernetes.io/legacy-token-invalid-since': '2024-04-01' });
    expect(await errorOf(c, token)).toBe(
      "[invalid bearer token, the token in secret ns/tok for service account ns/sa has been marked invalid. Use tokens from the TokenRequest API or manually created secret-based tokens, or remove the 'kubernetes.io/legacy-token-invalid-since' label from the secret to temporarily allow use of this token]",
    );
    c.labelSecret('ns', 'tok', { 'kubernetes.io/legacy-token-invalid-since': null });
    expect((await review(c, token)).authenticated).toBe(true);
    expect(() => c.labelSecret('ns', 'gone', { a: 'b' })).toThrow(/not found/);
  });
});

describe('1.19-era wording', () => {
  it('uses the old strings and tries every key whatever the kid', async () => {
    const c = await start({ wording: 'legacy' });
    const pod = c.createPod({ namespace: 'ns', name: 'p', serviceAccount: 'sa' });
    const { token: expiring } = await c.mintToken({
      namespace: 'ns',
      serviceAccount: 'sa',
      expirationSeconds: 600,
    });
    const { token: bound } = await c.mintToken({ namespace: 'ns', serviceAccount: 'sa', pod: 'p' });
    const { kid } = await c.rotateKey();
    const { token: orphan } = await c.mintToken({ namespace: 'ns', serviceAccount: 'sa' });
    c.removeKey(kid);
    expect(await errorOf(c, orphan)).toBe(
      '[invalid bearer token, square/go-jose: error in cryptographic primitive]',
    );
    c.deletePod('ns', 'p');
    const again = c.createPod({ namespace: 'ns', name: 'p', serviceAccount: 'sa' });
    expect(await errorOf(c, bound)).toBe(
      `[invalid bearer token, Pod UID (${again.uid}) does not match claim (${pod.uid})]`,
    );
    c.deletePod('ns', 'p');
    expect(await errorOf(c, bound)).toBe('[invalid bearer token, Token has been invalidated]');
    env.clock().advanceSeconds(661);
    expect(await errorOf(c, expiring)).toBe('[invalid bearer token, Token has expired.]');
  });

  it('knows no legacy-token-invalid-since label (it came with 1.29)', async () => {
    const c = await start({ wording: 'legacy' });
    c.createServiceAccount('ns', 'sa');
    const token = await c.mintLegacyToken('ns', 'sa', 'tok');
    c.labelSecret('ns', 'tok', { 'kubernetes.io/legacy-token-invalid-since': '2024-04-01' });
    expect((await review(c, token)).authenticated).toBe(true);
  });
});
