import { badRequest } from '../errors.js';
import { weakDecodeBool, weakDecodeInt, weakDecodeString, type Decoded } from '../lib/go-mapstructure.js';
import { durationSecondField, goParseDuration, parseDurationSecond } from '../lib/go-duration.js';
import type { TokenRecord } from './record.js';
import type { MountTtls } from './ttl.js';
import type { IssueInput } from './types.js';

/**
 * The `mountPath` of a token made by the token store (`auth/token/create`) rather than by a
 * login. authgate.yaml cannot name an auth mount `token`, so no login's token has it.
 */
export const TOKEN_STORE_MOUNT = 'token';

/**
 * Vault's token store lease TTLs: the mount is never tuned in authgate, so both are the system's
 * 768h (as `sys/auth` and `sys/mounts/auth/token/tune` answer them).
 */
export const TOKEN_STORE_TTLS: MountTtls = {
  defaultLeaseTtlSeconds: 768 * 3600,
  maxLeaseTtlSeconds: 768 * 3600,
};

/** The refusal of a token role, in the body (`role_name`) or the path (`auth/token/create/<role>`). */
export const TOKEN_ROLES_UNSUPPORTED = 'token roles are not supported: create the token without a role';

/** The two creation paths of Vault's token store that authgate serves. */
export type CreatePath = 'auth/token/create' | 'auth/token/create-orphan';

/** Policies Vault keeps to itself (`nonAssignablePolicies` in vault/token_store.go). */
const NON_ASSIGNABLE = ['response-wrapping', 'control-group'];

/**
 * Vault's `displayNameSanitize` (`[^a-zA-Z0-9-]`): every other character becomes a `-`, one for
 * one (a run of them is as many `-`), by character (Go's regexp reads runes: `é` is one `-`).
 */
const DISPLAY_NAME_SANITIZE = /[^a-zA-Z0-9-]/gu;

/**
 * True for a token the token store made: its metadata is whatever its creator wrote, not an
 * identity a login verified, and it has no role to re-read at renewal.
 */
export const isTokenStoreRecord = (record: Pick<TokenRecord, 'mountPath'>): boolean =>
  record.mountPath === TOKEN_STORE_MOUNT;

/**
 * The metadata of a token that names a verified identity, for policy templates and identity
 * tokens: a login's token's metadata; none (`{}`) for a token the token store made, whose `meta`
 * its creator chose freely. Templates then find no value and their rules match nothing.
 */
export const verifiedMetadata = (
  record: Pick<TokenRecord, 'mountPath' | 'metadata'>,
): Record<string, string> => (isTokenStoreRecord(record) ? {} : record.metadata);

const decodeError = (field: string, what: string) =>
  badRequest(`Error decoding request: '${field}' expected ${what}`, 'token_create_field');

/**
 * A field as Go's WeakDecode reads it (src/lib/go-mapstructure.ts, as Vault's `handleCreateCommon`
 * decodes the body), refused with this route's message when it does not decode.
 */
const decoded = <T>(field: string, what: string, d: Decoded<T>): T => {
  if ('error' in d) throw decodeError(field, what);
  return d.value;
};

/** A bool field; undefined when absent (or null), so that its default applies. */
const weakBool = (body: Record<string, unknown>, field: string): boolean | undefined =>
  body[field] === undefined || body[field] === null
    ? undefined
    : decoded(field, 'a bool', weakDecodeBool(body[field], field));

const weakString = (body: Record<string, unknown>, field: string): string =>
  decoded(field, 'a string', weakDecodeString(body[field], field));

const weakInt = (body: Record<string, unknown>, field: string): number => {
  const n = decoded(field, 'an int', weakDecodeInt(body[field], field));
  if (n < BigInt(Number.MIN_SAFE_INTEGER) || n > BigInt(Number.MAX_SAFE_INTEGER))
    throw decodeError(field, 'an int');
  return Number(n);
};

/** A list of strings; WeakDecode makes a lone value a list of one. */
const stringList = (body: Record<string, unknown>, field: string): string[] => {
  const raw = body[field];
  if (raw === undefined || raw === null) return [];
  return (Array.isArray(raw) ? raw : [raw]).map((p: unknown) =>
    decoded(field, 'a list of strings', weakDecodeString(p, field)),
  );
};

const metaOf = (body: Record<string, unknown>): Record<string, string> => {
  const raw = body['meta'];
  if (raw === undefined || raw === null) return {};
  if (typeof raw !== 'object' || Array.isArray(raw)) throw decodeError('meta', 'a map');
  // Into map[string]string: a number as its text, a bool as "1" or "0", null as ""; a list or a
  // map is refused.
  const meta: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw as Record<string, unknown>))
    meta[k] = decoded('meta', 'a map of strings', weakDecodeString(v, k));
  return meta;
};

const NS_PER_S = 1_000_000_000n;

/**
 * Whole seconds of a positive duration in nanoseconds, at least 1: Vault keeps `500ms` as it is,
 * and read as 0 seconds it would mean "unset" here (a ttl of the mount's 768h, no explicit max
 * TTL at all). One second is the nearest that fails closed.
 */
const atLeastOneSecond = (ns: bigint): number => (ns > 0n && ns < NS_PER_S ? 1 : Number(ns / NS_PER_S));

/** A duration field as ParseDurationSecond reads it; negative is Vault's `<field> must be positive`. */
const durationOf = (body: Record<string, unknown>, field: string): number => {
  const text = weakString(body, field);
  const parsed = durationSecondField(text, { signed: true });
  if ('error' in parsed) throw badRequest(parsed.error, 'token_create_duration');
  if (parsed.value < 0) throw badRequest(`${field} must be positive`, 'token_create_duration');
  if (parsed.value > 0) return parsed.value;
  const ns = parseDurationSecond(text);
  return 'value' in ns ? atLeastOneSecond(ns.value) : 0;
};

/**
 * Vault's older `lease` (hvac's `create(lease=…)` still sends it), read only when `ttl` is not
 * given, as Go's `time.ParseDuration` (no bare seconds, no days), in whole seconds.
 */
const leaseOf = (body: Record<string, unknown>): number => {
  const text = weakString(body, 'lease');
  if (text === '') return 0;
  const parsed = goParseDuration(text);
  if ('error' in parsed) throw badRequest(parsed.error, 'token_create_duration');
  if (parsed.value < 0n) throw badRequest('lease must be positive', 'token_create_duration');
  return atLeastOneSecond(parsed.value);
};

/**
 * Vault's `policyutil.SanitizePolicies`: trimmed, lowercased, empties dropped, `default` added
 * when asked, sorted without duplicates.
 */
const sanitizePolicies = (policies: readonly string[], addDefault: boolean): string[] => {
  const out = new Set(policies.map((p) => p.trim().toLowerCase()).filter((p) => p !== ''));
  if (addDefault) out.add('default');
  return [...out].sort();
};

/**
 * Reads a body of Vault's `auth/token/create` (and `create-orphan`), as vault/token_store.go
 * `handleCreateCommon` does for a root caller, into what `issue` takes. The caller is the admin
 * token (Vault's root): any policy may be named, except `root` itself, since authgate issues no
 * root tokens. The token is an orphan whatever `no_parent` says: the admin token is never
 * revoked, so a child of it would never be revoked with its parent either.
 *
 * Refused with 400: a custom `id`, `role_name`, `entity_alias` (no custom ids, token roles or
 * entities here), any other type than `service` or `batch` (a batch token with an explicit max TTL,
 * a use limit or a period, as Vault), the `root`
 * policy or no policy at all (Vault would inherit the root policy), Vault's non-assignable
 * policies, negative `num_uses` or durations, and fields of the wrong type.
 */
export const parseCreateRequest = (body: Record<string, unknown>, path: CreatePath): IssueInput => {
  if (weakString(body, 'id') !== '')
    throw badRequest('custom token ids are not supported: authgate generates every token', 'token_create_id');
  if (weakString(body, 'role_name') !== '')
    throw badRequest(
      'token roles are not supported: create the token without role_name',
      'token_create_role',
    );
  if (weakString(body, 'entity_alias') !== '')
    throw badRequest(
      'entity aliases are not supported: authgate has no identity entities',
      'token_create_alias',
    );

  // Read in Vault's order, so that the first bad field is the one Vault names.
  const type = weakString(body, 'type');
  if (type !== '' && type !== 'service' && type !== 'batch')
    throw badRequest("invalid 'token_type' value", 'token_create_type');
  const batch = type === 'batch';
  if (batch) refuseBatchFields(body);
  // A batch token is never renewable, whatever was asked (Vault's handleCreateCommon).
  const renewable = (weakBool(body, 'renewable') ?? true) && !batch;
  const numUses = weakInt(body, 'num_uses');
  if (numUses < 0) throw badRequest('number of uses cannot be negative', 'token_create_uses');

  const rawName = weakString(body, 'display_name');
  const displayName =
    rawName === '' ? 'token' : `token-${rawName}`.replace(DISPLAY_NAME_SANITIZE, '-').replace(/-$/, '');

  const noDefaultPolicy = weakBool(body, 'no_default_policy') ?? false;
  weakBool(body, 'no_parent'); // type-checked only: every token made here is an orphan
  const requested = stringList(body, 'policies');
  let policies = sanitizePolicies(requested, !noDefaultPolicy);
  if (policies.includes('root') || requested.length === 0) {
    // With no policies, Vault gives the parent's: the admin token's is root.
    throw badRequest(
      'root tokens are not supported: name the policies of the token (authgate has no root policy)',
      'token_create_root',
    );
  }
  if (noDefaultPolicy) policies = policies.filter((p) => p !== 'default');
  const forbidden = policies.find((p) => NON_ASSIGNABLE.includes(p));
  if (forbidden !== undefined) throw badRequest(`cannot assign policy "${forbidden}"`, 'token_create_policy');

  const explicitMaxTtlSeconds = durationOf(body, 'explicit_max_ttl');
  const periodSeconds = durationOf(body, 'period');
  const ttlSeconds = weakString(body, 'ttl') !== '' ? durationOf(body, 'ttl') : leaseOf(body);

  return {
    policies,
    metadata: metaOf(body),
    displayName,
    path,
    entityId: '',
    role: '',
    mountPath: TOKEN_STORE_MOUNT,
    ttlSeconds,
    maxTtlSeconds: 0,
    explicitMaxTtlSeconds,
    periodSeconds,
    numUses,
    boundCidrs: [],
    mount: { ...TOKEN_STORE_TTLS },
    ...(renewable ? {} : { renewable: false }),
    ...(batch ? { type: 'batch' } : {}),
  };
};

/**
 * What Vault's `handleCreateCommon` refuses in a batch token (400 `batch tokens cannot have
 * "<field>" set`, and `"<field>" value could not be parsed` for a duration it cannot read), in its
 * order. Vault stops at the first of them that is set at all (a Go switch), so `explicit_max_ttl`
 * `0` there lets a use limit through, never enforced; every one is checked here.
 */
const refuseBatchFields = (body: Record<string, unknown>): void => {
  const setDuration = (field: string): boolean => {
    const text = weakString(body, field);
    if (text === '') return false;
    const parsed = parseDurationSecond(text);
    if (!('value' in parsed)) throw badRequest(`"${field}" value could not be parsed`, 'token_create_batch');
    return parsed.value !== 0n;
  };
  const field = setDuration('explicit_max_ttl')
    ? 'explicit_max_ttl'
    : weakInt(body, 'num_uses') !== 0
      ? 'num_uses'
      : setDuration('period')
        ? 'period'
        : undefined;
  if (field !== undefined) throw badRequest(`batch tokens cannot have "${field}" set`, 'token_create_batch');
};
