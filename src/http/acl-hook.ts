import type { FastifyInstance, FastifyRequest } from 'fastify';
import { createMountAccessors } from '../auth/index.js';
import { badRequest, isAuthgateError, permissionDenied } from '../errors.js';
import { parseGoBool } from '../lib/go-bool.js';
import type { Acl, AclSubject, Capability } from '../policy/index.js';
import { verifiedMetadata, type TokenRecord, type TokenService } from '../tokens/index.js';
import { setRequestAuth, type AclRouteConfig, type AllowedBy } from './acl-route.js';
import { clientTokenOf, requireToken, type AdminCheck } from './client-token.js';
import { tokenInPathErrorOf } from './token-in-path.js';

export type AclHookDeps = {
  tokens: Pick<TokenService, 'authenticate' | 'inspect'>;
  admin: AdminCheck;
  policies: { aclFor(subject: AclSubject): Acl };
  /** The configured auth mounts: a token's mount accessor, which policy templates may name. */
  mounts: ReadonlyMap<string, { type: string }>;
};

/**
 * The one ACL check (DESIGN.md: token lookup, then policy check, then the engine): every route
 * that declares `config.acl` passes through it before its body is even parsed. The admin token
 * is Vault's root: every path. Any other token must be live (CIDRs too) and its policies must
 * grant the capability the request needs on its logical path, else 403 `permission denied`;
 * a refused request spends a use of a use-limited token, as in Vault (a refused CIDR does not).
 */
export const installAclHook = (app: FastifyInstance, deps: AclHookDeps): void => {
  const subjectOf = createSubjectOf(deps.mounts);
  const check = async (request: FastifyRequest, acl: NonNullable<AclRouteConfig['acl']>): Promise<void> => {
    const path = logicalPath(request);
    // A token or accessor in one of Vault's old URL forms (`auth/token/lookup/<token>`) that no
    // route of its own took (an encoded slash): the form's 404, before any check whose refusal
    // would carry the path, and so the secret, into the audit entry's detail.
    const inPath = tokenInPathErrorOf(path);
    if (inPath !== undefined) throw inPath;
    const token = requireToken(request);
    // A path with a `..` segment is refused outright, never matched against globs nor stored.
    if (path.split('/').includes('..') || path.includes('\u0000')) {
      throw badRequest('invalid request path', 'invalid_path');
    }
    if (deps.admin.isAdmin(token)) {
      setRequestAuth(request, { token, admin: true, record: undefined });
      return;
    }
    let allowedBy: AllowedBy | false = false;
    const list = isList(request);
    const target = list || acl.actsOn === undefined ? path : acl.actsOn(path);
    let sudo = false;
    const authorize = async (record: TokenRecord): Promise<void> => {
      const policies = deps.policies.aclFor(subjectOf(record));
      const caps = policies.capabilities(path, { list });
      allowedBy = await permits(caps, request, acl);
      sudo = caps.has('sudo');
      if (allowedBy !== false && target !== path) {
        allowedBy = narrower(allowedBy, await permits(policies.capabilities(target, { list }), request, acl));
      }
      if (!allowedBy) {
        // The audit names who was refused, as Vault's entries do (its CheckToken auth).
        setRequestAuth(request, { token, admin: false, record, denied: true });
        throw permissionDenied('acl_denied', path);
      }
    };
    // Every guarded request spends its use here, before anything of it is acted on, as Vault's
    // handleRequest does: one the ACL refuses, or whose body the route then refuses, too.
    const record = await deps.tokens.authenticate(token, { remoteAddress: request.ip, authorize });
    const granted = allowedBy as AllowedBy | false;
    if (granted === false) throw new TypeError('the token service returned a record it did not authorize');
    // `create` is the verdict only when it alone allowed the write (see permits).
    setRequestAuth(request, {
      token,
      admin: false,
      record,
      allowedBy: granted,
      ...(granted === 'create' ? { createOnly: true } : {}),
      ...(sudo ? { sudo: true } : {}),
    });
  };
  // Callback style, so that a route without an ACL (a login) costs no promise.
  app.addHook('onRequest', (request, _reply, done) => {
    const acl = (request.routeOptions.config as AclRouteConfig | undefined)?.acl;
    if (acl === undefined) {
      done();
      return;
    }
    check(request, acl).then(() => done(), done);
  });
};

/**
 * The policy subject of a token, given the configured auth mounts: its policies and the identity
 * its templates draw on, with the accessor of its own mount (of the mount's type, as `sys/auth`
 * lists it). A token the token store made has no verified identity (its creator wrote its `meta`): no metadata, no role,
 * no entity, so every templated rule is dropped for it (fail closed).
 */
export const createSubjectOf = (
  mounts: ReadonlyMap<string, { type: string }>,
): ((record: TokenRecord) => AclSubject) => {
  const accessorOf = createMountAccessors(mounts);
  return (record) => ({
    policies: record.policies,
    metadata: verifiedMetadata(record),
    role: record.role,
    mountPath: record.mountPath,
    mountAccessor: accessorOf(record.mountPath),
    entityId: record.entityId,
  });
};

/**
 * The Vault logical path of a request: the URL path after `/v1/`, percent-decoded, with a `/`
 * appended for a list request (Vault's router does the same before its ACL check).
 */
export const logicalPath = (request: FastifyRequest): string => {
  const path = decodedPath(request.url);
  return isList(request) && !path.endsWith('/') ? `${path}/` : path;
};

/**
 * The path of a URL as the router serves it: ended at `?` and at `#` (else `…/web#x` would be
 * checked as another path than the one served), percent-decoded, without `/v1/`.
 */
export const decodedPath = (url: string): string => {
  const raw = (url.split(/[?#]/, 1)[0] ?? '').replace(/^\/v1\//, '');
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
};

/**
 * Vault's list operation: `GET ?list=true` (any true of Go's ParseBool). A `LIST` request arrives
 * in this form too (src/http/client-errors.ts serves it as `GET ?list=true`).
 */
export const isList = (request: FastifyRequest): boolean => {
  if (request.method !== 'GET') return false;
  const list = (request.query as Record<string, unknown> | undefined)?.['list'];
  return typeof list === 'string' && parseGoBool(list) === true;
};

/**
 * Both verdicts of a request checked on two paths: refused if either refuses; else the one that
 * says more (`create` or `update` over `create-or-update`, which left existence unchecked).
 */
const narrower = (a: AllowedBy, b: AllowedBy | false): AllowedBy | false =>
  b === false ? false : a === 'create-or-update' ? b : a;

const grants = (caps: ReadonlySet<Capability>, capability: AllowedBy & Capability): AllowedBy | false =>
  caps.has(capability) ? capability : false;

/**
 * The capability that allows the request, or false. `create` only when `create` alone allowed a
 * write (its target was absent); `create-or-update` when both are granted, existence unchecked.
 */
const permits = async (
  caps: ReadonlySet<Capability>,
  request: FastifyRequest,
  acl: NonNullable<AclRouteConfig['acl']>,
): Promise<AllowedBy | false> => {
  if (caps.size === 0 || caps.has('deny')) return false;
  // Vault's RootPrivsRequired: the operation must be allowed, and `sudo` granted besides.
  if (acl.sudo === true && !caps.has('sudo')) return false;
  switch (request.method) {
    case 'GET':
    case 'HEAD':
      return grants(caps, isList(request) ? 'list' : 'read');
    case 'DELETE':
      return grants(caps, 'delete');
    case 'PATCH':
      return grants(caps, 'patch');
    case 'POST':
    case 'PUT': {
      const create = caps.has('create');
      const update = caps.has('update');
      if (acl.exists === undefined) return grants(caps, 'update');
      if (create && update) return 'create-or-update';
      if (!create && !update) return false;
      // Only one of the two is granted: which one the request needs depends on the target.
      if (await acl.exists(request)) return grants(caps, 'update');
      return grants(caps, 'create');
    }
    default:
      return false;
  }
};

/**
 * Vault's check before `sys/internal/ui/mounts` names a mount: the caller's token is live (no use
 * counted) and its policies grant something under the mount, or it is the admin token. An
 * anonymous or unknown caller learns nothing (false); a store that is down is 503, not false.
 */
export const createMountAccess = (deps: AclHookDeps) => {
  const subjectOf = createSubjectOf(deps.mounts);
  return async (request: FastifyRequest, mountPath: string): Promise<boolean> => {
    const token = clientTokenOf(request);
    if (token === undefined) return false;
    if (deps.admin.isAdmin(token)) return true;
    let record: TokenRecord;
    try {
      record = await deps.tokens.inspect(token, { remoteAddress: request.ip });
    } catch (err) {
      if (isAuthgateError(err) && err.code === 'PERMISSION_DENIED') return false;
      throw err;
    }
    return deps.policies.aclFor(subjectOf(record)).grantsUnder(`${mountPath}/`);
  };
};
