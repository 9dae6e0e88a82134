import { createHmac, createSecretKey } from 'node:crypto';
import { isExactNumber } from '../lib/exact-json.js';

/** The prefix Vault gives every HMAC'd value in an audit entry. */
export const HMAC_PREFIX = 'hmac-sha256:';

/** HMACs one value for an entry: `hmac-sha256:` + hex HMAC-SHA256(salt, value). */
export type Hasher = (value: string) => string;

/**
 * The hasher of one device: HMAC-SHA256 keyed with the device's salt (the salt string's UTF-8
 * bytes, as Vault keys with its salt UUID). What `POST /v1/sys/audit-hash/<device>` answers is
 * this, so an operator can compute a token's HMAC and search the entries for it. Nothing is
 * remembered: a value (a token) lives no longer than the entry it is hashed for.
 */
export const createHasher = (salt: string): Hasher => {
  const key = createSecretKey(Buffer.from(salt, 'utf8'));
  return (value) => HMAC_PREFIX + createHmac('sha256', key).update(value).digest('hex');
};

/**
 * Depth below which `hashStrings` walks into data; anything nested deeper is HMAC'd whole. A
 * client's body can nest arbitrarily deep (JSON.parse does not mind): walking it all would
 * overflow the stack and fail the audit of that request.
 */
const MAX_DATA_DEPTH = 32;

/**
 * Characters of output `hashStrings` writes for one value (a request's or an answer's `data`):
 * each HMAC costs its 77, each key and each number, boolean or null kept its text. A collection
 * whose keys and members alone would pass what is left is HMAC'd whole; a walk that passes it
 * anyway is abandoned and the whole value HMAC'd. A 1 MiB body of 350 000 empty strings, on a
 * login route that needs no token, cost 1.5 s of the event loop and 11 MB of audit file per
 * request (one HMAC each), and ten 90 000-character keys 1.8 MB (keys were kept whole). No real
 * request or answer comes near: a KV secret of 800 fields is an extreme one.
 */
export const MAX_HASHED_CHARS = 65_536;

/** The JSON of a value nested too deep to walk, or a marker when even that is too deep. */
const wholeJson = (value: object): string => {
  try {
    return JSON.stringify(value);
  } catch {
    return '[too deeply nested]';
  }
};

/** Thrown through a walk that has spent its budget. */
const EXHAUSTED = Symbol('audit hash budget spent');

/**
 * A copy of `value` with every string in it HMAC'd; keys, numbers, booleans and nulls kept
 * (Vault's `hashstructure`). Used for request and response `data`, so whatever a client or a
 * route puts there — a JWT, a token in a lookup, an accessor — is never written. An object or
 * array nested deeper than {@link MAX_DATA_DEPTH} levels is replaced by the HMAC of its JSON, and
 * so is one whose keys and members would pass what is left of {@link MAX_HASHED_CHARS}; should the
 * walk pass it all the same, the whole of `value` is one HMAC.
 *
 * One departure from Vault: under a top-level `data` key — the secret itself in KV v2 requests
 * (`{"data": {...}}`) and responses (`data.data`) — numbers and booleans are HMAC'd too (of their
 * JSON text), since a PIN or a port number written as a number is as secret as a string.
 *
 * A number kept as the text it was written with (`ExactNumber`, e.g. `1.10` in KV data) is a
 * number here too: under `data` its text is HMAC'd (for any other number that text is its JSON
 * text, so the HMAC is the one it always had); elsewhere (a `cas` written `1.0`) it is kept in
 * clear, as the float64 every number of an entry is.
 */
export const hashStrings = (value: unknown, hash: Hasher): unknown => {
  const budget = { left: MAX_HASHED_CHARS };
  try {
    return walk(value, hash, 0, false, budget);
  } catch (err) {
    if (err !== EXHAUSTED || value === null || typeof value !== 'object') throw err;
    return hashedWhole(value, hash);
  }
};

/**
 * The fields of a `data` block an entry is searched by (`audit query --hmac`, the logins API):
 * a login's `role` and `jwt`, a lookup's `token` and `accessor`. Kept (HMAC'd) when the block is
 * HMAC'd whole, so that padding a body with junk fields does not hide a stolen JWT.
 */
export const SEARCHED_DATA_FIELDS = ['role', 'jwt', 'token', 'accessor'] as const;

/** The key under which a block HMAC'd whole keeps that HMAC, beside {@link SEARCHED_DATA_FIELDS}. */
export const HASHED_WHOLE_KEY = '[hashed whole]';

/** A `data` block past the budget: its searched fields HMAC'd, and the HMAC of the whole. */
const hashedWhole = (value: object, hash: Hasher): unknown => {
  const whole = hash(wholeJson(value));
  if (Array.isArray(value)) return whole;
  const out: Record<string, string> = {};
  for (const name of SEARCHED_DATA_FIELDS) {
    const v = (value as Record<string, unknown>)[name];
    if (typeof v === 'string') out[name] = hash(v);
  }
  out[HASHED_WHOLE_KEY] = whole;
  return out;
};

const walk = (
  value: unknown,
  hash: Hasher,
  depth: number,
  secret: boolean,
  budget: { left: number },
): unknown => {
  const spend = (chars: number): void => {
    budget.left -= chars;
    if (budget.left < 0) throw EXHAUSTED;
  };
  const one = (text: string): string => {
    const hashed = hash(text);
    spend(hashed.length);
    return hashed;
  };
  if (typeof value === 'string') return one(value);
  if (secret && (typeof value === 'number' || typeof value === 'boolean')) return one(JSON.stringify(value));
  if (value === null || typeof value !== 'object') {
    spend(String(value).length);
    return value;
  }
  if (isExactNumber(value)) {
    if (secret) return one(value.text);
    spend(value.text.length);
    return value.valueOf();
  }
  const keys = Array.isArray(value) ? undefined : Object.keys(value);
  const members = keys === undefined ? (value as unknown[]).length : keys.length;
  let keyChars = 0;
  // As written: a key of control characters is six times its length in the entry.
  for (const k of keys ?? []) keyChars += JSON.stringify(k).length - 2;
  // The collection's own text: brackets, a comma per member, each key with its quotes and colon
  // (an empty list costs its two characters, or a list of 60 000 of them would cost nothing).
  const own = 2 + members + keyChars + 3 * (keys?.length ?? 0);
  if (depth >= MAX_DATA_DEPTH || own > budget.left) {
    // The block itself: HMAC'd whole by hashStrings, its searched fields kept.
    if (depth === 0) throw EXHAUSTED;
    return one(wholeJson(value));
  }
  spend(own);
  if (Array.isArray(value)) return value.map((v) => walk(v, hash, depth + 1, secret, budget));
  const out: Record<string, unknown> = {};
  for (const k of keys ?? []) {
    const v = (value as Record<string, unknown>)[k];
    const hashed = walk(v, hash, depth + 1, secret || (depth === 0 && k === 'data'), budget);
    // A key named `__proto__` (JSON.parse makes it an own key) must stay a key: assigned, it
    // would set the copy's prototype and vanish from the entry.
    if (k === '__proto__')
      Object.defineProperty(out, k, { value: hashed, enumerable: true, writable: true, configurable: true });
    else out[k] = hashed;
  }
  return out;
};

/**
 * What looks like a token in text written in clear (a path, an error that quotes it): a client
 * token by its shape (`ags.` and 43 characters or more), batch and dev admin tokens by
 * their prefixes, and JWTs (`eyJ…` header and payload) starting a word. `flags.production_x` in a
 * path is no token; `xags.<token>` is one. Linear: a run of token characters stops at a `.`, a
 * client token's at least 43, and a JWT may start only where a word does (a path of `eyJeyJ…` cost
 * 133 ms when it could start anywhere).
 */
const TOKEN_LIKE =
  /ags\.[A-Za-z0-9_-]{43,}|agb\.[A-Za-z0-9_-]{40,}|agadmin\.[A-Za-z0-9_-]{16,}|(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]*)?/g;

/**
 * `text` with every token-looking part HMAC'd: a client that puts its token in a URL path
 * (`cubbyhole/ags.…`, `auth/token/lookup-self/ags.…`) gets a 404 that names the path, and both
 * the path and that message are written in clear. Vault writes them as sent; authgate's rule is
 * that no token is ever written.
 */
export const hashTokensIn = (text: string, hash: Hasher): string =>
  text.includes('ags.') || text.includes('agb.') || text.includes('agadmin.') || text.includes('eyJ')
    ? text.replace(TOKEN_LIKE, (token) => hash(token))
    : text;
