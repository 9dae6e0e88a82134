import type { KeyObject } from 'node:crypto';
import type { JWK } from 'jose';
import { AuthgateError } from '../errors.js';
import type { Clock } from '../lib/clock.js';
import { createSingleFlight } from '../lib/single-flight.js';
import { truncate } from '../lib/truncate.js';
import type { JwksDocument, JwksSource } from './jwks-source.js';
import { importPublicJwk } from './jws-signature.js';
import type { VerifierLog } from './verifier-log.js';

/** One usable public key of the set, imported when the set is loaded. */
type KeyEntry = {
  kid: string | undefined;
  /** Public members only (kty, n, e / crv, x, y): nothing else reaches the import. */
  jwk: JWK;
  alg: string | undefined;
  key: KeyObject;
  /** What the entry trusts (kid, alg and public members), to tell whether a new set still has it. */
  id: string;
};

type KeySet = { entries: KeyEntry[]; kids: Set<string> };

/**
 * What a token's alg requires of a key. HS* and `none` have no entry: never accepted. EdDSA is
 * Ed25519 (Ed448 is not go-jose's, so not Vault's); only a jwt mount lets a token name it.
 */
const FAMILY: Record<string, { kty: 'RSA' | 'EC' | 'OKP'; crv?: string }> = {
  RS256: { kty: 'RSA' },
  RS384: { kty: 'RSA' },
  RS512: { kty: 'RSA' },
  PS256: { kty: 'RSA' },
  PS384: { kty: 'RSA' },
  PS512: { kty: 'RSA' },
  ES256: { kty: 'EC', crv: 'P-256' },
  ES384: { kty: 'EC', crv: 'P-384' },
  ES512: { kty: 'EC', crv: 'P-521' },
  EdDSA: { kty: 'OKP', crv: 'Ed25519' },
};

/** The members of a JWK that carry private key material (RFC 7518 §6.2.2, §6.3.2, §6.4.1). */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const;

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** Skipped members logged one by one per load; past this, one `jwks.keys_skipped` line counts them all. */
const MAX_SKIP_LINES = 10;

/**
 * Keeps the usable members of a key set, each imported now. Skipped (and logged): anything that
 * is not an RSA, EC or Ed25519 key, a key marked for another use, a member carrying any private part — a
 * JWKS that publishes private keys is a leak, and authgate will not lean on it — and a key that
 * does not import (an RSA key under 2048 bits, an EC point off its curve): a set holding only
 * such keys is then a broken publication, not a key that fails every login one by one.
 */
const parseKeySet = (doc: JwksDocument, log: VerifierLog, location: string): KeySet => {
  const entries: KeyEntry[] = [];
  let skipped = 0;
  doc.keys.forEach((member, index) => {
    // A member's values come from the endpoint: cut, and only the first few skips get a line
    // each, so a set of thousands of junk members is not thousands of lines at every load.
    const skip = (why: string) => {
      if (skipped++ < MAX_SKIP_LINES)
        log.warn(
          { event: 'jwks.key_skipped', source: location, index, why: truncate(why) },
          'jwks.key_skipped',
        );
    };
    if (typeof member !== 'object' || member === null || Array.isArray(member)) return skip('not an object');
    const m = member as Record<string, unknown>;
    const kty = m['kty'];
    if (kty !== 'RSA' && kty !== 'EC' && kty !== 'OKP')
      return skip(`kty ${String(kty)} is not RSA, EC or OKP`);
    // OKP also names X25519 and X448 (key agreement, never signatures) and Ed448.
    if (kty === 'OKP' && m['crv'] !== 'Ed25519') return skip(`OKP curve ${String(m['crv'])} is not Ed25519`);
    if (PRIVATE_MEMBERS.some((name) => m[name] !== undefined)) return skip('member carries a private key');
    if (m['use'] !== undefined && m['use'] !== 'sig') return skip(`use ${String(m['use'])} is not sig`);
    const ops = m['key_ops'];
    if (ops !== undefined && !(Array.isArray(ops) && ops.includes('verify')))
      return skip('key_ops lacks verify');
    const jwk: JWK =
      kty === 'RSA'
        ? { kty, n: str(m['n']), e: str(m['e']) }
        : kty === 'OKP'
          ? { kty, crv: 'Ed25519', x: str(m['x']) }
          : { kty, crv: str(m['crv']), x: str(m['x']), y: str(m['y']) };
    if (Object.values(jwk).some((v) => v === undefined)) return skip('missing key members');
    let key: KeyObject;
    try {
      key = importPublicJwk(jwk as Record<string, unknown>);
    } catch (err) {
      return skip(`key does not import: ${(err as Error).message}`);
    }
    const kid = str(m['kid']);
    const alg = str(m['alg']);
    entries.push({ kid, jwk, alg, key, id: JSON.stringify([kid ?? null, alg ?? null, jwk]) });
  });
  if (skipped > MAX_SKIP_LINES)
    log.warn({ event: 'jwks.keys_skipped', source: location, skipped }, 'jwks.keys_skipped');
  return { entries, kids: new Set(entries.flatMap((e) => (e.kid === undefined ? [] : [e.kid]))) };
};

const usable = (entry: KeyEntry, alg: string): boolean => {
  const family = FAMILY[alg];
  if (family === undefined || entry.jwk.kty !== family.kty) return false;
  if (family.crv !== undefined && entry.jwk.crv !== family.crv) return false;
  return entry.alg === undefined || entry.alg === alg;
};

export type KeyStoreOptions = {
  source: JwksSource;
  /** Keys older than this are refreshed in the background (the current ones keep serving). */
  maxAgeMs: number;
  /** Minimum gap between two refetches caused by an unknown kid, and between retries of a failed refresh. */
  cooldownMs: number;
  clock: Clock;
  log: VerifierLog;
  /** Called on every failed load, for the `upstreamErrors` counter. */
  onError: () => void;
  /**
   * Called when a newly loaded set lacks a key the previous one held (removed, or its `kid` or
   * `alg` changed), before that set serves: what was proven with the key must not outlive it.
   */
  onKeysDropped?: () => void;
};

/** With no key at all, a failed load is retried after at most this long (not a whole cooldown). */
const NO_KEYS_RETRY_MS = 1000;

/**
 * The key set of one JWKS mount, refreshed the way jose's `createRemoteJWKSet` does it:
 * - the first use (or `ready()`) loads it; concurrent loads are coalesced into one;
 * - keys older than `maxAgeMs` are refreshed in the background while the old ones keep serving;
 * - a `kid` that is not in the set triggers one refetch, at most once per `cooldownMs` counted
 *   from the previous kid-triggered refetch (a flood of tokens with random kids costs at most one
 *   fetch per cooldown, while a key rotated in right after a scheduled load is picked up at once);
 * - a failed refresh keeps the keys already held; with no keys at all it is `UNAVAILABLE` (503).
 * - a set without a key the previous one held calls `onKeysDropped` before it serves.
 */
export const createKeyStore = (options: KeyStoreOptions) => {
  const { source, clock, log } = options;
  let keys: KeySet | undefined;
  let loadedAtMs = 0;
  let lastAttemptMs = Number.NEGATIVE_INFINITY;
  /** Last refetch caused by an unknown kid: the cooldown counts from here, not from scheduled loads. */
  let lastKidRefetchMs = Number.NEGATIVE_INFINITY;
  let lastError: string | undefined;
  const flight = createSingleFlight<void>();

  const refresh = (): Promise<void> =>
    flight.run('jwks', async () => {
      lastAttemptMs = clock.nowMs();
      try {
        const doc = await source.load();
        if (doc !== undefined) {
          const parsed = parseKeySet(doc, log, source.location);
          // A set with no usable key is a broken publication, not a revocation of every key:
          // treated as a failed load (the keys held keep serving; with none it is a 503).
          if (parsed.entries.length === 0) throw new Error('the key set has no usable signing key');
          const kept = new Set(parsed.entries.map((e) => e.id));
          const dropped = keys?.entries.some((e) => !kept.has(e.id)) ?? false;
          keys = parsed;
          if (dropped) options.onKeysDropped?.();
          log.info(
            { event: 'jwks.loaded', source: source.location, keys: keys.entries.length },
            'jwks.loaded',
          );
        }
        loadedAtMs = clock.nowMs();
        lastError = undefined;
      } catch (err) {
        lastError = (err as Error).message;
        options.onError();
        log.warn(
          {
            event: 'jwks.fetch_failed',
            source: source.location,
            err: lastError,
            keysHeld: keys?.entries.length ?? 0,
          },
          'jwks.fetch_failed',
        );
        throw err;
      }
    });
  const ignore = () => undefined;
  const mayAttempt = (gapMs: number) => flight.size > 0 || clock.nowMs() - lastAttemptMs >= gapMs;

  const noKeys = (): AuthgateError =>
    new AuthgateError('UNAVAILABLE', {
      message: 'error fetching JWKS: no signing keys available',
      reason: 'jwks_unavailable',
      detail: `${source.kind} ${source.location}: ${lastError ?? 'no key set loaded'}`,
    });

  const current = async (): Promise<KeySet> => {
    if (keys === undefined) {
      if (mayAttempt(Math.min(options.cooldownMs, NO_KEYS_RETRY_MS))) await refresh().catch(ignore);
      if (keys === undefined) throw noKeys();
    } else if (clock.nowMs() - loadedAtMs >= options.maxAgeMs && mayAttempt(options.cooldownMs)) {
      void refresh().catch(ignore);
    }
    return keys;
  };

  // A key published without a kid (a set written by hand from the issuer's PEM key) names no
  // key in particular, so it may have signed any token of its family: as with Vault's pem_keys,
  // it is tried whatever kid the token names. The kid only selects among trusted keys.
  const select = (set: KeySet, alg: string, kid: string | undefined): KeyEntry[] =>
    set.entries.filter((e) => (kid === undefined || e.kid === undefined || e.kid === kid) && usable(e, alg));

  return {
    /**
     * The keys that may have signed a token with this `alg` and `kid`: of the alg's family, named
     * by `kid` or by no kid (every one when `kid` is undefined). An unknown kid refetches the set
     * at most once per cooldown. Empty when nothing matches.
     * Rejects `UNAVAILABLE` when no key set could ever be loaded.
     */
    async candidates(alg: string, kid: string | undefined): Promise<KeyObject[]> {
      let set = await current();
      if (kid !== undefined && !set.kids.has(kid)) {
        const now = clock.nowMs();
        // A key rotated in just after a scheduled load is found at once; a flood of made-up kids
        // still costs at most one fetch per cooldown (and joins one already in flight).
        if (flight.size > 0 || now - lastKidRefetchMs >= options.cooldownMs) {
          if (flight.size === 0) lastKidRefetchMs = now;
          await refresh().catch(ignore);
          set = keys ?? set;
        }
      }
      return select(set, alg, kid).map((e) => e.key);
    },
    /** Whether `kid` is in the set now held (after `candidates` refreshed it). */
    knows: (kid: string): boolean => keys?.kids.has(kid) ?? false,
    /**
     * Whether a key set is held, and whether the last load failed (then the keys held, if any,
     * may lack one the issuer has rotated in since).
     */
    status: (): { held: boolean; failing: boolean } => ({
      held: keys !== undefined,
      failing: lastError !== undefined,
    }),
    /**
     * Starts a load in the background when a use would start one now (none held and none tried
     * within the retry gap, or the keys past their max age), or when the last load failed and the
     * cooldown has passed since it was tried (keys held but maybe not current are not left so
     * until their max age); never waits for it.
     */
    warm(): void {
      if (keys !== undefined && lastError !== undefined && mayAttempt(options.cooldownMs))
        void refresh().catch(ignore);
      else void current().catch(ignore);
    },
    /** Loads the set again now, whatever the cooldown (another replica announced a new one). */
    reload: (): Promise<void> => refresh().catch(ignore),
    /** Resolves once a key set is held (loading it if needed); rejects `UNAVAILABLE` otherwise. */
    async ready(): Promise<void> {
      if (keys !== undefined) return;
      await refresh().catch(ignore);
      if (keys === undefined) throw noKeys();
    },
  };
};
export type KeyStore = ReturnType<typeof createKeyStore>;
