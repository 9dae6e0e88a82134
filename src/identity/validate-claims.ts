import { loginDenied } from '../errors.js';
import { truncate } from '../lib/truncate.js';
import type { UnverifiedClaims } from './claims.js';

/** Vault's messages for claim failures (hashicorp/cap, vault-compat.md §1.3), one place for every verifier. */
export const CLAIM_MESSAGES = {
  alg: 'invalid algorithm (alg) header parameter: token signed with unexpected algorithm',
  iss: 'invalid issuer (iss) claim',
  aud: 'invalid audience (aud) claim: audience claim does not match any expected audience',
  exp: 'invalid expiration time (exp) claim: token is expired',
  nbf: 'invalid not before (nbf) claim: token not yet valid',
  iat: 'invalid issued at (iat) claim: token issued in the future',
} as const;

export type ClaimExpectations = {
  /** Accepted `alg` header values (never `none`, never HS*; config guarantees it). */
  algorithms: readonly string[];
  /** Accepted `iss` values; empty = not checked. */
  issuers: readonly string[];
  /** Audience `aud` must contain; undefined = not checked (role explicitly allows it). */
  audience: string | undefined;
  /** Clock skew allowed on exp/nbf/iat, seconds (60 as the API server and go-jose). */
  leewaySeconds: number;
  /**
   * Now, milliseconds since the epoch: the instant, not whole seconds, as go-jose compares it
   * (a token is expired 1 ms past `exp` + leeway, not at the next whole second).
   */
  nowMs: number;
};

/**
 * Vault's `parseAndValidateJWT` claim checks, on claims NOT yet verified, in Vault's order and
 * with Vault's messages (vault-compat §1.3): algorithm, issuer, audience, then nbf/exp/iat with
 * leeway. Missing exp/nbf/iat are allowed, as Vault allows for legacy secret tokens.
 *
 * Why run them before verification: a token that is wrong on its face is refused without a
 * signature check or an API call, and the client gets the same message in both modes. These
 * checks decide only refusals; acceptance always needs the verifier's proof.
 * Throws `LOGIN_DENIED` (403) with the Vault message and an internal reason; its `detail` quotes
 * the offending claim cut to 128 characters (the claims are attacker-controlled and end up in logs).
 */
export const validateClaims = (claims: UnverifiedClaims, expect: ClaimExpectations): void => {
  const alg = claims.header.alg;
  if (alg === undefined || !expect.algorithms.includes(alg)) {
    throw loginDenied(CLAIM_MESSAGES.alg, 'algorithm_not_allowed', `alg=${truncate(String(alg))}`);
  }
  if (expect.issuers.length > 0 && (claims.issuer === undefined || !expect.issuers.includes(claims.issuer))) {
    throw loginDenied(CLAIM_MESSAGES.iss, 'issuer_mismatch', `iss=${truncate(String(claims.issuer))}`);
  }
  if (expect.audience !== undefined && !claims.audiences.includes(expect.audience)) {
    throw loginDenied(
      CLAIM_MESSAGES.aud,
      'audience_mismatch',
      `aud=${truncate(JSON.stringify(claims.audiences))} want=${expect.audience}`,
    );
  }
  // Vault's (hashicorp/cap jwt.go) and the API server's comparisons, in milliseconds: `exp`,
  // `nbf` and `iat` are whole seconds, the clock is not.
  const { nowMs: now } = expect;
  const leeway = expect.leewaySeconds * 1000;
  // In cap's order, nbf before exp: a token edited to fail both gets Vault's message.
  if (claims.notBefore !== undefined && now + leeway < claims.notBefore * 1000) {
    throw loginDenied(CLAIM_MESSAGES.nbf, 'not_yet_valid');
  }
  if (claims.expiresAt !== undefined && now - leeway > claims.expiresAt * 1000) {
    throw loginDenied(CLAIM_MESSAGES.exp, 'expired');
  }
  if (claims.issuedAt !== undefined && now + leeway < claims.issuedAt * 1000) {
    throw loginDenied(CLAIM_MESSAGES.iat, 'issued_in_future');
  }
};
