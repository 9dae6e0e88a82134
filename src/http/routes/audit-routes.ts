import type { FastifyInstance, FastifyRequest } from 'fastify';
import Type from 'typebox';
import { MAX_LOGINS_LIMIT, parseLoginFilter, type Audit } from '../../audit/index.js';
import type { AuditDeviceConfig } from '../../config/index.js';
import { badRequest } from '../../errors.js';
import type { Clock } from '../../lib/clock.js';
import { truncate } from '../../lib/truncate.js';
import { isList } from '../acl-hook.js';
import type { AclRouteConfig } from '../acl-route.js';
import { sysEnvelope } from '../envelope.js';
import { missingBodyIsEmpty } from '../vault-errors.js';
import { fromConfigFile, unsupportedOperation, unsupportedPath } from './config-file-answers.js';

/** What the operator's audit endpoints use: the audit part, its devices and the clock (for `since=1h`). */
export type AuditRouteDeps = {
  audit: Pick<Audit, 'hash' | 'logins'>;
  devices: readonly AuditDeviceConfig[];
  clock: Clock;
};

/**
 * A device as a row of Vault's audit table (`handleAuditTable`): its options are strings, as
 * `vault audit enable` takes them. The types are authgate's (`file`, `stdout`, `redis`).
 */
const auditDeviceInfo = (d: AuditDeviceConfig) => ({
  path: `${d.name}/`,
  type: d.type,
  description: '',
  options: {
    ...(d.path === undefined ? {} : { file_path: d.path }),
    hmac_accessor: String(d.hmacAccessor),
    ...(d.prefix === '' ? {} : { prefix: d.prefix }),
    ...(d.type === 'redis' ? { max_len: String(d.maxLen) } : {}),
  },
  local: false,
});

/** Logins answered when the query names no `limit`. */
export const DEFAULT_LOGINS_LIMIT = 100;

const HashBody = Type.Object({ input: Type.Optional(Type.String()) }, { additionalProperties: true });

const Filter = Type.Optional(Type.String({ maxLength: 256 }));
const LoginsQuery = Type.Object(
  {
    since: Filter,
    until: Filter,
    namespace: Filter,
    service_account: Filter,
    role: Filter,
    mount: Filter,
    outcome: Filter,
    reason: Filter,
    hmac: Filter,
    device: Filter,
    limit: Type.Optional(Type.String({ pattern: '^[0-9]{1,6}$' })),
  },
  { additionalProperties: true },
);

/**
 * The operator's audit endpoints (the admin token, or `sudo` on their path besides the capability
 * of the operation):
 *
 * - `POST|PUT /v1/sys/audit-hash/<device>` `{"input": "…"}` → `hash`: the HMAC that device writes
 *   for the value, as Vault's `sys/audit-hash`, so that a token's entries can be searched for.
 *   An unknown device is 400.
 * - `GET /v1/sys/audit` → the configured devices, as Vault's audit table (`vault audit list`).
 *   Enabling or disabling one (`PUT|POST|DELETE /v1/sys/audit/<name>`) is a 400 saying they live
 *   in authgate.yaml; reading one is Vault's 405 (its path only enables and disables).
 * - `GET /v1/sys/audit/logins?since=&until=&namespace=&service_account=&role=&mount=&outcome=&reason=&hmac=&device=&limit=`
 *   → `data.logins`: the most recent logins (default 100, at most 1000) of a `redis` device's
 *   stream that match, oldest first. authgate's own (Vault has no such endpoint).
 */
export const registerAuditRoutes = (app: FastifyInstance, deps: AuditRouteDeps): void => {
  /** Vault's handleAuditHash: the HMAC the device writes for `input`, which must not be empty. */
  const hashOf = async (request: FastifyRequest) => {
    const { device } = request.params as { device: string };
    const input = (request.body as { input?: string } | undefined)?.input ?? '';
    if (input === '') throw badRequest('the "input" parameter is empty', 'missing_input');
    const hash = await deps.audit.hash(device, input);
    if (hash === undefined)
      throw badRequest(`unknown audit device "${truncate(device)}"`, 'unknown_audit_device');
    // Vault answers sys paths with the value at the top level and in `data`.
    return { ...sysEnvelope(request.id, { hash }), hash };
  };

  // Operator endpoints: the ACL hook checks the caller before the body is read; they need `sudo`
  // on their path besides the operation's capability (the admin token has every capability).
  const operator: { config: AclRouteConfig } = { config: { acl: { sudo: true } } };

  // `file/` as `vault audit list` names it, or `file`: Vault's sanitizePath adds the slash.
  for (const url of ['/v1/sys/audit-hash/:device', '/v1/sys/audit-hash/:device/']) {
    app.route({
      method: ['POST', 'PUT'],
      url,
      preValidation: missingBodyIsEmpty,
      schema: { body: HashBody },
      ...operator,
      handler: hashOf,
    });
  }

  const table: Record<string, unknown> = {};
  for (const d of deps.devices) table[`${d.name}/`] = auditDeviceInfo(d);
  // A list was checked for `list` on `sys/audit/`, not `read`: no pattern of Vault's matches it.
  app.get('/v1/sys/audit', operator, async (request) => {
    if (isList(request)) throw unsupportedPath('sys_audit_unsupported_path');
    return { ...sysEnvelope(request.id, table), ...table };
  });
  app.get('/v1/sys/audit/*', operator, async () => {
    throw unsupportedOperation('sys_audit_unsupported_operation');
  });
  app.route({
    method: ['POST', 'PUT', 'DELETE'],
    url: '/v1/sys/audit/*',
    ...operator,
    handler: async () => {
      throw fromConfigFile('audit devices are', 'audit', 'audit_devices_read_only');
    },
  });

  app.route({
    method: ['GET'],
    url: '/v1/sys/audit/logins',
    schema: { querystring: LoginsQuery },
    ...operator,
    handler: async (request) => {
      // Checked for `list` when listed, not `read`: the query has no list operation.
      if (isList(request)) throw unsupportedOperation('audit_logins_unsupported_operation');
      const q = request.query as Record<string, string | undefined>;
      const filter = parseLoginFilter(q, deps.clock.nowMs());
      const limit = q['limit'] === undefined ? DEFAULT_LOGINS_LIMIT : Number(q['limit']);
      // Refused rather than cut, so that a caller never takes a short page for the whole answer.
      if (limit < 1 || limit > MAX_LOGINS_LIMIT)
        throw badRequest(`invalid limit: expected 1 to ${MAX_LOGINS_LIMIT}`, 'bad_filter');
      const logins = await deps.audit.logins(filter, {
        limit,
        ...(q['device'] === undefined ? {} : { device: q['device'] }),
      });
      return sysEnvelope(request.id, { logins, count: logins.length });
    },
  });
};
