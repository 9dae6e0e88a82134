import { hashStrings, hashTokensIn, type Hasher } from './hash.js';
import type { AuditEntry, AuditRequest, AuditResponse } from './types.js';

/** Per-device formatting options (Vault's device options of the same names). */
export type EntryOptions = {
  /** HMAC accessors (`auth.accessor`, `request.client_token_accessor`). Vault's default: true. */
  hmacAccessor: boolean;
};

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/**
 * Go's `omitempty`, which every field of Vault's `auth`, `request` and `response` has: a field
 * that is undefined, null, `""`, `0`, `false`, or an empty array or object is left out (a request
 * with an empty body has no `data`; a path under no mount no `mount_*`; `num_uses: 0` none). Only
 * the block's own fields: the values inside `data` are kept as they are.
 */
const omitEmpty = (block: Record<string, unknown>): Record<string, unknown> => {
  for (const [k, v] of Object.entries(block)) {
    const empty =
      v === undefined ||
      v === null ||
      v === '' ||
      v === 0 ||
      v === false ||
      (Array.isArray(v) ? v.length === 0 : typeof v === 'object' && Object.keys(v).length === 0);
    if (empty) delete block[k];
  }
  return block;
};

/**
 * An entry's `time` as Vault writes it, Go's RFC3339Nano: UTC, the fraction without its trailing
 * zeros, and no fraction at all on a whole second (`…T12:00:00.5Z`, `…T12:00:00Z`).
 */
export const goTime = (ms: number): string => new Date(ms).toISOString().replace(/\.?0+Z$/, 'Z');

/** A token's issue time in Vault's `auth.token_issue_time`: Go's RFC3339, whole seconds, UTC. */
const issueTime = (ms: unknown): string | undefined =>
  typeof ms === 'number'
    ? new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z')
    : undefined;

/**
 * Vault's `policy_results`: `allowed`, always written, and `granting_policies` (left out when
 * empty, as a refused request's is), each policy's `name`, `namespace_id`, `namespace_path` and
 * `type` (the first three omitempty) and nothing else.
 */
const policyResults = (results: unknown): Record<string, unknown> | undefined => {
  if (results === null || typeof results !== 'object') return undefined;
  const { allowed, granting_policies: granting } = results as Record<string, unknown>;
  const out: Record<string, unknown> = { allowed: allowed === true };
  if (Array.isArray(granting) && granting.length > 0) {
    out['granting_policies'] = granting
      .filter((p): p is Record<string, unknown> => p !== null && typeof p === 'object')
      .map((p) => ({
        ...omitEmpty({
          name: str(p['name']),
          namespace_id: str(p['namespace_id']),
          namespace_path: str(p['namespace_path']),
        }),
        type: str(p['type']) ?? '',
      }));
  }
  return out;
};

/**
 * An `auth` block of an entry from a Vault `auth` block (the caller's token, a login's, a
 * renewal's): only the fields Vault's audit `auth` has, in its order, each left out when empty
 * as Vault's omitempty does. The token is always HMAC'd, the accessor unless `hmacAccessor` is
 * false; policies, metadata (the service-account identity) and the entity id stay in clear, as in
 * Vault. `num_uses` only in `response.auth` (`withNumUses`), as Vault's. Fields outside this list
 * are dropped, never copied unhashed.
 */
const auditAuth = (
  auth: Record<string, unknown>,
  hash: Hasher,
  o: EntryOptions,
  displayName = str(auth['display_name']),
  withNumUses = false,
): Record<string, unknown> => {
  const token = str(auth['client_token']);
  // Vault's HashAuth and omitempty leave out an empty accessor (a batch token has none).
  const accessor = str(auth['accessor']) || undefined;
  const out: Record<string, unknown> = {};
  if (accessor !== undefined) out['accessor'] = o.hmacAccessor ? hash(accessor) : accessor;
  // Vault leaves an empty token out (renew-accessor answers `client_token: ""`).
  if (token !== undefined && token !== '') out['client_token'] = hash(token);
  out['display_name'] = displayName;
  out['entity_id'] = str(auth['entity_id']);
  const metadata = auth['metadata'];
  if (metadata !== null && typeof metadata === 'object') {
    // Identity fields are the point of the audit; anything that is not a string is dropped.
    const clear: Record<string, string> = {};
    for (const [k, v] of Object.entries(metadata)) if (typeof v === 'string') clear[k] = v;
    out['metadata'] = clear;
  }
  if (withNumUses && typeof auth['num_uses'] === 'number') out['num_uses'] = auth['num_uses'];
  const policies = (k: string) =>
    Array.isArray(auth[k]) ? (auth[k] as unknown[]).filter((p) => typeof p === 'string') : undefined;
  out['policies'] = policies('policies');
  out['policy_results'] = policyResults(auth['policy_results']);
  out['token_policies'] = policies('token_policies');
  out['token_issue_time'] = issueTime(auth['issue_time_ms']);
  if (typeof auth['lease_duration'] === 'number') out['token_ttl'] = auth['lease_duration'];
  out['token_type'] = str(auth['token_type']) ?? 'service';
  return omitEmpty(out);
};

/**
 * The `auth` of a request entry: the caller's token HMAC'd with who it belongs to (accessor
 * HMAC'd as the device says, identity in clear), or, as Vault's for a request that sent no token
 * or one that was not looked up (unknown, expired, refused before), `{"token_type":"default"}`:
 * the token's HMAC is then in `request.client_token` only.
 */
const requestAuth = (req: AuditRequest, hash: Hasher, o: EntryOptions): Record<string, unknown> => {
  if (req.clientToken === undefined || req.caller === undefined) return { token_type: 'default' };
  return auditAuth({ ...req.caller, client_token: req.clientToken }, hash, o);
};

/**
 * Vault's `request` block (its fields in Vault's order, each left out when empty), the token,
 * its accessor (unless the device says otherwise), every string of `data` and a secret in the
 * path HMAC'd. Both entries of a request carry it: compute it once per device and pass it to both.
 */
export const requestBlock = (req: AuditRequest, hash: Hasher, o: EntryOptions): Record<string, unknown> => {
  const out: Record<string, unknown> = {};
  if (req.clientToken !== undefined) out['client_token'] = hash(req.clientToken);
  const accessor = str(req.caller?.['accessor']) || undefined;
  if (accessor !== undefined) out['client_token_accessor'] = o.hmacAccessor ? hash(accessor) : accessor;
  if (req.data !== undefined) out['data'] = hashStrings(req.data, hash);
  out['id'] = req.id;
  out['mount_accessor'] = req.mount.accessor;
  out['mount_class'] = req.mount.class;
  out['mount_point'] = req.mount.point;
  out['mount_type'] = req.mount.type;
  out['namespace'] = { id: 'root' };
  out['operation'] = req.operation;
  out['path'] = hashTokensIn(
    req.pathSecret === undefined
      ? req.path
      : req.path.slice(0, -req.pathSecret.length) + hash(req.pathSecret),
    hash,
  );
  out['remote_address'] = req.remoteAddress;
  out['remote_port'] = req.remotePort;
  return omitEmpty(out);
};

/**
 * The request entry of a request: written before the request is served (for a login, before
 * anything is verified or issued). Fields in Vault's order: `time, auth, request, type`.
 *
 * @param time RFC 3339 time of the entry.
 * @param request the request's {@link requestBlock} for this device, shared by both entries.
 */
export const formatRequestEntry = (
  time: string,
  req: AuditRequest,
  request: Record<string, unknown>,
  hash: Hasher,
  options: EntryOptions,
): AuditEntry => ({
  time,
  auth: requestAuth(req, hash, options),
  ...(req.checkError === undefined ? {} : { error: hashTokensIn(req.checkError, hash) }),
  request,
  type: 'request',
});

/**
 * The response entry of a request: the request again (as Vault repeats it), the answer with
 * every string of its `data` HMAC'd, the error the client saw, and authgate's block with the
 * outcome and the precise internal reason. Fields in Vault's order, `time, auth, error,
 * request, response, type` (`error` only on a failure), then `authgate`.
 */
export const formatResponseEntry = (
  time: string,
  req: AuditRequest,
  request: Record<string, unknown>,
  res: AuditResponse,
  hash: Hasher,
  options: EntryOptions,
): AuditEntry => {
  const issued = (withNumUses: boolean) =>
    res.auth === undefined ? undefined : auditAuth(res.auth, hash, options, res.authDisplayName, withNumUses);
  const response: Record<string, unknown> = {
    auth: issued(true),
    data: res.data === undefined ? undefined : hashStrings(res.data, hash),
    mount_accessor: req.mount.accessor,
    mount_class: req.mount.class,
    mount_point: req.mount.point,
    mount_type: req.mount.type,
    warnings: res.warnings,
  };
  return {
    time,
    // Who made the request, as Vault's (its LogInput.Auth): the caller, also when the answer
    // carries another token's auth (a renewal of a token an operator names). A login has no
    // caller: its entry names the token it issued (without `num_uses`, as Vault's).
    auth:
      res.auth !== undefined && req.caller === undefined
        ? (issued(false) as Record<string, unknown>)
        : requestAuth(req, hash, options),
    ...(res.error === undefined ? {} : { error: hashTokensIn(res.error, hash) }),
    request,
    response: omitEmpty(response),
    type: 'response',
    authgate: res.authgate,
  };
};
