import { LRUCache } from 'lru-cache';
import type { JwtMountConfig } from '../config/index.js';
import type { Clock } from '../lib/clock.js';
import { annotate, withSpan } from '../lib/tracing.js';
import { createJwksProver, type JwksProverDeps } from './jwks-prover.js';
import { JWKS_RESULT_TTL_MS } from './jwks-verifier.js';
import { countKeyLoads, newVerifierStats, type VerifierControl, type VerifierStats } from './verifier.js';
import type { VerifierLog } from './verifier-log.js';

export type JwtVerifierDeps = {
  clock: Clock;
  log: VerifierLog;
  /** Replaces node:http(s) for JWKS and discovery fetches (then the mount's CA is not applied). */
  fetch?: typeof fetch;
  /**
   * Wraps the key source with a level shared by replicas (URL and discovery sources only): one
   * replica's fetch serves the others. `reload` reloads the keys when another announces a set.
   */
  shareSource?: JwksProverDeps['shareSource'];
};

/** Bound on the proven signatures a jwt mount keeps. */
const PROOF_MAX_ENTRIES = 100_000;

/** A jwt mount's verifier: the signature of a token, under the issuer's keys. */
export type JwtVerifier = VerifierControl & {
  /**
   * Resolves when `jwt`'s signature holds under a key of the mount's set that fits its `alg` (one
   * of `jwt_supported_algs`) and `kid`. Proves nothing about the claims: the role's checks do.
   * Rejects as {@link createJwksProver}'s `prove` does (`algorithm_not_allowed`, `jwks_*`,
   * `UNAVAILABLE`). `tokenDigest` is the login's keyed hash of `jwt`, under which a proof is kept.
   */
  verify(jwt: string, tokenDigest: string): Promise<void>;
};

/**
 * Verifies the signatures of a jwt mount's tokens against its keys (OIDC discovery, a JWKS URL,
 * or `jwt_validation_pubkeys`), refreshed as a kubernetes mount's `jwks` keys are. A signature
 * once proven is kept for 60 s under the token's digest, so a workload that logs in again with
 * the same token costs no signature check; every proof is dropped when a key leaves the set. The
 * claims are the role's to check, at every login, so a kept proof never outlives a token's `exp`
 * in effect.
 */
export const createJwtVerifier = (mount: JwtMountConfig, deps: JwtVerifierDeps): JwtVerifier => {
  const counters: VerifierStats = newVerifierStats();
  // The instant (injected clock, ms) each proof lapses: tests move time as logins see it.
  const proven = new LRUCache<string, number>({ max: PROOF_MAX_ENTRIES });
  /** Bumped whenever keys leave the set: a proof begun before then is not kept. */
  let keyGeneration = 0;
  const prover = createJwksProver(
    {
      // A discovery document must name the discovery URL itself as its issuer, as go-oidc (Vault)
      // requires: the keys it points to are that issuer's.
      issuers: mount.keys.source.kind === 'oidc-discovery' ? [mount.keys.source.url] : [],
      allowedAlgorithms: mount.allowedAlgorithms,
      allowInsecureHttp: mount.allowInsecureHttp === true,
    },
    mount.keys,
    {
      clock: deps.clock,
      log: deps.log,
      fetch: deps.fetch,
      shareSource: deps.shareSource,
      ...countKeyLoads(counters),
      onKeysDropped: () => {
        keyGeneration++;
        proven.clear();
      },
    },
  );

  return {
    mode: 'jwks',
    verify: (jwt, tokenDigest) =>
      withSpan('authgate.verify', { 'authgate.mount': mount.path, 'authgate.mode': 'jwks' }, async () => {
        const seenAt = deps.clock.nowMs();
        const lapsesAt = proven.get(tokenDigest);
        if (lapsesAt !== undefined && lapsesAt > seenAt) {
          counters.cacheHits++;
          annotate('authgate.cache', 'hit');
          return;
        }
        counters.cacheMisses++;
        annotate('authgate.cache', 'miss');
        const generation = keyGeneration;
        await prover.prove(jwt);
        if (generation === keyGeneration) proven.set(tokenDigest, seenAt + JWKS_RESULT_TTL_MS);
      }),
    ready: () => prover.keys.ready(),
    stats: () => ({ ...counters }),
    // A kept proof is of a signature only, which revoking a workload does not make false.
    invalidate: () => Promise.resolve(0),
    close: async () => {
      proven.clear();
      await prover.close();
    },
  };
};
