import { hashStrings, type Hasher } from './hash.js';
import type { AuditEntry, AuditRequest, AuditResponse } from './types.js';

/** Per-device formatting options (Vault's device options of the same names). */
export type EntryOptions = {
  /** HMAC accessors (`auth.accessor`, `request.client_token_accessor`). Vault's default: true. */
  hmacAccessor: boolean;
};

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/**
 * The `auth` of a response entry from a Vault `auth` block (login, renew-self): only the fields
 * Vault's audit `auth` has, in its order. The token is always HMAC'd, the accessor unless
 * `hmacAccessor` is false; policies, metadata (the service-account identity) and the entity id
 * stay in clear, as in Vault. Fields outside this list are dropped, never copied unhashed.
 */
const auditAuth = (
  auth: Record<string, unknown>,
  hash: Hasher,
  o: EntryOptions,
  displayName = str(auth['display_name']),
): Record<string, unknown> => {
  const token = str(auth['client_token']);
  const accessor = str(auth['accessor']);
  const out: Record<string, unknown> = {};
  if (accessor !== undefined) out['accessor'] = o.hmacAccessor ? hash(accessor) : accessor;
  // Vault leaves an empty token out (renew-accessor answers `client_token: ""`).
  if (token !== undefined && token !== '') out['client_token'] = hash(token);
  if (displayName !== undefined) out['display_name'] = displayName;
  if (typeof auth['entity_id'] === 'string') out['entity_id'] = auth['entity_id'];
  const metadata = auth['metadata'];
  if (metadata !== null && typeof metadata === 'object') {
    // Identity fields are the point of the audit; anything that is not a string is dropped.
    const clear: Record<string, string> = {};
    for (const [k, v] of Object.entries(metadata)) if (typeof v === 'string') clear[k] = v;
    out['metadata'] = clear;
  }
  if (typeof auth['num_uses'] === 'number') out['num_uses'] = auth['num_uses'];
  for (const k of ['policies', 'token_policies'] as const) {
    if (Array.isArray(auth[k])) out[k] = (auth[k] as unknown[]).filter((p) => typeof p === 'string');
  }
  if (typeof auth['lease_duration'] === 'number') out['token_ttl'] = auth['lease_duration'];
  out['token_type'] = str(auth['token_type']) ?? 'service';
  return out;
};

/**
 * The `auth` of a request entry: the caller's token HMAC'd with who it belongs to (accessor
 * HMAC'd as the device says, identity in clear), or Vault's `default` when it sent none.
 */
const requestAuth = (req: AuditRequest, hash: Hasher, o: EntryOptions): Record<string, unknown> => {
  if (req.clientToken === undefined) return { token_type: 'default' };
  if (req.caller === undefined) return { client_token: hash(req.clientToken) };
  return auditAuth({ ...req.caller, client_token: req.clientToken }, hash, o);
};

/**
 * Vault's `request` block (its fields in Vault's order), the token, its accessor (unless the
 * device says otherwise), every string of `data` and a secret in the path HMAC'd. Both entries of a request carry it:
 * compute it once per device and pass it to both.
 */
export const requestBlock = (req: AuditRequest, hash: Hasher, o: EntryOptions): Record<string, unknown> => {
  const out: Record<string, unknown> = { id: req.id };
  if (req.clientToken !== undefined) out['client_token'] = hash(req.clientToken);
  const accessor = str(req.caller?.['accessor']);
  if (accessor !== undefined) out['client_token_accessor'] = o.hmacAccessor ? hash(accessor) : accessor;
  if (req.data !== undefined) out['data'] = hashStrings(req.data, hash);
  out['mount_class'] = req.mount.class;
  out['mount_point'] = req.mount.point;
  out['mount_type'] = req.mount.type;
  out['namespace'] = { id: 'root' };
  out['operation'] = req.operation;
  out['path'] =
    req.pathSecret === undefined
      ? req.path
      : req.path.slice(0, -req.pathSecret.length) + hash(req.pathSecret);
  out['remote_address'] = req.remoteAddress;
  if (req.remotePort !== undefined) out['remote_port'] = req.remotePort;
  return out;
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
  const auth = res.auth === undefined ? undefined : auditAuth(res.auth, hash, options, res.authDisplayName);
  const response: Record<string, unknown> = {};
  if (auth !== undefined) response['auth'] = auth;
  if (res.data !== undefined) response['data'] = hashStrings(res.data, hash);
  response['mount_class'] = req.mount.class;
  response['mount_point'] = req.mount.point;
  response['mount_type'] = req.mount.type;
  if (res.warnings !== undefined && res.warnings.length > 0) response['warnings'] = res.warnings;
  return {
    time,
    // Who made the request, as Vault's (its LogInput.Auth): the caller, also when the answer
    // carries another token's auth (a renewal of a token an operator names). A login has no
    // caller: its entry names the token it issued.
    auth: auth !== undefined && req.caller === undefined ? auth : requestAuth(req, hash, options),
    ...(res.error === undefined ? {} : { error: res.error }),
    request,
    response,
    type: 'response',
    authgate: res.authgate,
  };
};
