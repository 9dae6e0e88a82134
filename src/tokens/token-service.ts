import { randomBytes as cryptoRandomBytes } from 'node:crypto';
import { AuthgateError, badRequest, permissionDenied, unavailable } from '../errors.js';
import { createCidrSet } from '../lib/cidr.js';
import { hmacB64 } from '../lib/hash.js';
import { StoreUnavailableError, type BatchOp } from '../store/index.js';
import { assertCount, assertMount, placeLease } from './lease.js';
import { REVOCATION_PENDING, parseRecord, serializeRecord } from './record.js';
import type { RevocationIndex, TokenRecord } from './record.js';
import { calculateTtl } from './ttl.js';
import type { IssueInput, IssuedToken, RenewOptions, RenewRefresh, TokenServiceDeps } from './types.js';
import { authBlock, lookupResponseData } from './vault-shapes.js';
import type { AuthBlock } from './vault-shapes.js';

const TOKEN_PREFIX = 'ags.';
/** 32 random bytes (256 bits) encode to 43 base64url characters. */
const TOKEN_BYTES = 32;
const TOKEN_FORMAT = /^ags\.[A-Za-z0-9_-]{43}$/;
/** 18 random bytes encode to exactly 24 base64url characters (144 bits). */
const ACCESSOR_BYTES = 18;

/** Fail closed with a 503 when the store is down; any other error is a bug and propagates. */
const guard = async <T>(pending: Promise<T>): Promise<T> => {
  try {
    return await pending;
  } catch (err) {
    if (err instanceof StoreUnavailableError) {
      throw unavailable('token store unavailable', 'token_store_unavailable', err);
    }
    throw err;
  }
};

/**
 * The client-token service: issues Vault-style service tokens and checks, renews and revokes
 * them. A token is stored only under HMAC-SHA256(server key, token), with an accessor index under
 * HMAC(server key, accessor) and, for use-limited tokens, an atomic counter of uses left; every
 * entry carries a store TTL, so expired tokens leave the store by themselves.
 *
 * Every method rejects with AuthgateError UNAVAILABLE (503) when the store is unreachable:
 * security state fails closed.
 *
 * @throws TypeError when `serverKey` is shorter than 32 bytes.
 */
export const createTokenService = (deps: TokenServiceDeps) => {
  const { store, keys, clock, serverKey } = deps;
  const randomBytes = deps.randomBytes ?? cryptoRandomBytes;
  if (!Buffer.isBuffer(serverKey) || serverKey.length < 32) {
    throw new TypeError('serverKey must be a Buffer of at least 32 bytes');
  }

  // Lookups go through HMAC-SHA256(serverKey, ·): the store matches HMACs, never the secret, and
  // a caller cannot steer HMAC bytes to probe a prefix, so no constant-time compare is needed.
  const hmac = (value: string): string => hmacB64(serverKey, value);

  const isLive = (record: TokenRecord): boolean => record.expireTimeMs > clock.nowMs();

  /** The live record under a token HMAC, or undefined (absent, expired). */
  const load = async (tokenHmac: string): Promise<TokenRecord | undefined> => {
    const raw = await guard(store.get(keys.token(tokenHmac)));
    if (raw === undefined) return undefined;
    const record = parseRecord(raw);
    // The record's own expiry is authoritative: a store TTL can lag (Redis rounding, a replica's
    // clock ahead of the store's), and a token must be dead at its expire_time on every replica.
    return isLive(record) ? record : undefined;
  };

  /** The token's HMAC and live record, or undefined. Malformed input never reaches the store. */
  const find = async (token: string) => {
    if (typeof token !== 'string' || !TOKEN_FORMAT.test(token)) return undefined;
    const tokenHmac = hmac(token);
    const record = await load(tokenHmac);
    return record === undefined ? undefined : { tokenHmac, record };
  };

  /** Uses left without consuming one: 0 = unlimited, REVOCATION_PENDING once none are left. */
  const usesLeft = async (tokenHmac: string, record: TokenRecord): Promise<number> => {
    if (record.numUses === 0) return 0;
    const raw = await guard(store.get(keys.tokenUses(tokenHmac)));
    const left = raw === undefined ? 0 : Number(raw);
    return left > 0 ? left : REVOCATION_PENDING;
  };

  /** Adds the token to its revocation indexes, each kept at least as long as the token. */
  const indexOps = (record: TokenRecord, tokenHmac: string, ttlMs: number): BatchOp[] =>
    (record.indexes ?? []).map((i) => ({
      op: 'setAdd',
      key: keys.index(i.kind, i.value),
      members: [tokenHmac],
      ttlMs,
    }));

  /** Deletes the record first (that is what invalidates the token), then counter and index. */
  const deleteEntries = async (tokenHmac: string, accessorHmac: string | undefined) => {
    const doomed = [keys.token(tokenHmac), keys.tokenUses(tokenHmac)];
    if (accessorHmac !== undefined) doomed.push(keys.accessor(accessorHmac));
    await guard(store.delete(...doomed));
  };

  /**
   * The per-request check: live token, bound CIDRs, then one use. Returns the stored record and
   * the uses left (0 = unlimited, REVOCATION_PENDING when this request took the last one).
   */
  const check = async (token: string, remoteAddress: string | undefined) => {
    const found = await find(token);
    if (found === undefined) throw permissionDenied('token_invalid');
    const { tokenHmac, record } = found;
    if (record.boundCidrs.length > 0) {
      // As Vault: a CIDR-bound token from an unknown address is refused.
      const allowed = remoteAddress !== undefined && createCidrSet(record.boundCidrs).contains(remoteAddress);
      if (!allowed) throw permissionDenied('token_cidr');
    }
    if (record.numUses === 0) return { tokenHmac, record, numUses: 0 };

    // Counting down fails closed: a counter lost or deleted by a concurrent revoke restarts at
    // 0 and goes negative, whereas counting up would hand out a fresh set of uses.
    const left = await guard(
      store.incrBy(keys.tokenUses(tokenHmac), -1, {
        ttlMs: Math.max(1, record.expireTimeMs - clock.nowMs()),
      }),
    );
    if (left < 0) throw permissionDenied('token_invalid', 'no uses left');
    if (left > 0) return { tokenHmac, record, numUses: left };
    await deleteEntries(tokenHmac, hmac(record.accessor));
    return { tokenHmac, record, numUses: REVOCATION_PENDING };
  };

  return {
    /** {@link lookupResponseData}, on the service for routes that hold only the service. */
    lookupResponseData,
    /** {@link authBlock}, on the service for routes that hold only the service. */
    authBlock,

    /**
     * Issues a service token: `ags.` + 256 random bits (base64url), and a 24-character accessor.
     * The TTL follows Vault's CalculateTTL at login (role TTL, else mount default; capped by the
     * role max, the mount max and the explicit max; periodic tokens get their period).
     *
     * A use-limited token's life is bounded by its use counter: start + max TTL, or for a
     * periodic token start + explicit max TTL, else start + the mount's max lease TTL.
     *
     * @throws TypeError on caller misuse: negative or fractional durations or uses, mount TTLs
     *   of 0, an invalid CIDR.
     * @throws AuthgateError UNAVAILABLE when the store is down.
     */
    issue: async (input: IssueInput): Promise<IssuedToken> => {
      assertCount('ttlSeconds', input.ttlSeconds);
      assertCount('maxTtlSeconds', input.maxTtlSeconds);
      assertCount('explicitMaxTtlSeconds', input.explicitMaxTtlSeconds);
      assertCount('periodSeconds', input.periodSeconds);
      assertCount('numUses', input.numUses);
      assertMount(input.mount);
      createCidrSet(input.boundCidrs); // throws TypeError on an invalid CIDR

      const nowMs = clock.nowMs();
      const calc = calculateTtl({
        incrementSeconds: 0,
        backendTtlSeconds: input.ttlSeconds,
        periodSeconds: input.periodSeconds,
        backendMaxTtlSeconds: input.maxTtlSeconds,
        explicitMaxTtlSeconds: input.explicitMaxTtlSeconds,
        mount: input.mount,
        startMs: nowMs,
        nowMs,
      });
      const usesNotAfterMs =
        input.numUses === 0
          ? null
          : (calc.notAfterMs ?? (Math.floor(nowMs / 1000) + input.mount.maxLeaseTtlSeconds) * 1000);
      const lease = placeLease(calc, nowMs, usesNotAfterMs);

      const clientToken = TOKEN_PREFIX + randomBytes(TOKEN_BYTES).toString('base64url');
      const accessor = randomBytes(ACCESSOR_BYTES).toString('base64url');
      const tokenHmac = hmac(clientToken);
      const record: TokenRecord = {
        v: 1,
        accessor,
        policies: [...input.policies],
        metadata: { ...input.metadata },
        displayName: input.displayName,
        path: input.path,
        entityId: input.entityId,
        role: input.role,
        mountPath: input.mountPath,
        boundCidrs: [...input.boundCidrs],
        issueTimeMs: nowMs,
        expireTimeMs: lease.expireTimeMs,
        lastRenewalTimeMs: null,
        creationTtlSeconds: lease.leaseTtlSeconds,
        leaseTtlSeconds: lease.leaseTtlSeconds,
        ttlSeconds: input.ttlSeconds,
        maxTtlSeconds: input.maxTtlSeconds,
        explicitMaxTtlSeconds: input.explicitMaxTtlSeconds,
        periodSeconds: input.periodSeconds,
        numUses: input.numUses,
        usesNotAfterMs,
        mount: { ...input.mount },
        ...(input.indexes && input.indexes.length > 0
          ? { indexes: input.indexes.map((i) => ({ ...i })) }
          : {}),
      };

      // One round trip (MULTI on Redis). The record is written last: should a backend apply the
      // batch key by key (Redis Cluster), a failure half-way leaves only unreachable entries that
      // expire with their TTL.
      const ttlMs = lease.expireTimeMs - nowMs;
      const ops: BatchOp[] = [];
      if (usesNotAfterMs !== null) {
        ops.push({
          op: 'set',
          key: keys.tokenUses(tokenHmac),
          value: String(input.numUses),
          options: { ttlMs: usesNotAfterMs - nowMs, mode: 'if-absent' },
        });
      }
      ops.push({
        op: 'set',
        key: keys.accessor(hmac(accessor)),
        value: tokenHmac,
        options: { ttlMs, mode: 'if-absent' },
      });
      ops.push(...indexOps(record, tokenHmac, ttlMs));
      ops.push({
        op: 'set',
        key: keys.token(tokenHmac),
        value: serializeRecord(record),
        options: { ttlMs, mode: 'if-absent' },
      });
      const fresh = (await guard(store.batch(ops))).every(Boolean);
      if (!fresh) {
        // 256 and 144 random bits do not collide; a clash means broken randomness: refuse.
        throw new AuthgateError('INTERNAL', {
          reason: 'token_collision',
          detail: 'token or accessor collision: the random source is broken',
        });
      }
      return { clientToken, accessor, record, warnings: lease.warnings };
    },

    /**
     * The per-request check of a client token. Consumes one use of a use-limited token
     * (atomically, so N uses admit exactly N requests however many race); the request that
     * consumes the last use is admitted and the token is revoked before this returns.
     *
     * @param remoteAddress the peer address (IPv4, IPv6 or IPv4-mapped IPv6), for bound CIDRs.
     * @returns the record, `numUses` = uses left after this request (0 = unlimited,
     *   {@link REVOCATION_PENDING} when this request used the last one).
     * @throws AuthgateError PERMISSION_DENIED, reason `token_invalid` (unknown, malformed,
     *   expired, revoked or used up) or `token_cidr` (bound CIDRs exclude `remoteAddress`, or
     *   no address is known). A refused CIDR does not consume a use.
     * @throws AuthgateError UNAVAILABLE when the store is down.
     */
    authenticate: async (
      token: string,
      { remoteAddress }: { remoteAddress: string | undefined },
    ): Promise<TokenRecord> => {
      const { record, numUses } = await check(token, remoteAddress);
      return numUses === record.numUses ? record : { ...record, numUses };
    },

    /**
     * Renews a token (Vault's renew-self). Renewal is a request made with the token, so it first
     * runs authenticate's check (bound CIDRs against `remoteAddress`, one use). The TTL is then
     * recomputed from the issue time with CalculateTTL, the role's settings re-read through
     * `refresh` when given (the explicit max TTL is never re-read); a periodic token gets its
     * period again whatever the increment. The write only updates an existing record, so a
     * concurrent revoke wins. A renewal that takes the last use revokes the token and answers
     * with `lease_duration` 0 and `num_uses` {@link REVOCATION_PENDING}.
     *
     * Vault's capping warnings (`TTL of … exceeded the effective max_ttl …`) are not returned:
     * the capped `lease_duration` says the same.
     *
     * @returns the Vault `auth` block of the renew-self response.
     * @throws AuthgateError PERMISSION_DENIED `token_invalid` / `token_cidr` as authenticate, or
     *   `token_invalid` when the token was revoked during the renewal.
     * @throws AuthgateError BAD_REQUEST `past the max TTL, cannot renew` when start + max TTL has
     *   passed (e.g. the role's max TTL was lowered); the token keeps its current expiry.
     * @throws whatever `refresh` throws (a deleted role); the token is left unchanged.
     * @throws TypeError when `incrementSeconds` or the refreshed values are not non-negative
     *   integers.
     */
    renew: async (token: string, options: RenewOptions): Promise<AuthBlock> => {
      const incrementSeconds = options.incrementSeconds ?? 0;
      assertCount('incrementSeconds', incrementSeconds);
      const { tokenHmac, record, numUses } = await check(token, options.remoteAddress);
      if (numUses === REVOCATION_PENDING) {
        // This renewal was the token's last use: it is already revoked, so nothing is extended.
        return authBlock({ ...record, leaseTtlSeconds: 0, numUses }, token);
      }

      const role: Awaited<ReturnType<RenewRefresh>> =
        options.refresh === undefined
          ? {
              ttlSeconds: record.ttlSeconds,
              maxTtlSeconds: record.maxTtlSeconds,
              periodSeconds: record.periodSeconds,
            }
          : await options.refresh(record);
      assertCount('ttlSeconds', role.ttlSeconds);
      assertCount('maxTtlSeconds', role.maxTtlSeconds);
      assertCount('periodSeconds', role.periodSeconds);
      const mount = role.mount ?? record.mount;
      assertMount(mount);

      const nowMs = clock.nowMs();
      const calc = calculateTtl({
        incrementSeconds,
        backendTtlSeconds: role.ttlSeconds,
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
      const [written] = await guard(
        store.batch([
          {
            op: 'set',
            key: keys.token(tokenHmac),
            value: serializeRecord(next),
            options: { ttlMs, mode: 'if-present' },
          },
          {
            op: 'set',
            key: keys.accessor(hmac(record.accessor)),
            value: tokenHmac,
            options: { ttlMs, mode: 'if-present' },
          },
          ...indexOps(next, tokenHmac, ttlMs),
        ]),
      );
      if (!written) throw permissionDenied('token_invalid', 'revoked during renewal');
      return authBlock({ ...next, numUses }, token);
    },

    /**
     * Revokes a token (revoke-self): deletes its record, use counter and accessor index.
     * Idempotent: an unknown, expired or malformed token is a no-op, as in Vault.
     *
     * @throws AuthgateError UNAVAILABLE when the store is down.
     */
    revoke: async (token: string): Promise<void> => {
      if (typeof token !== 'string' || !TOKEN_FORMAT.test(token)) return;
      const tokenHmac = hmac(token);
      const raw = await guard(store.get(keys.token(tokenHmac)));
      let accessorHmac: string | undefined;
      try {
        if (raw !== undefined) accessorHmac = hmac(parseRecord(raw).accessor);
      } catch {
        // A corrupt record is still deleted; its accessor index expires with its TTL.
      }
      await deleteEntries(tokenHmac, accessorHmac);
    },

    /**
     * The live record of the token behind an accessor (lookup-accessor), without consuming a
     * use; `numUses` = uses left. Shape it with `lookupResponseData(record, nowMs, '')`.
     *
     * @throws AuthgateError BAD_REQUEST `missing accessor` (empty) or `invalid accessor` (no live
     *   token), Vault's messages.
     */
    lookupAccessor: async (accessor: string): Promise<TokenRecord> => {
      if (typeof accessor !== 'string' || accessor === '') {
        throw badRequest('missing accessor', 'accessor_missing');
      }
      const tokenHmac = await guard(store.get(keys.accessor(hmac(accessor))));
      const record = tokenHmac === undefined ? undefined : await load(tokenHmac);
      if (tokenHmac === undefined || record === undefined) {
        throw badRequest('invalid accessor', 'accessor_invalid');
      }
      return { ...record, numUses: await usesLeft(tokenHmac, record) };
    },

    /**
     * Revokes the token behind an accessor: deletes its record, use counter and accessor index.
     * As Vault's revoke-accessor, an unknown accessor is not an error: it answers with the
     * warning `No token found with this accessor`.
     *
     * @returns the warnings for the response envelope (empty after a revocation).
     * @throws AuthgateError BAD_REQUEST `missing accessor` (empty), or `token not found` when the
     *   index outlived its token (the leftovers are deleted first).
     */
    revokeAccessor: async (accessor: string): Promise<{ warnings: string[] }> => {
      if (typeof accessor !== 'string' || accessor === '') {
        throw badRequest('missing accessor', 'accessor_missing');
      }
      const accessorHmac = hmac(accessor);
      const tokenHmac = await guard(store.get(keys.accessor(accessorHmac)));
      if (tokenHmac === undefined) return { warnings: ['No token found with this accessor'] };
      // Delete before judging the record, so that even a corrupt one is revoked.
      const raw = await guard(store.get(keys.token(tokenHmac)));
      await deleteEntries(tokenHmac, accessorHmac);
      let live = false;
      try {
        live = raw !== undefined && isLive(parseRecord(raw));
      } catch {
        live = false;
      }
      if (!live) throw badRequest('token not found', 'token_not_found');
      return { warnings: [] };
    },

    /**
     * Revokes every live token listed in a revocation index (all tokens of a role, a service
     * account or a pod), then drops the index. Reads the index once (SMEMBERS): an operator
     * action, never on a request's hot path.
     *
     * @returns how many live tokens were revoked.
     * @throws AuthgateError UNAVAILABLE when the store is down.
     */
    revokeByIndex: async (index: RevocationIndex): Promise<number> => {
      const indexKey = keys.index(index.kind, index.value);
      const members = await guard(store.setMembers(indexKey));
      let revoked = 0;
      for (const tokenHmac of members) {
        const raw = await guard(store.get(keys.token(tokenHmac)));
        if (raw === undefined) continue;
        let accessorHmac: string | undefined;
        try {
          const record = parseRecord(raw);
          accessorHmac = hmac(record.accessor);
          if (isLive(record)) revoked++;
        } catch {
          // A corrupt record is deleted all the same.
        }
        await deleteEntries(tokenHmac, accessorHmac);
      }
      await guard(store.delete(indexKey));
      return revoked;
    },
  };
};

/** The client-token service; see {@link createTokenService}. */
export type TokenService = ReturnType<typeof createTokenService>;
