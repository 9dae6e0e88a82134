import { withoutGoSpace } from '../../lib/go-space.js';

/**
 * What `identity/oidc/introspect` answers, as Vault's raw body: `{"active":true}`, or
 * `{"active":false,"error":"<why>"}`. Not an API error: a token that does not check out is a
 * 200 with `active: false`, so that a downstream service can ask without parsing error shapes.
 */
export type Introspection = { active: true } | { active: false; error: string };

export const inactive = (error: string): Introspection => ({ active: false, error });

/** A compact JWS split and decoded, as go-jose's `jwt.ParseSigned` reads it; nothing verified. */
export type ParsedJws = {
  /** The token as verified: go-jose drops white space anywhere in it first. */
  compact: string;
  /** The protected header's `alg`; `''` when absent or not a string (no key verifies it then). */
  alg: string;
  /** The payload's bytes, decoded. */
  payload: Buffer;
};

const BASE64URL = /^[A-Za-z0-9_-]*$/;

/**
 * Go's `base64.RawURLEncoding.DecodeString` after go-jose trims trailing `=`: the decoded bytes,
 * or Go's error text (`illegal base64 data at input byte <n>`: the first character outside the
 * alphabet, or the lone character of a final group of one).
 */
const base64UrlDecode = (part: string): Buffer | string => {
  let end = part.length;
  while (end > 0 && part.charCodeAt(end - 1) === 0x3d) end--;
  const value = end === part.length ? part : part.slice(0, end);
  if (!BASE64URL.test(value)) {
    let i = 0;
    while (/[A-Za-z0-9_-]/.test(value.charAt(i))) i++;
    return `illegal base64 data at input byte ${i}`;
  }
  if (value.length % 4 === 1) return `illegal base64 data at input byte ${value.length - 1}`;
  return Buffer.from(value, 'base64url');
};

/** Go's name for a JSON value's kind in `json: cannot unmarshal <kind> into …`. */
const goJsonKind = (v: unknown): string =>
  Array.isArray(v) ? 'array' : typeof v === 'boolean' ? 'bool' : typeof v === 'object' ? 'object' : typeof v;

/**
 * go-jose (v3) `jwt.ParseSigned` of `token`, with its error texts where they are known: three
 * dot-separated parts, each base64url, the protected header a JSON object (or empty, or `null`).
 * Returns the parsed token or `{ error }`; never throws.
 */
export const parseCompactJws = (token: string): ParsedJws | { error: string } => {
  const compact = withoutGoSpace(token);
  const parts = compact.split('.');
  if (parts.length !== 3) return { error: 'go-jose/go-jose: compact JWS format must have three parts' };
  const decoded: Buffer[] = [];
  for (const part of parts) {
    const bytes = base64UrlDecode(part);
    if (typeof bytes === 'string') return { error: bytes };
    decoded.push(bytes);
  }
  const [header, payload] = decoded as [Buffer, Buffer, Buffer];
  let alg = '';
  if (header.length > 0) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(header.toString('utf8'));
    } catch {
      return { error: 'the protected header is not JSON' };
    }
    if (parsed !== null && (typeof parsed !== 'object' || Array.isArray(parsed))) {
      return { error: `json: cannot unmarshal ${goJsonKind(parsed)} into Go value of type jose.rawHeader` };
    }
    const value = (parsed as { alg?: unknown } | null)?.alg;
    if (typeof value === 'string') alg = value;
  }
  return { compact, alg, payload };
};

/** The registered claims go-jose's `jwt.Claims` reads; `undefined` where absent or `null`. */
export type RegisteredClaims = {
  iss?: string;
  aud?: string[];
  exp?: number;
  nbf?: number;
  iat?: number;
};

const numericDate = (v: unknown): number | undefined | false =>
  v === undefined || v === null ? undefined : typeof v === 'number' ? Math.trunc(v) : false;

/**
 * The payload decoded into go-jose's `jwt.Claims`, or `undefined` where Go's decoder would fail
 * (not an object; `iss` not a string; `aud` neither a string nor a list of strings; a time not a
 * number). go-jose reads the claims as part of checking the signature with a key, so such a
 * payload fails that check (Vault then answers that no key validates the signature).
 */
export const decodeRegisteredClaims = (payload: Buffer): RegisteredClaims | undefined => {
  let parsed: unknown;
  try {
    parsed = JSON.parse(payload.toString('utf8'));
  } catch {
    return undefined;
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return undefined;
  const raw = parsed as Record<string, unknown>;
  const claims: RegisteredClaims = {};
  const iss = raw['iss'];
  if (iss !== undefined && iss !== null) {
    if (typeof iss !== 'string') return undefined;
    claims.iss = iss;
  }
  const aud = raw['aud'];
  if (typeof aud === 'string') claims.aud = [aud];
  else if (Array.isArray(aud)) {
    if (!aud.every((a): a is string => typeof a === 'string')) return undefined;
    claims.aud = aud;
  } else if (aud !== undefined && aud !== null) return undefined;
  for (const name of ['exp', 'nbf', 'iat'] as const) {
    const t = numericDate(raw[name]);
    if (t === false) return undefined;
    if (t !== undefined) claims[name] = t;
  }
  return claims;
};

/** go-jose's `jwt.DefaultLeeway`, which Vault's `claims.Validate` applies. */
const GO_JOSE_LEEWAY_SECONDS = 60;

const FAILED = 'go-jose/go-jose/jwt: validation failed';

/**
 * go-jose's `Claims.Validate` as Vault calls it for an introspection: the issuer, the audience
 * when a client id is given, then `nbf`, `exp` and `iat` against `nowMs` with a minute's leeway,
 * in that order. Times are compared to the millisecond, as Go compares `time.Time`: a token is
 * expired as soon as `exp` plus the leeway has passed, not a second later. Returns go-jose's
 * error text (its `validation field` typo included), or `undefined` when the claims hold.
 */
export const validateRegisteredClaims = (
  claims: RegisteredClaims,
  expected: { issuer: string; audience?: string; nowMs: number },
): string | undefined => {
  const { nowMs } = expected;
  const leewayMs = GO_JOSE_LEEWAY_SECONDS * 1000;
  if (claims.iss !== expected.issuer) return `${FAILED}, invalid issuer claim (iss)`;
  if (expected.audience !== undefined && !(claims.aud ?? []).includes(expected.audience)) {
    return `${FAILED}, invalid audience claim (aud)`;
  }
  if (claims.nbf !== undefined && nowMs + leewayMs < claims.nbf * 1000) {
    return `${FAILED}, token not valid yet (nbf)`;
  }
  if (claims.exp !== undefined && nowMs - leewayMs > claims.exp * 1000) {
    return `${FAILED}, token is expired (exp)`;
  }
  if (claims.iat !== undefined && nowMs + leewayMs < claims.iat * 1000) {
    return 'go-jose/go-jose/jwt: validation field, token issued in the future (iat)';
  }
  return undefined;
};
