import { badRequest, invalidToken, type AuthgateError } from '../errors.js';
import { REVOCATION_PENDING } from './record.js';
import type { TokenRecord } from './record.js';
import { calculateTtl } from './ttl.js';
import { guard, type TokenStorage } from './token-storage.js';
import type {
  RenewOptions,
  RenewRefresh,
  RenewResult,
  TargetRenewOptions,
  TokenServiceDeps,
} from './types.js';
import { authBlock } from './vault-shapes.js';
import { isTokenStoreRecord } from './token-create.js';
import { assertCount, assertMount, placeLease } from './lease.js';

/** Vault's handleRenew when the named token is not live (400). */
const notFound = (): AuthgateError => badRequest('token not found', 'token_not_found');

/**
 * A found token that has stored state to renew. A batch token has none: refused as Vault's
 * expiration manager refuses it (400 `batch tokens cannot be renewed`).
 */
const renewable = (found: { tokenHmac: string | undefined; record: TokenRecord }) => {
  const { tokenHmac, record } = found;
  if (tokenHmac === undefined) throw badRequest('batch tokens cannot be renewed', 'token_batch');
  return { tokenHmac, record };
};

/** Renewal operations of the token service (see createTokenService). */
export const createTokenRenewal = (
  storage: TokenStorage,
  deps: Pick<TokenServiceDeps, 'store' | 'keys' | 'clock'>,
) => {
  const { store, keys, clock } = deps;
  const { hmac, seal, indexOps, check, find, isLive, byAccessor } = storage;

  /** The increment of a renewal: caller misuse (a bad one is the route's 400) is a TypeError. */
  const incrementOf = (options: TargetRenewOptions): number => {
    const incrementSeconds = options.incrementSeconds ?? 0;
    assertCount('incrementSeconds', incrementSeconds);
    return incrementSeconds;
  };

  /**
   * Extends a live token's lease, whoever asked: the TTL recomputed from the issue time with
   * CalculateTTL, the role's settings re-read through `refresh` when given (the explicit max TTL
   * is never re-read), a periodic token given its period again whatever the increment. The write
   * only updates an existing record, so a concurrent revoke wins, and the renewal then fails with
   * `gone()`.
   *
   * @param clientToken what the answer's `auth.client_token` says: the token, or `""` when the
   *   request named it by accessor (Vault's renew-accessor blanks it).
   */
  const extend = async (
    target: { tokenHmac: string; record: TokenRecord },
    clientToken: string,
    incrementSeconds: number,
    refresh: RenewRefresh | undefined,
    gone: () => AuthgateError,
  ): Promise<RenewResult> => {
    const { tokenHmac, record } = target;
    // Vault's leaseEntry.renewable(), checked before anything is re-read.
    if (record.renewable === false) throw badRequest('lease is not renewable', 'token_not_renewable');
    // A token of the token store has no role: it renews by its own period and explicit max TTL,
    // as Vault's authRenew does for a token without a role, and by the TTL granted last (at
    // creation or by the last renewal): Vault's RenewToken keeps each renewal's TTL in the lease's
    // auth (`le.Auth = resp.Auth`), which the next renewal without an increment starts from.
    const tokenStore = isTokenStoreRecord(record);
    const role: Awaited<ReturnType<RenewRefresh>> =
      refresh === undefined || tokenStore
        ? {
            ttlSeconds: record.ttlSeconds,
            maxTtlSeconds: record.maxTtlSeconds,
            periodSeconds: record.periodSeconds,
          }
        : await refresh(record);
    assertCount('ttlSeconds', role.ttlSeconds);
    assertCount('maxTtlSeconds', role.maxTtlSeconds);
    assertCount('periodSeconds', role.periodSeconds);
    const mount = role.mount ?? record.mount;
    assertMount(mount);

    const nowMs = clock.nowMs();
    const calc = calculateTtl({
      incrementSeconds,
      backendTtlSeconds: tokenStore ? record.leaseTtlSeconds : role.ttlSeconds,
      periodSeconds: role.periodSeconds,
      backendMaxTtlSeconds: role.maxTtlSeconds,
      explicitMaxTtlSeconds: record.explicitMaxTtlSeconds,
      mount,
      startMs: record.issueTimeMs,
      nowMs,
    });
    const lease = placeLease(calc, nowMs, record.usesNotAfterMs);
    const next: TokenRecord = {
      ...record,
      ttlSeconds: role.ttlSeconds,
      maxTtlSeconds: role.maxTtlSeconds,
      periodSeconds: role.periodSeconds,
      mount: { ...mount },
      expireTimeMs: lease.expireTimeMs,
      leaseTtlSeconds: lease.leaseTtlSeconds,
      lastRenewalTimeMs: nowMs,
    };
    const ttlMs = lease.expireTimeMs - nowMs;
    // The record last, as at issue: where a batch is not atomic (Redis Cluster: one write after
    // another), a failure before it leaves the token as it was, never extended beyond what its
    // revocation indexes list.
    const results = await guard(
      store.batch([
        ...indexOps(next, tokenHmac, ttlMs),
        {
          op: 'set',
          key: keys.accessor(hmac(record.accessor)),
          value: tokenHmac,
          options: { ttlMs, mode: 'if-present' },
        },
        {
          op: 'set',
          key: keys.token(tokenHmac),
          value: seal(tokenHmac, next),
          options: { ttlMs, mode: 'if-present' },
        },
      ]),
    );
    if (results[results.length - 1] !== true) throw gone();
    // `num_uses` as issued (the stored record's): Vault answers a renewal with the auth of the
    // login's lease, whose count never changes; the uses left are lookup-self's.
    return { auth: authBlock(next, clientToken), warnings: lease.warnings, displayName: record.displayName };
  };

  return {
    /**
     * Renews the request's own token (Vault's renew-self). Renewal is a request made with the
     * token, so it first runs authenticate's check (bound CIDRs against `remoteAddress`, one
     * use), unless the caller did and passes `usesLeft`; then as {@link extend}. A renewal that
     * takes the last use revokes the token and is refused as Vault refuses it: 400
     * `token not found`.
     *
     * @returns the Vault `auth` block of the renew-self response (`num_uses` as issued, as
     *   Vault's), and Vault's capping warnings (`TTL of "…" exceeded the effective max_ttl of
     *   "…"; TTL value is capped accordingly`), which Vault returns with a renewal as with a login.
     * @throws AuthgateError PERMISSION_DENIED `token_invalid` / `token_cidr` as authenticate, or
     *   `token_invalid` when the token was revoked during the renewal.
     * @throws AuthgateError BAD_REQUEST `past the max TTL, cannot renew` when start + max TTL has
     *   passed (e.g. the role's max TTL was lowered); the token keeps its current expiry.
     * @throws whatever `refresh` throws (a deleted role); the token is left unchanged.
     * @throws TypeError when `incrementSeconds` or the refreshed values are not non-negative
     *   integers.
     */
    renew: async (token: string, options: RenewOptions): Promise<RenewResult> => {
      const incrementSeconds = incrementOf(options);
      // The renewal was the token's last use: it is already revoked, so nothing is extended.
      // Vault's handleRenewSelf looks the token up after the use is spent, and a token pending
      // revocation is not found: 400 `token not found`.
      const usedUp = () => badRequest('token not found', 'token_used_up');
      if (options.usesLeft === REVOCATION_PENDING) throw usedUp();
      const found =
        options.usesLeft === undefined
          ? await check(token, options.remoteAddress)
          : { ...(await storage.inspect(token, options.remoteAddress)), numUses: options.usesLeft };
      if (found.numUses === REVOCATION_PENDING) throw usedUp();
      return extend(renewable(found), token, incrementSeconds, options.refresh, () =>
        invalidToken('revoked during renewal'),
      );
    },

    /**
     * Renews a token an operator names (Vault's `auth/token/renew`). The request is the
     * operator's, made with another token: the named token spends no use and its bound CIDRs are
     * not checked against the operator's address (Vault's handleRenew looks it up without
     * either). Otherwise as renew-self, and the answer carries the token back, as Vault's does.
     *
     * @throws AuthgateError BAD_REQUEST `token not found` (Vault's message) when the token is not
     *   live, or was revoked during the renewal; `past the max TTL, cannot renew` as renew.
     * @throws whatever `refresh` throws; TypeError as renew.
     */
    renewToken: async (token: string, options: TargetRenewOptions): Promise<RenewResult> => {
      const incrementSeconds = incrementOf(options);
      const found = await find(token);
      if (found === undefined) throw notFound();
      return extend(renewable(found), token, incrementSeconds, options.refresh, notFound);
    },

    /**
     * Renews the token behind an accessor (Vault's `auth/token/renew-accessor`), as
     * {@link renewToken}; the answer's `client_token` is `""`, as Vault's: the accessor's holder
     * does not learn the token.
     *
     * @throws AuthgateError BAD_REQUEST `missing accessor` (empty), `invalid accessor` (no index),
     *   `token not found` (an index that outlived its token), Vault's messages.
     */
    renewAccessor: async (accessor: string, options: TargetRenewOptions): Promise<RenewResult> => {
      const incrementSeconds = incrementOf(options);
      const target = await byAccessor(accessor);
      if (target === undefined) throw badRequest('invalid accessor', 'accessor_invalid');
      const { tokenHmac, record } = target;
      if (record === undefined || !isLive(record)) throw notFound();
      return extend({ tokenHmac, record }, '', incrementSeconds, options.refresh, notFound);
    },
  };
};
