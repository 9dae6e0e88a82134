import { describe, expect, it } from 'vitest';
import { loginDenied, unavailable } from '../errors.js';
import { issueInput, rejection, setup } from '../tokens/test-support.js';
import type { IdentitySelector } from '../verify/index.js';
import { createRevocationService } from './revocation-service.js';

describe('revocation by pod', () => {
  it('leaves no token of the pod alive, even one whose login lands while the index is read', async () => {
    const { store, tokens } = setup();
    // What the pod's verifier holds: a review of its token, reused by the next login until dropped.
    const reviewed = new Set(['pod-1']);
    const login = async () => {
      if (!reviewed.has('pod-1')) throw loginDenied('permission denied', 'tokenreview_invalidated');
      return tokens.issue(issueInput({ indexes: [{ kind: 'pod', value: 'pod-1' }] }));
    };
    const issued = [await login()];
    // A login that lands just after the revocation has read the pod's index.
    const indexMembers = store.indexMembers.bind(store);
    let racing: Promise<unknown> | undefined;
    store.indexMembers = async (key) => {
      const members = await indexMembers(key);
      racing ??= login().then(
        (t) => issued.push(t),
        () => undefined,
      );
      await racing;
      return members;
    };
    const revocation = createRevocationService({
      tokens,
      caches: [
        {
          invalidate: async (sel: IdentitySelector) => Number('podUid' in sel && reviewed.delete(sel.podUid)),
        },
      ],
    });

    expect(await revocation.revoke({ podUid: 'pod-1' })).toEqual({ revokedTokens: 1, invalidatedReviews: 1 });
    for (const { clientToken } of issued) {
      const err = await rejection(tokens.authenticate(clientToken, { remoteAddress: undefined }));
      expect(err).toMatchObject({ code: 'PERMISSION_DENIED' });
    }
  });

  it('revokes the tokens even when the cached verifications cannot be dropped, and says so (503)', async () => {
    const { tokens } = setup();
    const { clientToken } = await tokens.issue(issueInput({ indexes: [{ kind: 'pod', value: 'pod-1' }] }));
    const down = unavailable('verification cache unavailable', 'cache_unavailable');
    const revocation = createRevocationService({
      tokens,
      caches: [{ invalidate: () => Promise.reject(down) }],
    });

    expect(await rejection(revocation.revoke({ podUid: 'pod-1' }))).toBe(down);
    const err = await rejection(tokens.authenticate(clientToken, { remoteAddress: undefined }));
    expect(err).toMatchObject({ code: 'PERMISSION_DENIED' });
  });
});
