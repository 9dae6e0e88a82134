import { compactVerify, importJWK, SignJWT, type CryptoKey } from 'jose';
import type { IdentityConfig, IdentityKeyConfig, IdentityRoleConfig } from '../../config/index.js';
import { badRequest } from '../../errors.js';
import { nowSeconds, type Clock } from '../../lib/clock.js';
import { createSingleFlight } from '../../lib/single-flight.js';
import { truncate } from '../../lib/truncate.js';
import type { Keys, Store } from '../../store/index.js';
import type { ResealCounts, SecretCipher } from '../cipher.js';
import { buildClaims, issuerUrl } from './claims.js';
import {
  decodeRegisteredClaims,
  inactive,
  parseCompactJws,
  validateRegisteredClaims,
  type Introspection,
  type ParsedJws,
} from './introspect.js';
import { openSigner, type Signer } from './key-material.js';
import { publishedKeys, type StoredRing } from './key-ring.js';
import { createKeyRingStore, type IdentityLog, type RingTerms } from './key-ring-store.js';
import {
  IDENTITY_ALGORITHMS,
  type DiscoveryDocument,
  type IdentitySubject,
  type IssuedIdentityToken,
  type JwksDocument,
  type PublicJwk,
} from './types.js';

export type IdentityTokensDeps = {
  store: Pick<Store, 'get' | 'set' | 'delete' | 'deleteIfEquals'>;
  keys: Pick<Keys, 'oidcKeyRing' | 'oidcLock'>;
  clock: Clock;
  cipher: Pick<SecretCipher, 'seal' | 'open' | 'isStale'>;
  log: IdentityLog;
  config: IdentityConfig;
  /**
   * How old a ring loaded from the store may be when a token is signed with it, ms. Default 5000.
   * A replica picks up another's rotation within this; it is also part of the margin a retired
   * key stays published beyond the longest token TTL.
   */
  ringMaxAgeMs?: number;
  /** Background reload (and scheduled rotation) of every ring in use, ms. Default `ringMaxAgeMs / 2`; 0 = no timer. */
  refreshIntervalMs?: number;
  /** TTL of a replica's rotation lock, ms. Default 30 000. */
  lockTtlMs?: number;
  /** Poll interval of a manual rotation waiting for the lock, ms. Default 50. */
  lockPollMs?: number;
};

/**
 * The key named `default`, which exists whether configured or not (as in Vault), rotated and kept
 * 24 h. Vault's defaults to RS256; authgate's to ES256: signing with RSA costs about 12 times what
 * verifying does, and a 2048-bit RSA signature per identity token would dominate the request.
 * A verifier that accepts only RS256 is served by configuring `default` with `algorithm: RS256`.
 */
const DEFAULT_KEY: IdentityKeyConfig = {
  name: 'default',
  algorithm: 'ES256',
  rotationPeriodSeconds: 86_400,
  verificationTtlSeconds: 86_400,
};

/** Verifiers' clock leeway, added to how long a retired key stays published. */
const CLOCK_LEEWAY_MS = 60_000;
/** Discovery changes only with the config. */
const DISCOVERY_MAX_AGE_SECONDS = 3600;

type CachedRing = { ring: StoredRing; loadedAtMs: number; signer?: Signer };

const positive = (name: string, value: number): number => {
  if (!Number.isSafeInteger(value) || value <= 0) throw new TypeError(`${name} must be a positive integer`);
  return value;
};

/**
 * Signed identity tokens (Vault's `identity/oidc`): JWTs that name the caller's Kubernetes
 * identity, for services that trust authgate's published keys instead of the cluster's.
 *
 * Each configured key has a ring in the shared store (see {@link createKeyRingStore}); this
 * engine keeps each ring in process for `ringMaxAgeMs`, reloads rings in use every
 * `refreshIntervalMs` (timer `unref()`ed, stopped by `close`), and rotates a ring on schedule from
 * whichever replica loads it first once it is due.
 *
 * @throws TypeError when the config is inconsistent (a role naming a key that does not exist) or an
 *   option is out of range: a caller's bug (config validation rejects the former).
 */
export const createIdentityTokens = (deps: IdentityTokensDeps) => {
  const { clock, cipher, log, config } = deps;
  const ringMaxAgeMs = positive('ringMaxAgeMs', deps.ringMaxAgeMs ?? 5000);
  const refreshIntervalMs = deps.refreshIntervalMs ?? Math.max(1, Math.floor(ringMaxAgeMs / 2));
  if (!Number.isSafeInteger(refreshIntervalMs) || refreshIntervalMs < 0) {
    throw new TypeError('refreshIntervalMs must be a non-negative integer');
  }
  const keyConfigs = new Map(config.keys);
  if (!keyConfigs.has('default')) keyConfigs.set('default', DEFAULT_KEY);
  for (const role of config.roles.values()) {
    if (!keyConfigs.has(role.key))
      throw new TypeError(`identity role "${role.name}" names no key: "${role.key}"`);
  }
  const issuer = issuerUrl(config.issuer);
  // Keys no role uses are not published (as Vault), and never generated.
  const usedKeyNames = [...new Set([...config.roles.values()].map((r) => r.key))];
  const termsOf = (name: string): RingTerms => {
    const key = keyConfigs.get(name) as IdentityKeyConfig;
    let maxTokenTtlSeconds = 0;
    for (const r of config.roles.values())
      if (r.key === name) maxTokenTtlSeconds = Math.max(maxTokenTtlSeconds, r.ttlSeconds);
    return { key, maxTokenTtlSeconds };
  };

  const rings = createKeyRingStore({
    store: deps.store,
    keys: deps.keys,
    clock,
    cipher,
    log,
    lockTtlMs: positive('lockTtlMs', deps.lockTtlMs ?? 30_000),
    lockPollMs: positive('lockPollMs', deps.lockPollMs ?? 50),
    retirementMarginMs: ringMaxAgeMs + CLOCK_LEEWAY_MS,
  });

  const cache = new Map<string, CachedRing>();
  const flight = createSingleFlight<CachedRing>();

  const remember = (name: string, ring: StoredRing, loadedAtMs: number): CachedRing => {
    const previous = cache.get(name);
    const entry: CachedRing = { ring, loadedAtMs };
    // The opened private key is reused while the same key signs.
    if (previous?.signer?.kid === ring.current.kid) entry.signer = previous.signer;
    cache.set(name, entry);
    return entry;
  };

  const reload = (name: string): Promise<CachedRing> =>
    flight.run(name, async () => {
      // Age counts from before the read, so a ring is never trusted past ringMaxAgeMs of the store.
      const startedAtMs = clock.nowMs();
      return remember(name, await rings.load(termsOf(name)), startedAtMs);
    });

  const ringFor = (name: string): Promise<CachedRing> => {
    const cached = cache.get(name);
    if (cached !== undefined && clock.nowMs() - cached.loadedAtMs < ringMaxAgeMs)
      return Promise.resolve(cached);
    return reload(name);
  };

  const signerOf = async (name: string, entry: CachedRing): Promise<Signer> => {
    entry.signer ??= await openSigner(name, entry.ring.current, cipher);
    return entry.signer;
  };

  let refreshFailing = false;
  const refreshAll = async (): Promise<void> => {
    try {
      await Promise.all(usedKeyNames.map(reload));
      if (refreshFailing) log.info({ event: 'identity.refresh_recovered' }, 'identity.refresh_recovered');
      refreshFailing = false;
    } catch (err) {
      // Logged once per outage; signing fails closed on its own once the rings grow stale.
      if (!refreshFailing) {
        log.warn(
          { event: 'identity.refresh_failed', reason: (err as { reason?: string }).reason, err },
          'identity.refresh_failed',
        );
      }
      refreshFailing = true;
    }
  };
  const timer =
    refreshIntervalMs > 0 && usedKeyNames.length > 0
      ? setInterval(() => void refreshAll(), refreshIntervalMs)
      : undefined;
  timer?.unref();

  /**
   * The public keys of the rings of `names`: current, next, and retired keys still in their
   * verification window. While the store is down, the rings last loaded are served (public keys
   * only; the next key they hold covers one rotation made meanwhile by another replica).
   */
  const publicKeysOf = async (names: readonly string[]): Promise<PublicJwk[]> => {
    const entries = await Promise.all(
      names.map((name) =>
        ringFor(name).catch((err: unknown) => {
          const last = cache.get(name);
          if (last === undefined) throw err;
          return last;
        }),
      ),
    );
    const nowMs = clock.nowMs();
    return entries.flatMap((e) => publishedKeys(e.ring, nowMs));
  };

  // Imported public keys by kid, for introspection; a kid names one key for good.
  const verifyKeys = new Map<string, Promise<CryptoKey | Uint8Array>>();
  const verifyKeyOf = (jwk: PublicJwk): Promise<CryptoKey | Uint8Array> => {
    let key = verifyKeys.get(jwk.kid);
    if (key === undefined) {
      // Retired kids drop out of the JWKS within a day; a rotation a minute still stays small.
      if (verifyKeys.size >= 256) verifyKeys.clear();
      key = importJWK(jwk, jwk.alg);
      verifyKeys.set(jwk.kid, key);
    }
    return key;
  };

  /**
   * The claims of `parsed` once a key of `keys` verifies it: each key of the token's `alg` is
   * tried in turn, whatever its kid (as go-jose, which Vault hands one key at a time). go-jose
   * decodes the claims with the same call, so a payload its decoder refuses verifies with no key.
   */
  const verifiedClaims = async (
    parsed: ParsedJws,
    keys: readonly PublicJwk[],
  ): Promise<ReturnType<typeof decodeRegisteredClaims>> => {
    for (const jwk of keys) {
      if (jwk.alg !== parsed.alg) continue;
      try {
        await compactVerify(parsed.compact, await verifyKeyOf(jwk), { algorithms: [jwk.alg] });
      } catch {
        continue;
      }
      return decodeRegisteredClaims(parsed.payload);
    }
    return undefined;
  };

  const jwksMaxAgeSeconds = Math.min(
    DISCOVERY_MAX_AGE_SECONDS,
    ...[...keyConfigs.values()].flatMap((k) => [k.rotationPeriodSeconds, k.verificationTtlSeconds]),
  );

  return {
    /**
     * Signs a token for `roleName` naming `subject`. Checks in Vault's order: the role exists
     * (400 `role "<name>" not found`, the name cut to 128 characters), then the caller has an identity (400 `no entity associated
     * with the request's token` when `subject` is undefined, as for the admin token).
     *
     * @throws AuthgateError BAD_REQUEST as above; UNAVAILABLE (503) when the store cannot be
     *   read and the ring in process is older than `ringMaxAgeMs` (fail closed: never sign with a
     *   key that may have been rotated away); INTERNAL when the key ring does not open.
     */
    issue: async (roleName: string, subject: IdentitySubject | undefined): Promise<IssuedIdentityToken> => {
      const role = config.roles.get(roleName);
      if (role === undefined)
        throw badRequest(`role ${JSON.stringify(truncate(roleName))} not found`, 'identity_role_not_found');
      if (subject === undefined)
        throw badRequest("no entity associated with the request's token", 'identity_no_entity');
      const entry = await ringFor(role.key);
      const signer = await signerOf(role.key, entry);
      const claims = buildClaims(issuer, role.audience, subject, nowSeconds(clock), role.ttlSeconds);
      const token = await new SignJWT(claims)
        .setProtectedHeader({ alg: signer.alg, kid: signer.kid, typ: 'JWT' })
        .sign(signer.key);
      log.debug(
        {
          event: 'identity.token_issued',
          identity_role: roleName,
          key: role.key,
          kid: signer.kid,
          namespace: subject.namespace,
          service_account: subject.serviceAccountName,
          pod: subject.podName,
          auth_role: subject.role,
        },
        'identity.token_issued',
      );
      return { token, clientId: role.audience, ttlSeconds: role.ttlSeconds };
    },

    /**
     * The configuration the engine serves, for the API's read-only views of it: the issuer's base
     * URL as configured (no `/v1/identity/oidc`), the roles, and the keys, `default` included.
     */
    settings: {
      issuerBaseUrl: config.issuer,
      roles: config.roles as ReadonlyMap<string, IdentityRoleConfig>,
      keys: keyConfigs as ReadonlyMap<string, IdentityKeyConfig>,
    },

    /** Vault's discovery document; depends only on the config. */
    discovery: (): DiscoveryDocument => ({
      issuer,
      jwks_uri: `${issuer}/.well-known/keys`,
      response_types_supported: ['id_token'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: [...IDENTITY_ALGORITHMS],
    }),

    /**
     * The public keys of every ring a role uses: current, next, and retired keys still in their
     * verification window. While the store is down, the rings last loaded are served (public
     * keys only; the next key they hold covers one rotation made meanwhile by another replica).
     *
     * @throws AuthgateError UNAVAILABLE when a ring cannot be read and none was ever loaded.
     */
    jwks: async (): Promise<JwksDocument> => ({ keys: await publicKeysOf(usedKeyNames) }),

    /**
     * Vault's `identity/oidc/introspect`: whether `token` is an identity token this engine signed
     * and still stands behind. In Vault's order: the token parses (go-jose's compact JWS), one of
     * the published keys verifies it (every key a role uses; with `clientId`, the keys of the
     * roles whose audience it is, `invalid client-id` when none is), then go-jose's checks of
     * `iss`, `aud` (with `clientId`), `nbf`, `exp` and `iat`, with its minute of leeway. Vault
     * also looks up the entity the token names; authgate keeps no entities (the `sub` is the
     * service account), so a token that passes these checks is active.
     *
     * @throws AuthgateError UNAVAILABLE when a ring cannot be read and none was ever loaded.
     */
    introspect: async (token: string, clientId: string): Promise<Introspection> => {
      const parsed = parseCompactJws(token);
      if ('error' in parsed) return inactive(`error parsing token: ${parsed.error}`);
      let keyNames = usedKeyNames;
      if (clientId !== '') {
        keyNames = [
          ...new Set([...config.roles.values()].filter((r) => r.audience === clientId).map((r) => r.key)),
        ];
        if (keyNames.length === 0) return inactive('invalid client-id');
      }
      const claims = await verifiedClaims(parsed, await publicKeysOf(keyNames));
      if (claims === undefined) return inactive('unable to validate the token signature');
      const invalid = validateRegisteredClaims(claims, {
        issuer,
        ...(clientId !== '' ? { audience: clientId } : {}),
        nowMs: clock.nowMs(),
      });
      return invalid === undefined ? { active: true } : inactive(`error validating claims: ${invalid}`);
    },

    /**
     * The `max-age` (seconds) for the JWKS response: the shortest rotation period or verification
     * TTL of any key, at most an hour. A verifier that honours it always holds the current key (it
     * was published a rotation ahead) and drops a retired key at most this long after its window.
     */
    jwksMaxAgeSeconds,
    /** The `max-age` (seconds) for the discovery response. */
    discoveryMaxAgeSeconds: DISCOVERY_MAX_AGE_SECONDS,

    /**
     * Rotates `keyName` now (the waiting key starts signing; the current one retires into its
     * verification window), on whichever replica calls it. Resolves the kid now signing.
     * `verificationTtlSeconds` (Vault's `verification_ttl` of the rotate call, whole seconds, 0 or
     * more) replaces the key's own for the key this rotation retires; its window is still never
     * shorter than the longest token TTL plus the margin.
     *
     * @throws AuthgateError BAD_REQUEST (`no named key found at "<name>"`, the name cut to 128
     *   characters) for an unknown key;
     *   UNAVAILABLE when the store fails or another replica holds the lock past its TTL.
     */
    rotate: async (
      keyName: string,
      options: { verificationTtlSeconds?: number } = {},
    ): Promise<{ kid: string }> => {
      if (!keyConfigs.has(keyName)) {
        throw badRequest(
          `no named key found at ${JSON.stringify(truncate(keyName))}`,
          'identity_key_not_found',
        );
      }
      const terms = termsOf(keyName);
      const { verificationTtlSeconds } = options;
      if (verificationTtlSeconds !== undefined) terms.key = { ...terms.key, verificationTtlSeconds };
      const startedAtMs = clock.nowMs();
      const ring = await rings.rotate(terms);
      remember(keyName, ring, startedAtMs);
      return { kid: ring.current.kid };
    },

    /**
     * Re-seals the ring of every configured key under the current encryption key where a previous
     * key sealed it, one ring at a time under its lock. `onUnopenable` hears the name of each ring
     * left as it was. A ring of a key since removed from the config is not visited.
     *
     * @throws AuthgateError UNAVAILABLE when the store fails or a ring's lock stays taken.
     */
    rewrap: async (onUnopenable: (keyName: string) => void): Promise<ResealCounts> => {
      const counts: ResealCounts = { resealed: 0, unopenable: 0 };
      for (const name of keyConfigs.keys()) {
        const one = await rings.reseal(name);
        counts.resealed += one.resealed;
        counts.unopenable += one.unopenable;
        if (one.unopenable > 0) onUnopenable(name);
      }
      return counts;
    },

    /** Stops the refresh timer. Idempotent. */
    close: (): void => {
      if (timer !== undefined) clearInterval(timer);
    },
  };
};
export type IdentityTokens = ReturnType<typeof createIdentityTokens>;
