import { AuthgateError, badRequest, invalidToken, permissionDenied, unavailable } from '../errors.js';
import { createCidrSet } from '../lib/cidr.js';
import { deriveKey, fingerprint, hmacB64 } from '../lib/hash.js';
import { ReplicationUnconfirmedError, StoreUnavailableError, type BatchOp } from '../store/index.js';
import { BATCH_PREFIX, createBatchCodec } from './batch-token.js';
import { REVOCATION_PENDING, openRecord, sealRecord } from './record.js';
import type { TokenRecord } from './record.js';
import type { TokenServiceDeps } from './types.js';

export const TOKEN_PREFIX = 'ags.';
/** 32 random bytes (256 bits) encode to 43 base64url characters. */
export const TOKEN_BYTES = 32;
export const TOKEN_FORMAT = /^ags\.[A-Za-z0-9_-]{43}$/;
/** 18 random bytes encode to exactly 24 base64url characters (144 bits). */
export const ACCESSOR_BYTES = 18;
/**
 * The longest a batch token lives (Vault's default system max TTL, 768 h): a mount whose
 * `max_lease_ttl` is longer still caps its batch tokens here. A revocation's mark for batch tokens
 * is kept as long, so it outlives every batch token issued before it.
 */
export const BATCH_MAX_LIFE_SECONDS = 768 * 3600;
/** How often a process issuing batch tokens looks for the store's birth again (keys.storeBorn), ms. */
export const STORE_BORN_RECHECK_MS = 5000;

/** Fail closed with a 503 when the store is down; any other error is a bug and propagates. */
export const guard = async <T>(pending: Promise<T>): Promise<T> => {
  try {
    return await pending;
  } catch (err) {
    if (err instanceof ReplicationUnconfirmedError) {
      throw unavailable(
        "the revocation is not yet confirmed by the token store's replicas; repeat it",
        'revocation_unconfirmed',
        err,
      );
    }
    if (err instanceof StoreUnavailableError) {
      throw unavailable('token store unavailable', 'token_store_unavailable', err);
    }
    throw err;
  }
};

/**
 * How tokens sit in the store, shared by the service's operations: lookups by HMAC, the use
 * counter, revocation indexes and deletion. Internal to tokens/.
 */
export const createTokenStorage = (
  deps: Pick<TokenServiceDeps, 'store' | 'keys' | 'clock' | 'serverKey' | 'log'>,
) => {
  const { store, keys, clock, serverKey, log } = deps;
  // The records' MACs under a key of their own, never the one that names tokens and accessors.
  const recordMacKey = deriveKey(serverKey, 'authgate token record');

  const hmac = (value: string): string => hmacB64(serverKey, value);
  const batch = createBatchCodec(serverKey);

  const isLive = (record: TokenRecord): boolean => record.expireTimeMs > clock.nowMs();

  /**
   * Reports an entry this service did not write as it is (its MAC fails, it names another token,
   * its use counter exceeds the uses granted): the caller treats it as absent. Only the store
   * key's fingerprint is logged, never the entry or the token.
   */
  const tampered = (entry: 'record' | 'accessor' | 'uses', storeKey: string): undefined => {
    log?.error(
      { event: 'tokens.record_tampered', entry, key: fingerprint(storeKey) },
      'tokens.record_tampered',
    );
    return undefined;
  };

  /** The value to store a token's record as: sealed with its MAC, bound to its key. */
  const seal = (tokenHmac: string, record: TokenRecord): string =>
    sealRecord(recordMacKey, keys.token(tokenHmac), record);

  /**
   * What is stored under a token HMAC: undefined when nothing is; `{record: undefined}` (reported)
   * when what is there is not a record this service sealed under this key; else the record, live
   * or not.
   */
  const read = async (tokenHmac: string): Promise<{ record: TokenRecord | undefined } | undefined> => {
    const storeKey = keys.token(tokenHmac);
    const raw = await guard(store.get(storeKey));
    if (raw === undefined) return undefined;
    try {
      return { record: openRecord(recordMacKey, storeKey, raw) ?? tampered('record', storeKey) };
    } catch (err) {
      // A valid MAC on a record of another shape: a bug, but no token either.
      if (!(err instanceof AuthgateError)) throw err;
      return { record: tampered('record', storeKey) };
    }
  };

  /** The live record under a token HMAC, or undefined (absent, expired, tampered with). */
  const load = async (tokenHmac: string): Promise<TokenRecord | undefined> => {
    const record = (await read(tokenHmac))?.record;
    // The record's own expiry is authoritative: a store TTL can lag (Redis rounding, a replica's
    // clock ahead of the store's), and a token must be dead at its expire_time on every replica.
    return record !== undefined && isLive(record) ? record : undefined;
  };

  /**
   * When the store's data began (see `keys.storeBorn`): `held` if the store had it, else `atMs`
   * written now (only if still absent; another replica's may have come first) and read back.
   */
  const storeBorn = async (held: string | undefined, atMs: number): Promise<number> => {
    if (held !== undefined) return Number(held);
    await guard(store.set(keys.storeBorn(), String(atMs), { mode: 'if-absent' }));
    return Number(await guard(store.get(keys.storeBorn())));
  };
  /** When this process last saw the store's birth (-Infinity: never, or found lost since). */
  let bornSeenAtMs = -Infinity;
  /**
   * Before this process issues a batch token, at most every {@link STORE_BORN_RECHECK_MS}: the
   * store's birth is written if absent, no later than the token's issue time, so that the token
   * is not refused as older than the store. A store that lost its data is noticed within that
   * time (or at once, by a use that finds it absent): the batch tokens issued in between are
   * refused, which a new login mends.
   */
  const ensureStoreBorn = async (issueTimeMs: number): Promise<void> => {
    const since = clock.nowMs() - bornSeenAtMs;
    // A clock stepped back (since < 0) looks again rather than waiting for it to catch up.
    if (since >= 0 && since < STORE_BORN_RECHECK_MS) return;
    const seenBefore = bornSeenAtMs !== -Infinity;
    try {
      await storeBorn(await guard(store.get(keys.storeBorn())), issueTimeMs);
    } catch (err) {
      // Once seen, a store that cannot be read now does not fail a login that writes nothing
      // (the use of the token will read the store, and fail closed, itself).
      if (!seenBefore) throw err;
      return;
    }
    bornSeenAtMs = clock.nowMs();
  };
  /** Whether `tokens.store_born_damaged` was said (once per process, not once per use). */
  let damageSaid = false;

  /**
   * True when a revocation by one of the batch token's indexes came at or after its issue (see
   * `keys.batchRevoked`), or when the store's data began after it (`keys.storeBorn`: the marks of
   * a store that lost its data are gone, and a revoked token must not come back with them). Read
   * on every use, as a service token's record is: fails closed (503) when the store is down.
   */
  const batchRevoked = async (record: TokenRecord): Promise<boolean> => {
    const indexes = record.indexes ?? [];
    const [born, ...marks] = await guard(
      Promise.all([
        store.get(keys.storeBorn()),
        ...indexes.map((i) => store.get(keys.batchRevoked(i.kind, i.value))),
      ]),
    );
    if (born === undefined) bornSeenAtMs = -Infinity;
    const bornMs = await storeBorn(born, clock.nowMs());
    // Not a number (damaged) is refused, never taken as "no time"; and said, as nothing mends it.
    if (Number.isNaN(bornMs)) {
      if (!damageSaid)
        log?.error(
          { event: 'tokens.store_born_damaged', key: keys.storeBorn() },
          'tokens.store_born_damaged',
        );
      damageSaid = true;
      return true;
    }
    damageSaid = false;
    if (!(bornMs <= record.issueTimeMs)) return true;
    return marks.some((mark) => mark !== undefined && !(Number(mark) < record.issueTimeMs));
  };

  /**
   * The token's HMAC (undefined for a batch token, which has no stored state) and live record, or
   * undefined. Malformed input never reaches the store.
   */
  const find = async (
    token: string,
  ): Promise<{ tokenHmac: string | undefined; record: TokenRecord } | undefined> => {
    if (typeof token !== 'string') return undefined;
    if (token.startsWith(BATCH_PREFIX)) {
      const record = batch.open(token);
      if (record === undefined || !isLive(record) || (await batchRevoked(record))) return undefined;
      return { tokenHmac: undefined, record };
    }
    if (!TOKEN_FORMAT.test(token)) return undefined;
    const tokenHmac = hmac(token);
    const record = await load(tokenHmac);
    return record === undefined ? undefined : { tokenHmac, record };
  };

  /**
   * The record with `numUses` = uses left, for lookups that spend none: 0 = unlimited,
   * REVOCATION_PENDING once none are left; undefined (reported) when the counter says more uses
   * are left than the record grants.
   */
  const withUsesLeft = async (tokenHmac: string, record: TokenRecord): Promise<TokenRecord | undefined> => {
    if (record.numUses === 0) return record;
    const raw = await guard(store.get(keys.tokenUses(tokenHmac)));
    const left = raw === undefined ? 0 : Number(raw);
    if (!(left <= record.numUses)) return tampered('uses', keys.tokenUses(tokenHmac));
    return { ...record, numUses: left > 0 ? left : REVOCATION_PENDING };
  };

  /**
   * The token HMAC an accessor's index names, or undefined when it names none (the index lives as
   * long as its token, but may outlive a token revoked half-way).
   * @throws AuthgateError BAD_REQUEST `missing accessor` (Vault's message) when it is empty.
   */
  const indexedToken = async (accessor: string): Promise<string | undefined> => {
    if (typeof accessor !== 'string' || accessor === '') {
      throw badRequest('missing accessor', 'accessor_missing');
    }
    return guard(store.get(keys.accessor(hmac(accessor))));
  };

  /**
   * The token an accessor's index names and what is stored for it (see {@link read}), or
   * undefined when no index names one. An index naming a token whose record holds another
   * accessor was pointed there by someone else: reported, and taken as no index.
   * @throws AuthgateError BAD_REQUEST `missing accessor` as {@link indexedToken}.
   */
  const byAccessor = async (accessor: string) => {
    const tokenHmac = await indexedToken(accessor);
    if (tokenHmac === undefined) return undefined;
    const stored = await read(tokenHmac);
    if (stored?.record !== undefined && stored.record.accessor !== accessor) {
      return tampered('accessor', keys.accessor(hmac(accessor)));
    }
    return { tokenHmac, record: stored?.record };
  };

  /** Adds the token to its revocation indexes, each listing it as long as the token lives. */
  const indexOps = (record: TokenRecord, tokenHmac: string, ttlMs: number): BatchOp[] =>
    (record.indexes ?? []).map((i) => ({
      op: 'indexAdd',
      key: keys.index(i.kind, i.value),
      members: [tokenHmac],
      ttlMs,
    }));

  /**
   * Deletes the record (that is what invalidates the token), and only once it is gone the counter
   * and accessor index. Deleted together, they may go separately (one DEL per key on Redis, keys on
   * different cluster nodes): a record left behind by a failure would then live on with no
   * accessor left to revoke it by, and a retried revoke-accessor would find "no token".
   */
  const deleteEntries = async (tokenHmac: string, accessorHmac: string | undefined) => {
    await guard(store.delete(keys.token(tokenHmac)));
    const rest = [keys.tokenUses(tokenHmac)];
    if (accessorHmac !== undefined) rest.push(keys.accessor(accessorHmac));
    await guard(store.delete(...rest));
  };

  /** A live token's record, its bound CIDRs checked; no use is counted. */
  const inspect = async (token: string, remoteAddress: string | undefined) => {
    const found = await find(token);
    if (found === undefined) throw invalidToken();
    const { record } = found;
    if (record.boundCidrs.length > 0) {
      // As Vault: a CIDR-bound token from an unknown address is refused.
      const allowed = remoteAddress !== undefined && createCidrSet(record.boundCidrs).contains(remoteAddress);
      if (!allowed) throw permissionDenied('token_cidr');
    }
    return found;
  };

  /**
   * The per-request check: live token, bound CIDRs, one use, then `authorize` (the ACL). Returns the stored record and
   * the uses left (0 = unlimited, REVOCATION_PENDING when this request took the last one).
   */
  const check = async (
    token: string,
    remoteAddress: string | undefined,
    authorize?: (record: TokenRecord) => void | Promise<void>,
  ) => {
    const { tokenHmac, record } = await inspect(token, remoteAddress);
    if (record.numUses === 0 || tokenHmac === undefined) {
      if (authorize !== undefined) await authorize(record);
      return { tokenHmac, record, numUses: 0 };
    }

    // Counting down fails closed: a counter lost or deleted by a concurrent revoke restarts at
    // 0 and goes negative, whereas counting up would hand out a fresh set of uses.
    const left = await guard(
      store.incrBy(keys.tokenUses(tokenHmac), -1, {
        ttlMs: Math.max(1, record.expireTimeMs - clock.nowMs()),
      }),
    );
    // A request that lost the race for the last use. Vault answers it 403 `permission denied` when
    // its lookup already sees the token pending revocation (lookupInternal hides NumUses < 0), and
    // 500 `internal error` in the narrow window where UseToken's second read does ("token not
    // found or fully used already", vault/request_handling.go): never 400. 403 for both here.
    if (left < 0) throw invalidToken('no uses left');
    // The record (sealed) says how many uses were granted: a counter above that was raised.
    if (left >= record.numUses) {
      tampered('uses', keys.tokenUses(tokenHmac));
      throw invalidToken('use counter above the uses granted');
    }
    if (left === 0) await deleteEntries(tokenHmac, hmac(record.accessor));
    // As Vault's handleRequest: the use is spent before the ACL's verdict is acted on ("we want
    // to decrement the use count even in the case of an error"), so a use-limited token cannot
    // probe paths it may not read without using itself up.
    if (authorize !== undefined) await authorize(record);
    return { tokenHmac, record, numUses: left > 0 ? left : REVOCATION_PENDING };
  };

  return {
    hmac,
    isLive,
    seal,
    sealBatch: batch.seal,
    ensureStoreBorn,
    read,
    load,
    find,
    withUsesLeft,
    indexedToken,
    byAccessor,
    indexOps,
    deleteEntries,
    inspect,
    check,
  };
};
export type TokenStorage = ReturnType<typeof createTokenStorage>;
