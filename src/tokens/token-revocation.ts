import { badRequest } from '../errors.js';
import type { RevocationIndex, TokenRecord } from './record.js';
import { BATCH_PREFIX } from './batch-token.js';
import { BATCH_MAX_LIFE_SECONDS, guard, TOKEN_FORMAT, type TokenStorage } from './token-storage.js';
import type { TokenServiceDeps } from './types.js';

/**
 * How many times revokeByIndex reads its index: again while the last read named tokens it had not
 * seen, up to this. Logins refused from the revocation on (their cached verifications dropped),
 * what joins later is a login that was already in flight.
 */
const MAX_PASSES = 3;

/** Revocation and accessor operations of the token service (see createTokenService). */
export const createTokenRevocation = (
  storage: TokenStorage,
  deps: Pick<TokenServiceDeps, 'store' | 'keys' | 'clock'>,
) => {
  const { store, keys, clock } = deps;
  const { hmac, isLive, read, find, withUsesLeft, byAccessor, deleteEntries } = storage;
  // A revocation is answered once the replicas the store confirms with hold it: one that only the
  // master held would be undone by a failover, and the token would work again.
  // `since`, taken before the operation's first write: a confirmation on another connection than
  // the one the writes went through confirms nothing (see Store.writeEpoch).
  const confirmed = (since: number | undefined) =>
    guard(store.confirmReplicated?.(since) ?? Promise.resolve());
  /** Vault's revokeCommon and handleRevokeOrphan for a batch token (400). */
  const batchRefused = () => badRequest('batch tokens cannot be revoked', 'token_batch');
  /**
   * A live batch token cannot be revoked one by one (Vault's 400); one that is not live (expired,
   * revoked through its indexes, not sealed by this server) is a no-op, as an unknown service token is.
   */
  const refuseBatch = async (token: string): Promise<void> => {
    if ((await find(token)) !== undefined) throw batchRefused();
  };

  /**
   * Revokes a token (revoke-self, and auth/token/revoke for a token an operator names):
   * deletes its record, use counter and accessor index. Vault revokes the token's children
   * too; authgate's tokens are all orphans (issued by a login), so there are none. Idempotent:
   * an unknown, expired or malformed token is a no-op, as in Vault (handleRevokeTree answers
   * 204 for a token it does not find). A live batch token is refused with Vault's 400 `batch
   * tokens cannot be revoked`: nothing of it is stored to delete.
   *
   * @throws AuthgateError UNAVAILABLE when the store is down.
   */
  const revoke = async (token: string): Promise<void> => {
    const since = store.writeEpoch?.();
    if (typeof token === 'string' && token.startsWith(BATCH_PREFIX)) {
      await refuseBatch(token);
      return;
    }
    if (typeof token !== 'string' || !TOKEN_FORMAT.test(token)) return;
    const tokenHmac = hmac(token);
    // A record tampered with is deleted too, but the accessor it names is not believed: its
    // index expires with its TTL.
    const record = (await read(tokenHmac))?.record;
    await deleteEntries(tokenHmac, record === undefined ? undefined : hmac(record.accessor));
    await confirmed(since);
  };

  return {
    revoke,

    /**
     * Undoes the issue of a token that was never handed out (the audit of its login or creation
     * failed): {@link revoke} for a service token; nothing for a batch token, which is stored
     * nowhere and, never handed out, is held by nobody.
     */
    withdraw: async (token: string): Promise<void> => {
      if (!token.startsWith(BATCH_PREFIX)) await revoke(token);
    },

    /**
     * Vault's `auth/token/revoke-orphan`: revokes the token and orphans its children. authgate's
     * tokens have none (a login issues them), so this is {@link revoke}, except that a token that
     * is not live is refused, as Vault's handleRevokeOrphan refuses it.
     *
     * @throws AuthgateError BAD_REQUEST `token to revoke not found` (Vault's message): unknown,
     *   malformed, expired or revoked.
     * @throws AuthgateError UNAVAILABLE when the store is down or its replicas do not confirm (a
     *   well-formed token not found included).
     */
    revokeOrphan: async (token: string): Promise<void> => {
      const since = store.writeEpoch?.();
      const found = await find(token);
      if (found === undefined) {
        // Maybe revoked by a call whose confirmation failed, repeated as its 503 asks: "not found"
        // is answered only once the replicas hold that too (a malformed token was never there).
        if (typeof token === 'string' && TOKEN_FORMAT.test(token)) await confirmed(since);
        throw badRequest('token to revoke not found', 'token_not_found');
      }
      if (found.tokenHmac === undefined) throw batchRefused();
      await deleteEntries(found.tokenHmac, hmac(found.record.accessor));
      await confirmed(since);
    },

    /**
     * The live record of the token behind an accessor (lookup-accessor), without consuming a
     * use; `numUses` = uses left. Shape it with `lookupResponseData(record, nowMs, '')`.
     *
     * @throws AuthgateError BAD_REQUEST `missing accessor` (empty) or `invalid accessor` (no live
     *   token), Vault's messages.
     */
    lookupAccessor: async (accessor: string): Promise<TokenRecord> => {
      const target = await byAccessor(accessor);
      const { record } = target ?? {};
      const found =
        target === undefined || record === undefined || !isLive(record)
          ? undefined
          : await withUsesLeft(target.tokenHmac, record);
      if (found === undefined) throw badRequest('invalid accessor', 'accessor_invalid');
      return found;
    },

    /**
     * Revokes the token behind an accessor: deletes its record, use counter and accessor index.
     * As Vault's revoke-accessor, an unknown accessor is not an error: it answers with the
     * warning `No token found with this accessor`.
     *
     * An index that names a token whose record holds another accessor was pointed there by
     * someone else: it is taken as no index (the warning), and that token is left alone.
     *
     * @returns the warnings for the response envelope (empty after a revocation).
     * @throws AuthgateError BAD_REQUEST `missing accessor` (empty), or `token not found` when the
     *   index outlived its token (the leftovers are deleted first); UNAVAILABLE when the store is
     *   down or its replicas do not confirm (an unknown accessor included: see the comment there).
     */
    revokeAccessor: async (accessor: string): Promise<{ warnings: string[] }> => {
      const since = store.writeEpoch?.();
      // An index pointed at another token's record is no index: that token is left alone.
      const target = await byAccessor(accessor);
      if (target === undefined) {
        // Maybe revoked by a call whose confirmation failed (a 503 says to repeat it): "none
        // found" is answered only once the replicas hold that too.
        await confirmed(since);
        return { warnings: ['No token found with this accessor'] };
      }
      // Delete before judging the record, so that even one tampered with is revoked.
      await deleteEntries(target.tokenHmac, hmac(accessor));
      await confirmed(since);
      if (target.record === undefined || !isLive(target.record)) {
        throw badRequest('token not found', 'token_not_found');
      }
      return { warnings: [] };
    },

    /**
     * Revokes every live token listed in a revocation index (all tokens of a role, a service
     * account or a pod), then drops them from the index. Reads the index once: an operator
     * action, never on a request's hot path. Tokens listed in the index's legacy form (a plain set
     * written before indexes expired member by member) are revoked too, until those sets lapse.
     *
     * Batch tokens, stored nowhere, are reached through the index's mark (`keys.batchRevoked`),
     * written first: every use of a batch token of the index issued until now is refused.
     *
     * @returns how many live service tokens were revoked (the batch tokens reached are not known).
     * @throws AuthgateError UNAVAILABLE when the store is down.
     */
    revokeByIndex: async (index: RevocationIndex): Promise<number> => {
      const since = store.writeEpoch?.();
      // Batch tokens first: they are listed nowhere, so the index's mark is what refuses every one
      // issued until now. Kept as long as a batch token can live. Only ever raised: a later
      // revocation from a replica whose clock is behind, or two whose writes cross, must not move
      // the mark back and let tokens the first one refused be used again.
      await guard(
        store.raiseTo(keys.batchRevoked(index.kind, index.value), clock.nowMs(), {
          ttlMs: BATCH_MAX_LIFE_SECONDS * 1000,
        }),
      );
      const indexKey = keys.index(index.kind, index.value);
      const legacyKey = keys.legacyIndex(index.kind, index.value);
      const seen = new Set<string>();
      let revoked = 0;
      // The index is read again once its tokens are revoked, and what joined it meanwhile revoked
      // too: a login that had passed its checks when the revocation began lists its token a moment
      // later, while the first pass is still at work.
      for (let pass = 0; pass < MAX_PASSES; pass++) {
        const [members, legacyMembers] = await guard(
          Promise.all([store.indexMembers(indexKey), store.setMembers(legacyKey)]),
        );
        const fresh = [...new Set([...members, ...legacyMembers])].filter((m) => !seen.has(m));
        if (fresh.length === 0) break;
        const deleted = new Set<string>();
        for (const tokenHmac of fresh) {
          seen.add(tokenHmac);
          const stored = await read(tokenHmac);
          // No record: expired, revoked, or a login still writing it (where a batch is not atomic,
          // the indexes are written before the record). Left listed: it expires on its own, and a
          // token whose record lands now is found by the next revocation.
          if (stored === undefined) continue;
          // A record tampered with is deleted all the same; the accessor it names is not believed.
          const { record } = stored;
          if (record !== undefined && isLive(record)) revoked++;
          await deleteEntries(tokenHmac, record === undefined ? undefined : hmac(record.accessor));
          deleted.add(tokenHmac);
        }
        // Only the members revoked here: a login that joined the index meanwhile stays listed, so
        // the next pass or revocation finds it (deleting the whole index let such a token escape).
        const gone = (list: string[]) => list.filter((m) => deleted.has(m));
        if (gone(members).length > 0) await guard(store.indexRemove(indexKey, gone(members)));
        if (gone(legacyMembers).length > 0) await guard(store.setRemove(legacyKey, gone(legacyMembers)));
      }
      // Confirmed even when nothing was listed: a repeat of a revocation whose confirmation failed
      // finds nothing left, and must not be answered before the replicas hold the first.
      await confirmed(since);
      return revoked;
    },
  };
};
