import { permissionDenied } from '../errors.js';
import type { ObjectRef } from './identity.js';
import { jsonTooDeep } from '../lib/json-depth.js';

/**
 * Claims read from a JWT WITHOUT verifying it. Used only to check bindings before any network
 * call (as Vault does) and to pick keys; a decision to let a workload in is never made on these
 * alone: a verifier must confirm them.
 */
export type UnverifiedClaims = {
  header: { alg?: string; kid?: string; typ?: string };
  issuer?: string;
  subject?: string;
  audiences: string[];
  expiresAt?: number;
  notBefore?: number;
  issuedAt?: number;
  jti?: string;
  namespace?: string;
  serviceAccount?: Partial<ObjectRef>;
  pod?: ObjectRef;
  node?: { name: string; uid?: string };
  /** The legacy token's Secret (`service_account_secret_name`, as Vault reads it: legacy only). */
  secretName?: string;
  /** The Secret a projected token is bound to (`kubernetes.io.secret`): why a review failed. */
  boundSecret?: ObjectRef;
  legacy: boolean;
};

/** Why a string is not a parseable JWT. Caller shows Vault's generic message. */
export class MalformedTokenError extends Error {
  constructor(readonly reason: string) {
    super(`malformed token: ${reason}`);
    this.name = 'MalformedTokenError';
  }
}

const B64URL = /^[A-Za-z0-9_-]*$/;
/** Deeper than any JWT's header or claims nest (a few levels; 64 leaves room for custom claims). */
const MAX_CLAIMS_DEPTH = 64;

const decodeSegment = (segment: string, what: string): Record<string, unknown> => {
  // RawURLEncoding as the API server uses: no padding, URL alphabet only.
  if (segment === '' || !B64URL.test(segment)) throw new MalformedTokenError(`${what} is not base64url`);
  const text = Buffer.from(segment, 'base64url').toString('utf8');
  // No token's claims nest like this; parsing a body's worth of `[` would hold the event loop.
  if (jsonTooDeep(text, MAX_CLAIMS_DEPTH)) throw new MalformedTokenError(`${what} is nested too deeply`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new MalformedTokenError(`${what} is not JSON`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new MalformedTokenError(`${what} is not a JSON object`);
  }
  return parsed as Record<string, unknown>;
};

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
/**
 * A time claim as go-jose reads a `NumericDate`: absent or `null` is none; a number is itself;
 * anything else (`"1700000000"`, a list) fails its decoding, and with it the token, where a
 * lenient reading would take a `nbf` or `iat` written as a string for no claim at all.
 */
const numericDate = (payload: Record<string, unknown>, name: 'exp' | 'nbf' | 'iat'): number | undefined => {
  const v = payload[name];
  if (v === undefined || v === null) return undefined;
  const n = num(v);
  if (n === undefined) throw new MalformedTokenError(`${name} is not a number`);
  return n;
};
const obj = (v: unknown): Record<string, unknown> | undefined =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;

/**
 * The string-valued fields `names` of `o`, in that order; the others are left out. Built by
 * assignment, not as `{ ...(a ? { a } : {}), ...(b ? { b } : {}) }`: on Node 20's V8 an object
 * that starts with a spread and then gains a property gets a hidden class of its own, so every
 * token parsed that way cost a new map (about 0.5 µs) and was kept in dictionary mode once frozen.
 */
const stringFields = <K extends string>(
  o: Record<string, unknown>,
  ...names: K[]
): Partial<Record<K, string>> => {
  const out: Partial<Record<K, string>> = {};
  for (const name of names) {
    const v = o[name];
    if (typeof v === 'string') out[name] = v;
  }
  return out;
};

const ref = (v: unknown): ObjectRef | undefined => {
  const o = obj(v);
  const name = str(o?.['name']);
  const uid = str(o?.['uid']);
  return name !== undefined && uid !== undefined ? { name, uid } : undefined;
};

/** `aud` may be a string or an array of strings (RFC 7519); anything else counts as none. */
export const audienceList = (aud: unknown): string[] => {
  if (typeof aud === 'string') return [aud];
  if (Array.isArray(aud)) return aud.filter((a): a is string => typeof a === 'string');
  return [];
};

const LEGACY = 'kubernetes.io/serviceaccount/';

/**
 * Splits and decodes a compact JWS without verifying it, and reads the Kubernetes claims from
 * either layout: projected (`kubernetes.io.{namespace,serviceaccount,pod,node,secret}`) or legacy
 * (flat `kubernetes.io/serviceaccount/*`). When both are present the projected layout wins, as
 * in Vault. Throws {@link MalformedTokenError} for anything that is not a three-part JWS.
 */
export const parseUnverifiedClaims = (jwt: string): UnverifiedClaims => parseClaimsAndPayload(jwt).claims;

/**
 * {@link parseUnverifiedClaims}, with the whole decoded payload beside the claims read from it:
 * what a jwt mount's roles match their claims against (`bound_claims`, `user_claim`). Not verified.
 */
export const parseClaimsAndPayload = (
  jwt: string,
): { claims: UnverifiedClaims; payload: Record<string, unknown> } => {
  if (jwt.startsWith('{')) throw new MalformedTokenError('JSON serialization is not accepted');
  const parts = jwt.split('.');
  if (parts.length !== 3) throw new MalformedTokenError('expected three dot-separated parts');
  const [h = '', p = '', s = ''] = parts;
  const header = decodeSegment(h, 'header');
  const payload = decodeSegment(p, 'payload');
  if (s === '' || !B64URL.test(s)) throw new MalformedTokenError('signature is not base64url');

  const k8s = obj(payload['kubernetes.io']);
  const claims: UnverifiedClaims = {
    header: stringFields(header, 'alg', 'kid', 'typ'),
    audiences: audienceList(payload['aud']),
    legacy: false,
  };
  const set = <K extends keyof UnverifiedClaims>(key: K, value: UnverifiedClaims[K] | undefined) => {
    if (value !== undefined) claims[key] = value;
  };
  set('issuer', str(payload['iss']));
  set('subject', str(payload['sub']));
  set('expiresAt', numericDate(payload, 'exp'));
  set('notBefore', numericDate(payload, 'nbf'));
  set('issuedAt', numericDate(payload, 'iat'));
  set('jti', str(payload['jti']));

  if (k8s !== undefined) {
    set('namespace', str(k8s['namespace']));
    const sa = obj(k8s['serviceaccount']);
    if (sa !== undefined) claims.serviceAccount = stringFields(sa, 'name', 'uid');
    set('pod', ref(k8s['pod']));
    const node = obj(k8s['node']);
    const nodeName = str(node?.['name']);
    if (nodeName !== undefined) {
      const nodeUid = str(node?.['uid']);
      claims.node = { name: nodeName, ...(nodeUid !== undefined ? { uid: nodeUid } : {}) };
    }
    // A token bound to a Secret names it, but Vault's serviceAccount reads
    // `service_account_secret_name` from the legacy flat claim only: "" for a projected token.
    set('boundSecret', ref(k8s['secret']));
  } else if (str(payload[`${LEGACY}namespace`]) !== undefined) {
    claims.legacy = true;
    set('namespace', str(payload[`${LEGACY}namespace`]));
    const serviceAccount: Partial<ObjectRef> = {};
    const name = str(payload[`${LEGACY}service-account.name`]);
    const uid = str(payload[`${LEGACY}service-account.uid`]);
    if (name !== undefined) serviceAccount.name = name;
    if (uid !== undefined) serviceAccount.uid = uid;
    claims.serviceAccount = serviceAccount;
    set('secretName', str(payload[`${LEGACY}secret.name`]));
  }
  return { claims, payload };
};

/**
 * {@link parseUnverifiedClaims} for a login: a token that is not a JWS is refused as Vault
 * refuses it, with a plain `permission denied` (403) whose internal reason is `malformed_token`.
 */
export const parseLoginClaims = (jwt: string): UnverifiedClaims => {
  try {
    return parseUnverifiedClaims(jwt);
  } catch (err) {
    if (err instanceof MalformedTokenError) throw permissionDenied('malformed_token', err.reason);
    throw err;
  }
};
