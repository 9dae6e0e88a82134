import { AuthgateError } from '../errors.js';
import { createCidrSet } from '../lib/cidr.js';
import { createRandomPool } from '../lib/random-pool.js';
import type { BatchOp } from '../store/index.js';
import type { TokenRecord } from './record.js';
import { calculateTtl } from './ttl.js';
import { createTokenRenewal } from './token-renewal.js';
import { createTokenRevocation } from './token-revocation.js';
import { createTokenListing } from './token-listing.js';
import {
  ACCESSOR_BYTES,
  BATCH_MAX_LIFE_SECONDS,
  createTokenStorage,
  guard,
  TOKEN_BYTES,
  TOKEN_PREFIX,
} from './token-storage.js';
import type { IssueInput, IssuedToken, TokenServiceDeps } from './types.js';
import { authBlock, lookupResponseData } from './vault-shapes.js';
import { assertCount, assertMount, placeLease } from './lease.js';

/**
 * The client-token service: issues Vault-style service tokens and checks, renews and revokes
 * them. A token is stored only under HMAC-SHA256(server key, token), with an accessor index under
 * HMAC(server key, accessor) and, for use-limited tokens, an atomic counter of uses left; every
 * entry carries a store TTL, so expired tokens leave the store by themselves. Records are sealed
 * with a MAC bound to their key, and what the store holds is believed only as far as it can be
 * checked (see token-storage.ts): anything else is no token, as for a token never issued.
 *
 * Every method rejects with AuthgateError UNAVAILABLE (503) when the store is unreachable:
 * security state fails closed.
 *
 * @throws TypeError when `serverKey` is shorter than 32 bytes, or `maxListedTokens` is not a
 *   whole number ≥ 1.
 */
export const createTokenService = (deps: TokenServiceDeps) => {
  const { store, keys, clock, serverKey } = deps;
  const randomBytes = deps.randomBytes ?? createRandomPool();
  if (!Buffer.isBuffer(serverKey) || serverKey.length < 32) {
    throw new TypeError('serverKey must be a Buffer of at least 32 bytes');
  }
  const storage = createTokenStorage(deps);
  const { hmac, seal, sealBatch, indexOps, check } = storage;

  return {
    /** {@link lookupResponseData}, on the service for routes that hold only the service. */
    lookupResponseData,
    /** {@link authBlock}, on the service for routes that hold only the service. */
    authBlock,

    /**
     * Issues a service token: `ags.` + 256 random bits (base64url), and a 24-character accessor;
     * or with `type: 'batch'` a batch token, which carries its record sealed (batch-token.ts),
     * has no accessor and writes nothing, and lives at most {@link BATCH_MAX_LIFE_SECONDS}.
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
      if (input.boundCidrs.length > 0) createCidrSet(input.boundCidrs); // TypeError on an invalid CIDR

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
      const batch = input.type === 'batch';
      if (batch && (input.periodSeconds !== 0 || input.numUses !== 0)) {
        throw new TypeError('a batch token can have neither a period nor a use limit');
      }
      // A batch token is never renewed: its life, fixed now, is capped as a use counter's
      // expiry caps a token's (with the same warning).
      const lease = placeLease(calc, nowMs, batch ? nowMs + BATCH_MAX_LIFE_SECONDS * 1000 : usesNotAfterMs);

      // One call to the CSPRNG for both secrets (each still its own independent random bytes).
      const random = batch ? undefined : randomBytes(TOKEN_BYTES + ACCESSOR_BYTES);
      const accessor = random === undefined ? '' : random.subarray(TOKEN_BYTES).toString('base64url');
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
        ...(input.renewable === false || batch ? { renewable: false as const } : {}),
        ...(batch ? { type: 'batch' as const } : {}),
      };
      // Sealed into the token itself (batch-token.ts): nothing is written (but the store's birth,
      // once per process: see keys.storeBorn).
      if (random === undefined) {
        await storage.ensureStoreBorn(nowMs);
        return { clientToken: sealBatch(record), accessor, record, warnings: lease.warnings };
      }

      const clientToken = TOKEN_PREFIX + random.subarray(0, TOKEN_BYTES).toString('base64url');
      const tokenHmac = hmac(clientToken);

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
        value: seal(tokenHmac, record),
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
     * @throws whatever `authorize` throws (the ACL's `permission denied`): called with the
     *   stored record after the CIDR check and after a use is counted, as Vault counts it: a
     *   request the ACL refuses spends a use.
     * @throws AuthgateError UNAVAILABLE when the store is down.
     */
    authenticate: async (
      token: string,
      options: {
        remoteAddress: string | undefined;
        authorize?: (record: TokenRecord) => void | Promise<void>;
      },
    ): Promise<TokenRecord> => {
      const { record, numUses } = await check(token, options.remoteAddress, options.authorize);
      return numUses === record.numUses ? record : { ...record, numUses };
    },

    /**
     * A live token's stored record with its bound CIDRs checked, counting no use: for a request
     * whose handler makes the counted check itself (renew-self renews through `renew`).
     * @throws AuthgateError PERMISSION_DENIED and UNAVAILABLE as `authenticate`.
     */
    inspect: async (token: string, options: { remoteAddress: string | undefined }): Promise<TokenRecord> =>
      (await storage.inspect(token, options.remoteAddress)).record,

    /**
     * The live record of a token an operator names (Vault's `auth/token/lookup`), `numUses` = uses
     * left. The request is the operator's, made with another token: the named token spends no
     * use and its bound CIDRs are not checked (Vault's handleLookup reads it without either).
     * Shape it with `lookupResponseData(record, nowMs, token)`: Vault's answer names the token.
     *
     * @throws AuthgateError PERMISSION_DENIED `bad token` (Vault's message and status) when no
     *   live token is found: unknown, malformed, expired or revoked.
     * @throws AuthgateError UNAVAILABLE when the store is down.
     */
    lookupToken: async (token: string): Promise<TokenRecord> => {
      const found = await storage.find(token);
      const record =
        found === undefined || found.tokenHmac === undefined
          ? found?.record
          : await storage.withUsesLeft(found.tokenHmac, found.record);
      if (record === undefined) {
        throw new AuthgateError('PERMISSION_DENIED', { message: 'bad token', reason: 'token_not_found' });
      }
      return record;
    },

    ...createTokenRenewal(storage, deps),
    ...createTokenRevocation(storage, deps),
    ...createTokenListing(storage, deps),
  };
};

/** The client-token service; see {@link createTokenService}. */
export type TokenService = ReturnType<typeof createTokenService>;
