import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { decodedPath, isList } from './acl-hook.js';
import { callerOf, createGrantingPolicies, type AuditCallerDeps } from './audit-caller.js';
import type {
  Audit,
  AuditLoginSubject,
  AuditMount,
  AuditOperation,
  AuditRequest,
  AuditResponse,
  AuthgateAuditBlock,
} from '../audit/index.js';
import { AUDIT_UNAVAILABLE } from '../audit/index.js';
import { mountAccessor } from '../auth/index.js';
import { AuthgateError, isAuthgateError } from '../errors.js';
import { matchSecretsMount, type SecretsMountTable } from '../secrets/index.js';
import { clientTokenOf } from './client-token.js';
import { reasonOf, type FailureLog } from './vault-errors.js';
import { loginOutcomeOf } from './routes/login-routes.js';
import { createdTokenHere, renewedDisplayNameOf } from './routes/token-marks.js';
import { secretInPath } from './token-in-path.js';
import { cleanPathLocation } from './path-redirect.js';
import { hasUnprintablePath } from './printable-path.js';

/** What the audit hooks use: the broker, the mounts (to know a login path) and revocation. */
export type AuditHookDeps = {
  audit: Pick<Audit, 'enabled' | 'logRequest' | 'logResponse'>;
  /** The configured auth mounts, to recognise login paths and name the mount of their other requests. */
  mounts: ReadonlyMap<string, { type: string }>;
  policies: AuditCallerDeps['policies'];
  /**
   * The secrets mounts (`sys/`, `identity/`, each KV mount), to name the mount of their requests
   * with the type and accessor `sys/mounts` lists for it. Default: none.
   */
  secretsMounts?: SecretsMountTable;
  /**
   * Revokes a token that was issued but whose answer could not be audited: the client gets 503
   * and never sees it, so nothing stays issued.
   */
  revokeToken?: (clientToken: string) => Promise<void>;
  /**
   * Logs the failure of an answer whose audit failed: the error handler's, so that its 503s share
   * one budget of lines a second (an audit device that refuses every answer would otherwise write
   * a line per request).
   */
  logFailure: FailureLog;
};

/** Per request: what was received, and how far its audit went. */
type RequestAudit = {
  req: AuditRequest;
  /** The mount of a login request; undefined for any other request. */
  loginMount: string | undefined;
  requestLogged: boolean;
  /** No device took the request entry: the request was refused with 503, nothing to add. */
  requestFailed: boolean;
  error?: unknown;
  /** The answer's object before serialization (saves parsing it back). */
  body?: Record<string, unknown>;
};

/** Vault's `permission denied` wrapped by go-multierror, as its handleRequest returns it. */
const VAULT_MULTI_DENIED = '1 error occurred:\n\t* permission denied\n\n';

/**
 * The error Vault's request entry carries for a request its token check (CheckToken) refused:
 * `permission denied` for a missing, unknown or expired token, the multierror its ACL check
 * returns for a token whose policies refuse the path. Undefined for any other answer: Vault
 * writes no error in the request entry of a request that passed the check.
 */
const checkErrorOf = (status: number, error: unknown): string | undefined => {
  if (status !== 403) return undefined;
  return isAuthgateError(error) && error.reason === 'acl_denied' ? VAULT_MULTI_DENIED : 'permission denied';
};

const AUDIT_FAILED_BODY = JSON.stringify({ errors: [AUDIT_UNAVAILABLE] });

/**
 * A request's audit state, on the request under a private symbol rather than in a WeakMap keyed
 * by it: a WeakMap entry whose key dies young costs the collector about 0.85 µs (an ephemeron),
 * a property a few ns.
 */
const STATE = Symbol('authgate.audit');
type WithState = FastifyRequest & { [STATE]?: RequestAudit };

/** Every `/v1` request is audited but health (Vault does not audit `sys/health` either). */
const auditedPath = (url: string): string | undefined => {
  if (!url.startsWith('/v1/')) return undefined;
  // Redirected to the clean path by Vault's HTTP mux, before its router: unaudited (the request
  // that follows the redirect is). Its path may hold a token in a form only cleaning reveals.
  if (cleanPathLocation(url) !== undefined) return undefined;
  // Refused before Vault's mux (a path that is not printable): unaudited too.
  if (hasUnprintablePath(url)) return undefined;
  // The path as served and as the ACL checked it (decoded, ended at ? and #), so that an entry
  // cannot be made to name another path than the one read.
  const path = decodedPath(url);
  // Vault serves these outside its router, unaudited: status for anyone, no token, no data.
  if (path === 'sys/health' || path.startsWith('sys/health/')) return undefined;
  if (path === 'sys/seal-status' || path === 'sys/init' || path === 'sys/leader') return undefined;
  return path;
};

const operationOf = (request: FastifyRequest): AuditOperation => {
  switch (request.method) {
    case 'GET':
    case 'HEAD':
      return isList(request) ? 'list' : 'read';
    case 'DELETE':
      return 'delete';
    case 'LIST':
      return 'list';
    default:
      return 'update';
  }
};

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v) && !Buffer.isBuffer(v);

/** Reads the envelope back from an answer serialized without `preSerialization` (a string sent as is). */
const parsePayload = (payload: unknown): Record<string, unknown> | undefined => {
  if (typeof payload !== 'string' || !payload.startsWith('{')) return undefined;
  try {
    const body: unknown = JSON.parse(payload);
    return isPlainObject(body) ? body : undefined;
  } catch {
    return undefined;
  }
};

/**
 * Audits every `/v1` request but health through Fastify hooks, in one place, so routes stay
 * unaware of it (a login route only exposes its outcome, {@link loginOutcomeOf}):
 *
 * - `preValidation` (the body parsed, nothing served yet): the request entry. A login is thus
 *   audited before anything is verified or issued. When no device takes it, the request fails
 *   with 503 (`audit device unavailable`) and is not served (fail closed, as Vault, which
 *   answers 500).
 * - `onError`: keeps the error, for its internal reason.
 * - `onSend` (the answer built, not yet sent): the response entry — and the request entry first
 *   when the request never reached `preValidation` (a body that is not JSON, a caller refused
 *   before its body was read). When no device takes it, the answer is replaced by 503
 *   and a token the request issued (a login's) is revoked; the caller's own token is not.
 *
 * With no device configured nothing is installed: auditing costs nothing when it is off.
 */
export const installAuditHooks = (app: FastifyInstance, deps: AuditHookDeps): void => {
  if (!deps.audit.enabled) return;
  const authMounts = [...deps.mounts.keys()].map((m) => `auth/${m}/`).sort((a, b) => b.length - a.length);

  const TOKEN_MOUNT: AuditMount = {
    point: 'auth/token/',
    type: 'token',
    class: 'auth',
    accessor: mountAccessor('token', 'token'),
  };
  // Each auth mount described once, by its own type: its accessor is a hash, which no login
  // should compute again.
  const mountsByPath = new Map<string, AuditMount>(
    [...deps.mounts].map(([mount, { type }]) => [
      mount,
      { point: `auth/${mount}/`, type, class: 'auth', accessor: mountAccessor(type, mount) },
    ]),
  );

  const mountOf = (path: string): { mount: AuditMount; login?: string } => {
    const login = /^auth\/(.+)\/login$/.exec(path)?.[1];
    const loginMount = login === undefined ? undefined : mountsByPath.get(login);
    if (loginMount !== undefined) return { mount: loginMount, login };
    if (path.startsWith('auth/token/')) return { mount: TOKEN_MOUNT };
    // A mount's other paths (`auth/<mount>/role/<name>`, `…/config`).
    const auth = authMounts.find((m) => path.startsWith(m));
    const authMount = auth === undefined ? undefined : mountsByPath.get(auth.slice('auth/'.length, -1));
    if (authMount !== undefined) return { mount: authMount };
    // The longest mount the path is under (`team/kv/x` is under `team/kv/`, not a mount `team/`).
    const secrets =
      deps.secretsMounts === undefined ? undefined : matchSecretsMount(deps.secretsMounts, path);
    if (secrets !== undefined) {
      const { mountPath, entry } = secrets;
      return { mount: { point: mountPath, type: entry.type, class: 'secret', accessor: entry.accessor } };
    }
    return { mount: { point: '', type: '', class: '' } };
  };

  const describe = (request: FastifyRequest, path: string, mount: AuditMount): AuditRequest => {
    const operation = operationOf(request);
    const query = request.query as Record<string, unknown> | undefined;
    let data: Record<string, unknown> | undefined;
    if (operation === 'read' || operation === 'list') {
      data = isPlainObject(query) ? { ...query } : undefined;
      // As Vault, whose router turns `list=true` into the operation and leaves it out of the data.
      if (operation === 'list') delete data?.['list'];
      if (data !== undefined && Object.keys(data).length === 0) data = undefined;
    } else if (isPlainObject(request.body)) {
      data = request.body;
    }
    return {
      id: request.id,
      operation,
      path,
      pathSecret: secretInPath(path),
      mount,
      clientToken: clientTokenOf(request),
      ...callerOf(request),
      data,
      remoteAddress: request.ip,
      remotePort: request.socket?.remotePort,
    };
  };

  const stateOf = (request: FastifyRequest, path: string): RequestAudit => {
    let s = (request as WithState)[STATE];
    if (s === undefined) {
      const { mount, login } = mountOf(path);
      s = {
        req: describe(request, path, mount),
        loginMount: login,
        requestLogged: false,
        requestFailed: false,
      };
      (request as WithState)[STATE] = s;
    }
    return s;
  };

  const addGrantingPolicies = createGrantingPolicies(deps);

  const logRequest = async (s: RequestAudit, request: FastifyRequest): Promise<void> => {
    s.requestLogged = true;
    await addGrantingPolicies(s.req.caller, request);
    try {
      await deps.audit.logRequest(s.req);
    } catch (err) {
      s.requestFailed = true;
      throw err;
    }
  };

  /** authgate's block: the outcome, its internal reason and, for a login, who it was. */
  const authgateBlock = (
    request: FastifyRequest,
    s: RequestAudit,
    status: number,
    body: Record<string, unknown> | undefined,
  ): AuthgateAuditBlock => {
    const outcome = loginOutcomeOf(request);
    const block: AuthgateAuditBlock =
      status < 400
        ? { outcome: 'ok', reason: 'ok', status }
        : outcome !== undefined && outcome.outcome !== 'ok'
          ? { outcome: outcome.outcome, reason: outcome.reason, detail: outcome.detail, status }
          : {
              outcome: status === 403 ? 'denied' : 'error',
              reason: reasonOf(s.error, status),
              detail: isAuthgateError(s.error) ? s.error.detail : undefined,
              status,
            };
    const mount = s.loginMount;
    if (mount === undefined) return block;
    const claimed = outcome !== undefined && 'claimed' in outcome ? outcome.claimed : undefined;
    const auth = isPlainObject(body?.['auth']) ? body['auth'] : undefined;
    const meta = isPlainObject(auth?.['metadata']) ? (auth['metadata'] as Record<string, string>) : undefined;
    // A successful login's identity is the one the verifier proved (Vault's auth.metadata); a
    // refused one's is only what its JWT claims.
    const login: AuditLoginSubject =
      status < 400 && meta !== undefined
        ? {
            mount,
            role: meta['role'],
            namespace: meta['service_account_namespace'],
            service_account: meta['service_account_name'],
            pod: meta['pod_name'],
            verified: true,
          }
        : {
            mount,
            role: outcome?.role,
            namespace: claimed?.namespace,
            service_account: claimed?.serviceAccount,
            pod: claimed?.pod,
            verified: false,
          };
    // Assigned, not `{ ...block, login }`: on Node 20 that spread gives every audited login's block
    // a hidden class of its own.
    block.login = login;
    return block;
  };

  const responseOf = (
    request: FastifyRequest,
    reply: FastifyReply,
    s: RequestAudit,
    body: Record<string, unknown> | undefined,
  ): AuditResponse => {
    const errors = Array.isArray(body?.['errors']) ? (body['errors'] as unknown[]).map(String) : [];
    const warnings = Array.isArray(body?.['warnings'])
      ? (body['warnings'] as unknown[]).map(String)
      : undefined;
    const auth = isPlainObject(body?.['auth']) ? body['auth'] : undefined;
    // The display name Vault's audit `auth` has: a login's new token's, or the renewed token's
    // (the caller's own for renew-self, the named one for renew and renew-accessor).
    const outcome = loginOutcomeOf(request);
    const authDisplayName =
      auth === undefined
        ? undefined
        : outcome !== undefined && 'displayName' in outcome
          ? outcome.displayName
          : renewedDisplayNameOf(request);
    // A refusal of the token check is, in Vault's response entry, the request's error as a
    // multierror, and the response's data the error its answer carried.
    const checkError = s.req.checkError;
    return {
      auth,
      authDisplayName,
      data:
        checkError !== undefined
          ? { error: checkError }
          : isPlainObject(body?.['data'])
            ? body['data']
            : undefined,
      warnings,
      error:
        checkError !== undefined ? VAULT_MULTI_DENIED : errors.length > 0 ? errors.join(', ') : undefined,
      authgate: authgateBlock(request, s, reply.statusCode, body),
    };
  };

  app.addHook('preValidation', (request, _reply, done) => {
    const path = auditedPath(request.url);
    if (path === undefined) return done();
    logRequest(stateOf(request, path), request).then(() => done(), done);
  });

  app.addHook('onError', (request, _reply, error, done) => {
    const path = auditedPath(request.url);
    if (path !== undefined) stateOf(request, path).error = error;
    done();
  });

  app.addHook('preSerialization', (request, _reply, payload, done) => {
    const s = (request as WithState)[STATE];
    if (s !== undefined && isPlainObject(payload)) s.body = payload;
    done(null, payload);
  });

  app.addHook('onSend', async (request, reply, payload) => {
    const path = auditedPath(request.url);
    if (path === undefined) return payload;
    const s = stateOf(request, path);
    if (s.requestFailed) return payload;
    // A login refused by the rate limit, before its body was read, is not audited, as Vault
    // audits quota refusals only when asked: a throttled client must not drive the audit
    // devices' I/O, the load the limit sheds. authgate_logins_total counts it.
    if (isAuthgateError(s.error) && s.error.code === 'RATE_LIMITED') return payload;
    const body = s.body ?? parsePayload(payload);
    try {
      if (!s.requestLogged) {
        // Refused by the token check before the body was read: Vault writes its error in the
        // request entry too (see checkErrorOf).
        s.req.checkError = checkErrorOf(reply.statusCode, s.error);
        await logRequest(s, request);
      }
      await deps.audit.logResponse(s.req, responseOf(request, reply, s, body));
      return payload;
    } catch (err) {
      // Not an AuthgateError: a bug, which is never budgeted (as the error handler's 500s).
      deps.logFailure(
        request,
        isAuthgateError(err) ? err : new AuthgateError('INTERNAL', { reason: 'audit_failed', cause: err }),
      );
      // A token this request issued (a login's, or one auth/token/create made) is revoked:
      // nothing stays issued that was not audited. The token a renewal answers with (the
      // caller's own, or one an operator named) was issued and audited before, so a failed audit
      // of its renewal refuses the renewal, nothing more.
      const auth = isPlainObject(body?.['auth']) ? body['auth'] : undefined;
      const token = auth?.['client_token'];
      const issuedHere =
        (s.loginMount !== undefined || createdTokenHere(request)) &&
        typeof token === 'string' &&
        token !== '';
      if (issuedHere && deps.revokeToken !== undefined) {
        await deps
          .revokeToken(token)
          .catch((e: unknown) =>
            request.log.error(
              { event: 'audit.revoke_failed', reason: (e as Error).message },
              'audit.revoke_failed',
            ),
          );
      }
      void reply.code(503).header('content-type', 'application/json');
      return AUDIT_FAILED_BODY;
    }
  });
};
