import { badRequest } from '../errors.js';
import { parseDurationSeconds } from '../lib/duration.js';
import type { AuditLoginSubject, AuditOutcome } from './types.js';

/**
 * Login queries over audit entries, pure: the CLI (over a file or the Redis stream) and
 * `GET /v1/sys/audit/logins` (over the stream) both use these, so a filter means the same thing
 * everywhere.
 */

/**
 * One login attempt, read from its response entry: who (the entry's `authgate.login`), when,
 * from where, and how it ended. Field names are those of the JSON output.
 */
export type LoginRecord = AuditLoginSubject & {
  /** RFC 3339 time of the response entry. */
  time: string;
  request_id: string;
  remote_address?: string;
  outcome: AuditOutcome;
  reason: string;
  detail?: string;
  status: number;
  /** The HMACs of the login's JWT, of the issued token and of its accessor (for `--hmac`). */
  jwt_hmac?: string;
  token_hmac?: string;
  accessor_hmac?: string;
};

/** A filter of login records; every field set must match (exact, case-sensitive). */
export type LoginFilter = {
  /** Inclusive bounds, ms since the epoch. */
  sinceMs?: number;
  untilMs?: number;
  namespace?: string;
  serviceAccount?: string;
  role?: string;
  mount?: string;
  outcome?: AuditOutcome;
  reason?: string;
  /** An `hmac-sha256:…` value: the login whose JWT, token or accessor has that HMAC. */
  hmac?: string;
};

/** The filter's inputs as given on a command line or in a query string. */
export type RawLoginFilter = {
  since?: string | undefined;
  until?: string | undefined;
  namespace?: string | undefined;
  service_account?: string | undefined;
  role?: string | undefined;
  mount?: string | undefined;
  outcome?: string | undefined;
  reason?: string | undefined;
  hmac?: string | undefined;
};

const OUTCOMES: readonly AuditOutcome[] = ['ok', 'denied', 'error'];

/**
 * A point in time: RFC 3339 (`2026-01-02T15:04:05Z`), or a duration back from `nowMs` (`1h`,
 * `30m`, `2d`, `90s`, or seconds), no further back than a date can be (some 270 000 years).
 * @throws AuthgateError BAD_REQUEST naming `what` when it is neither.
 */
export const parseTimeBound = (value: string, nowMs: number, what: string): number => {
  if (/^\d{4}-\d{2}-\d{2}T/.test(value)) {
    const ms = Date.parse(value);
    if (!Number.isNaN(ms)) return ms;
  } else {
    let ms: number | undefined;
    try {
      ms = nowMs - parseDurationSeconds(value) * 1000;
    } catch {
      // reported below
    }
    if (ms !== undefined && Number.isNaN(new Date(ms).getTime()))
      throw badRequest(`invalid ${what}: ${value} goes back further than a date can`, 'bad_filter');
    if (ms !== undefined) return ms;
  }
  throw badRequest(`invalid ${what}: expected an RFC 3339 time or a duration like "1h"`, 'bad_filter');
};

/**
 * Parses a filter. Empty strings count as absent.
 * @param name how a mistake names a field of `raw` (the CLI names its flag: `--since`).
 * @throws AuthgateError BAD_REQUEST for a bad time or outcome.
 */
export const parseLoginFilter = (
  raw: RawLoginFilter,
  nowMs: number,
  name: (field: keyof RawLoginFilter) => string = (field) => field,
): LoginFilter => {
  const v = (s: string | undefined) => (s === undefined || s === '' ? undefined : s);
  const filter: LoginFilter = {};
  const since = v(raw.since);
  const until = v(raw.until);
  if (since !== undefined) filter.sinceMs = parseTimeBound(since, nowMs, name('since'));
  if (until !== undefined) filter.untilMs = parseTimeBound(until, nowMs, name('until'));
  const outcome = v(raw.outcome);
  if (outcome !== undefined) {
    if (!OUTCOMES.includes(outcome as AuditOutcome))
      throw badRequest(`invalid ${name('outcome')}: expected ok, denied or error`, 'bad_filter');
    filter.outcome = outcome as AuditOutcome;
  }
  const set = <K extends keyof LoginFilter>(key: K, value: string | undefined) => {
    if (value !== undefined) filter[key] = value as LoginFilter[K];
  };
  set('namespace', v(raw.namespace));
  set('serviceAccount', v(raw.service_account));
  set('role', v(raw.role));
  set('mount', v(raw.mount));
  set('reason', v(raw.reason));
  set('hmac', v(raw.hmac));
  return filter;
};

const obj = (v: unknown): Record<string, unknown> | undefined =>
  v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** Copies the string fields that are present, so that absent ones stay absent in JSON. */
const present = (fields: Record<string, string | undefined>): Record<string, string> =>
  Object.fromEntries(Object.entries(fields).filter((e): e is [string, string] => e[1] !== undefined));

/**
 * The login record of an audit entry: only response entries of logins (those with
 * `authgate.login`) have one; anything else, including a line that is not an entry, gives
 * undefined. For a successful login the identity is the verified one of `auth.metadata`.
 */
export const toLoginRecord = (entry: unknown): LoginRecord | undefined => {
  const e = obj(entry);
  if (e === undefined || e['type'] !== 'response') return undefined;
  const ag = obj(e['authgate']);
  const login = obj(ag?.['login']);
  const time = str(e['time']);
  if (ag === undefined || login === undefined || time === undefined) return undefined;
  const outcome = ag['outcome'];
  if (!OUTCOMES.includes(outcome as AuditOutcome)) return undefined;
  const request = obj(e['request']) ?? {};
  const auth = obj(e['auth']) ?? {};
  return {
    time,
    request_id: str(request['id']) ?? '',
    mount: str(login['mount']) ?? '',
    ...present({
      role: str(login['role']),
      namespace: str(login['namespace']),
      service_account: str(login['service_account']),
      pod: str(login['pod']),
    }),
    verified: login['verified'] === true,
    ...present({ remote_address: str(request['remote_address']) }),
    outcome: outcome as AuditOutcome,
    reason: str(ag['reason']) ?? '',
    ...present({ detail: str(ag['detail']) }),
    status: typeof ag['status'] === 'number' ? ag['status'] : 0,
    ...present({
      jwt_hmac: str(obj(request['data'])?.['jwt']),
      token_hmac: str(auth['client_token']),
      accessor_hmac: str(auth['accessor']),
    }),
  };
};

/** Whether `record` passes every bound and field of `filter`. */
export const matchesLogin = (record: LoginRecord, filter: LoginFilter): boolean => {
  if (filter.sinceMs !== undefined || filter.untilMs !== undefined) {
    const ms = Date.parse(record.time);
    if (filter.sinceMs !== undefined && !(ms >= filter.sinceMs)) return false;
    if (filter.untilMs !== undefined && !(ms <= filter.untilMs)) return false;
  }
  if (filter.hmac !== undefined) {
    const h = filter.hmac;
    if (record.jwt_hmac !== h && record.token_hmac !== h && record.accessor_hmac !== h) return false;
  }
  return (
    (filter.namespace === undefined || record.namespace === filter.namespace) &&
    (filter.serviceAccount === undefined || record.service_account === filter.serviceAccount) &&
    (filter.role === undefined || record.role === filter.role) &&
    (filter.mount === undefined || record.mount === filter.mount) &&
    (filter.outcome === undefined || record.outcome === filter.outcome) &&
    (filter.reason === undefined || record.reason === filter.reason)
  );
};

/**
 * An audit line as a parsed entry: whatever a device's `prefix` put before the JSON is skipped.
 * Undefined for a line that holds no JSON object.
 */
export const parseEntryLine = (line: string): unknown => {
  const start = line.indexOf('{');
  if (start < 0) return undefined;
  try {
    return JSON.parse(start === 0 ? line : line.slice(start)) as unknown;
  } catch {
    return undefined;
  }
};

/** Keeps the last `limit` items pushed (0 = all), in order. */
export const createTail = <T>(limit: number) => {
  const items: T[] = [];
  return {
    push: (item: T) => {
      items.push(item);
      if (limit > 0 && items.length > limit) items.shift();
    },
    items: (): T[] => items,
  };
};
