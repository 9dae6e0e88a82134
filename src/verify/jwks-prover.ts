import type { JwksConfig, KubernetesMountConfig } from '../config/index.js';
import { loginDenied, permissionDenied } from '../errors.js';
import { CLAIM_MESSAGES } from '../identity/index.js';
import type { Clock } from '../lib/clock.js';
import { truncate } from '../lib/truncate.js';
import { createKeyStore, type KeyStore } from './jwks-key-store.js';
import { createJwksSource, type JwksSource } from './jwks-source.js';
import { verifyJws } from './jws-signature.js';
import { createReviewerToken, type ReviewerToken } from './reviewer-token.js';
import type { VerifierLog } from './verifier-log.js';

/** A file source is re-checked (one `stat`) at most this often. */
const FILE_RECHECK_MS = 2000;

export type JwksProverDeps = {
  clock: Clock;
  log: VerifierLog;
  /** Replaces node:http(s) for JWKS and discovery fetches (then `jwks.caCert` is not applied). */
  fetch?: typeof fetch | undefined;
  /**
   * Wraps the key source with a level shared by replicas (fetched URL and discovery sets only).
   * `reload` reloads the keys when another replica announces a new set.
   */
  shareSource?:
    ((source: JwksSource, reload: () => void) => JwksSource & { close?(): Promise<void> }) | undefined;
  /** Called once per JWKS fetch or file read. */
  onUpstreamCall: () => void;
  /** Called on every failed load of the key set. */
  onError: () => void;
  /** Called when a newly loaded set lacks a key the previous one held, before that set serves. */
  onKeysDropped?: () => void;
  /**
   * The mount's reader of `token_reviewer_jwt_file`, when another part holds one already (the
   * TokenReview verifier): one reader per file, and a token re-read after a 401 serves both.
   * Default: a reader of its own.
   */
  reviewerToken?: ReviewerToken | undefined;
};

/**
 * What the prover needs of its mount: the algorithms it accepts, the issuers a discovery document
 * may name, whether plain HTTP is allowed, and (kubernetes mounts) the API server and reviewer
 * token that its discovery endpoints are read with.
 */
export type ProverMount = Pick<KubernetesMountConfig, 'issuers' | 'allowInsecureHttp'> & {
  /** A kubernetes mount's `allowed_algorithms`, a jwt mount's `jwt_supported_algs` (EdDSA too). */
  allowedAlgorithms: readonly string[];
} & Partial<Pick<KubernetesMountConfig, 'kubernetesHost' | 'kubernetesCaCert' | 'tokenReviewerJwtFile'>>;

export type JwksProver = {
  /**
   * Resolves when the JWT's signature holds under a key of the set that fits its header's `alg`
   * (one of `mount.allowedAlgorithms`) and `kid`. Proves nothing about the claims.
   *
   * Rejects `LOGIN_DENIED` (`algorithm_not_allowed`) for an alg not allowed, before any key lookup;
   * `PERMISSION_DENIED` with reason `jwks_malformed`, `jwks_unknown_kid` (still unknown after the
   * rate-limited refetch), `jwks_no_matching_key` or `jwks_bad_signature`; `UNAVAILABLE` when no
   * key set could ever be loaded.
   */
  prove(jwt: string): Promise<void>;
  keys: KeyStore;
  close(): Promise<void>;
};

/**
 * The signature check of a mount's `jwks` keys (file, URL or OIDC discovery), refreshed as
 * {@link createKeyStore} describes: what `jwks` verification proves a token with, and what a
 * `tokenreview` mount's prefilter sheds forged tokens with.
 *
 * The mount's reviewer token (if any) is presented only to the API server itself (same origin as
 * `kubernetesHost`), whose discovery endpoints are readable by service accounts only.
 */
export const createJwksProver = (mount: ProverMount, jwks: JwksConfig, deps: JwksProverDeps): JwksProver => {
  const { clock, log } = deps;
  // Keys on this machine (a file, or given in the config): re-checked often, never shared.
  const isFile = jwks.source.kind === 'file' || jwks.source.kind === 'keys';
  const reviewer =
    mount.tokenReviewerJwtFile !== undefined && mount.kubernetesHost !== undefined
      ? {
          token: deps.reviewerToken ?? createReviewerToken(mount.tokenReviewerJwtFile, { clock, log }),
          origin: new URL(mount.kubernetesHost).origin,
        }
      : undefined;
  const inner = createJwksSource(jwks, mount.issuers, {
    clock,
    fetch: deps.fetch,
    allowInsecureHttp: mount.allowInsecureHttp === true,
    ...(reviewer === undefined
      ? {}
      : {
          bearerFor: async (url: string) =>
            new URL(url).origin === reviewer.origin ? reviewer.token.get().catch(() => undefined) : undefined,
          ...(mount.kubernetesCaCert === undefined ? {} : { bearerCaCert: mount.kubernetesCaCert }),
        }),
    onUpstreamCall: deps.onUpstreamCall,
  });
  let reload = (): void => undefined;
  const source = isFile || deps.shareSource === undefined ? inner : deps.shareSource(inner, () => reload());
  const keyStore = createKeyStore({
    source,
    maxAgeMs: isFile ? FILE_RECHECK_MS : jwks.maxAgeMs,
    cooldownMs: isFile ? FILE_RECHECK_MS : jwks.cooldownMs,
    clock,
    log,
    onError: deps.onError,
    ...(deps.onKeysDropped ? { onKeysDropped: deps.onKeysDropped } : {}),
  });
  reload = () => void keyStore.reload();
  const allowed: readonly string[] = mount.allowedAlgorithms;

  const prove = async (jwt: string): Promise<void> => {
    let header: Record<string, unknown>;
    try {
      header = JSON.parse(
        Buffer.from(jwt.slice(0, jwt.indexOf('.')), 'base64url').toString('utf8'),
      ) as Record<string, unknown>;
    } catch (err) {
      throw permissionDenied('jwks_malformed', (err as Error).message);
    }
    const alg = header['alg'];
    // Checked before any key lookup, so a `none`/HS* token never causes a JWKS fetch.
    if (typeof alg !== 'string' || !allowed.includes(alg)) {
      throw loginDenied(CLAIM_MESSAGES.alg, 'algorithm_not_allowed', `alg=${truncate(String(alg))}`);
    }
    // RFC 7515 §4.1.11: a critical extension authgate does not understand must be refused.
    if (header['crit'] !== undefined || header['b64'] !== undefined) {
      throw permissionDenied('jwks_malformed', 'unsupported critical header parameter');
    }
    // RFC 7515 §4.1.4: a kid is a string. go-jose (Vault) fails to parse any other header, and
    // a token is not let through by reading it as one that names no key. A `null` it reads as
    // absent (a JSON null leaves its field unset), and so does authgate.
    const rawKid = header['kid'] === null ? undefined : header['kid'];
    if (rawKid !== undefined && typeof rawKid !== 'string') {
      throw permissionDenied('jwks_malformed', 'kid is not a string');
    }
    // Tokens minted before kid support carry `kid: ""`: same as no kid, every key of the family is tried.
    const kid = rawKid !== undefined && rawKid !== '' ? rawKid : undefined;
    const keys = await keyStore.candidates(alg, kid);
    const kidForLog = truncate(String(kid));
    if (keys.length === 0) {
      throw kid !== undefined && !keyStore.knows(kid)
        ? permissionDenied('jwks_unknown_kid', `kid=${kidForLog}`)
        : permissionDenied('jwks_no_matching_key', `alg=${alg} kid=${kidForLog}`);
    }
    // Several keys may match a kid-less token: any one that verifies proves it.
    if (keys.some((key) => verifyJws(jwt, alg, key))) return;
    throw permissionDenied('jwks_bad_signature', `alg=${alg} kid=${kidForLog} keys tried=${keys.length}`);
  };

  return {
    prove,
    keys: keyStore,
    close: async () => {
      await (source as { close?: () => Promise<void> }).close?.();
    },
  };
};
