import { randomUUID } from 'node:crypto';
import { maxHeaderSize } from 'node:http';
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import { TypeBoxValidatorCompiler } from '@fastify/type-provider-typebox';
import type { Audit } from '../audit/index.js';
import type { LoginService } from '../auth/index.js';
import type { AuthgateConfig } from '../config/index.js';
import type { Logger } from '../telemetry/index.js';
import type { TokenService } from '../tokens/index.js';
import { installAuditHooks, type AuditHookDeps } from './audit-hooks.js';
import { installTelemetry, type TelemetryDeps } from './telemetry-hooks.js';
import { createMountAccess, installAclHook, type AclHookDeps } from './acl-hook.js';
import type { AclRouteConfig } from './acl-route.js';
import { lazyLogger } from './lazy-logger.js';
import {
  registerIdentityConfigRoutes,
  type IdentityConfigRouteDeps,
} from './routes/identity-config-routes.js';
import { registerIdentityRoutes, type IdentityRouteDeps } from './routes/identity-routes.js';
import { registerKvRoutes, type KvRouteDeps } from './routes/kv-routes.js';
import { registerPolicyRoutes, type PolicyRouteDeps } from './routes/policy-routes.js';
import { registerRewrapRoutes, type RewrapRouteDeps } from './routes/rewrap-routes.js';
import { registerAuditRoutes } from './routes/audit-routes.js';
import { registerLeaseRoutes } from './routes/lease-routes.js';
import { registerLoginRoutes, type LoginRouteDeps } from './routes/login-routes.js';
import { registerAuthMountRoutes } from './routes/auth-mount-routes.js';
import { registerSecretsMountRoutes } from './routes/sys-mounts-routes.js';
import { registerSysRoutes, type HealthDeps } from './routes/sys-routes.js';
import { registerTokenRoutes, type TokenRouteDeps } from './routes/token-routes.js';
import {
  answerNoHandler,
  installErrorHandling,
  installJsonForAnyContentType,
  VAULT_METHODS,
  sendErrorsWithoutHooks,
  VAULT_HEADERS,
} from './vault-errors.js';
import { AuthgateError, badRequest } from '../errors.js';
import { buildSecretsMountTable } from '../secrets/index.js';
import { parseGoBool } from '../lib/go-bool.js';
import { createClientErrorHandler, createConnectHandler, createExpectationHandler } from './client-errors.js';
import {
  asksForHelp,
  badListFlag,
  hostProblem,
  NON_LOGICAL_PATHS,
  unsupportedTransferCoding,
  wrapRefusal,
} from './request-checks.js';
import { redirectUncleanPath } from './path-redirect.js';
import { hasUnprintablePath } from './printable-path.js';

export type AppDeps = {
  log: Logger;
  login: LoginRouteDeps['login'] & Pick<LoginService, 'renewalTerms'>;
  loginOutcome?: LoginRouteDeps['onOutcome'];
  tokens: TokenRouteDeps['tokens'] &
    LoginRouteDeps['tokens'] &
    AclHookDeps['tokens'] &
    Pick<TokenService, 'withdraw'>;
  admin: AclHookDeps['admin'];
  revocation: TokenRouteDeps['revocation'];
  health: HealthDeps;
  clock: TokenRouteDeps['clock'];
  /** Traces, login metrics and `/metrics`; default: none. */
  telemetry?: TelemetryDeps;
  /** Audit devices (none configured = nothing audited) and their operator queries. */
  audit: Pick<Audit, 'enabled' | 'logRequest' | 'logResponse' | 'hash' | 'logins'>;
  /** The loaded policies, and how to reload them. */
  policies: AclHookDeps['policies'] &
    PolicyRouteDeps['policies'] &
    AuditHookDeps['policies'] &
    TokenRouteDeps['policies'];
  reloadPolicies: PolicyRouteDeps['reload'];
  /** KV v2 engines by mount path. */
  kv: KvRouteDeps['engines'];
  identity: IdentityRouteDeps['identity'] & IdentityConfigRouteDeps['identity'];
  /** Re-seals values sealed under a previous encryption key (`POST /v1/sys/rewrap`). */
  rewrap: RewrapRouteDeps['rewrap'];
};

/**
 * Builds the Fastify app: Vault's routes, schemas, error shape and body limit. Never listens:
 * `authgate server`, `authgate dev` and the tests all call it and decide what to do with it.
 */
export const buildApp = (
  config: AuthgateConfig,
  deps: AppDeps,
  https?: { cert: Buffer; key: Buffer },
): FastifyInstance => {
  // Requests Node's parser refuses: Vault's LIST method served, the rest answered in Vault's shape.
  const onClientError = createClientErrorHandler({
    inject: (options) => app.inject(options),
    log: deps.log,
    clock: deps.clock,
    maxHeadBytes: maxHeaderSize,
  });
  // One instance type for HTTP and HTTPS: routes never depend on which server is underneath.
  // A client that sends its request slowly (a byte every few seconds) would hold a connection
  // for as long as it likes: Fastify switches Node's own 300 s limit off. Node enforces the limit
  // only when the headers' limit is no longer (so both are set at creation), and checks every
  // connectionsCheckingInterval (30 s by default: up to twice the limit).
  const requestTimeout = config.listener.requestTimeoutMs;
  const timeouts = {
    requestTimeout,
    headersTimeout: Math.min(60_000, requestTimeout),
    connectionsCheckingInterval: Math.min(30_000, Math.max(1_000, requestTimeout / 2)),
    // Node answers an HTTP/1.1 request without Host itself, with a bare 400 and no body; the
    // onRequest hook below refuses it instead, in Vault's shape.
    requireHostHeader: false,
  };
  const app = Fastify({
    // Node's default is 120 s for a TLS handshake that never ends (a client that connects and
    // sends no ClientHello holds its descriptor that long); Vault's whole header read has 10 s.
    // Once the handshake is done, a connection that sends nothing is closed by Node's headers
    // limit (test/http-silent-connection.test.ts).
    ...(https === undefined
      ? { http: timeouts }
      : { https: { ...https, ...timeouts, handshakeTimeout: Math.min(10_000, requestTimeout) } }),
    loggerInstance: deps.log as FastifyBaseLogger,
    // The per-request child (bound to the request id) is made only when the request logs.
    childLoggerFactory: (logger, bindings, options) => lazyLogger(() => logger.child(bindings, options)),
    // Requests are logged by event (login.denied, request.failed), not one line per request.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.listener.maxRequestBytes,
    requestTimeout,
    // Vault names are not limited to 100 characters (find-my-way's default, past which a path
    // parameter is not matched, and the request refused): any name a request line can carry
    // (Node bounds it by the header limit) reaches its route.
    routerOptions: { maxParamLength: maxHeaderSize },
    trustProxy: config.listener.trustedProxies.length > 0 ? config.listener.trustedProxies : false,
    genReqId: () => randomUUID(),
    requestIdHeader: false,
    return503OnClosing: true,
    clientErrorHandler: onClientError,
    forceCloseConnections: 'idle',
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false } },
    // A URL the router cannot decode (`%ZZ`) is answered in Vault's shape, like every error.
    frameworkErrors: (error, _request, reply) =>
      sendErrorsWithoutHooks(reply, 400, [
        error.code === 'FST_ERR_BAD_URL' ? 'invalid request path: malformed percent-encoding' : 'bad request',
      ]),
  }) as unknown as FastifyInstance;
  app.server.on('connect', createConnectHandler({ clock: deps.clock }));
  app.server.on(
    'checkExpectation',
    createExpectationHandler((request, response) => app.server.emit('request', request, response)),
  );
  app.setValidatorCompiler(TypeBoxValidatorCompiler);
  const answerUnsupportedMethods = collectRouteMethods(app);
  installJsonForAnyContentType(app, config.listener.maxRequestBytes);
  const logFailure = installErrorHandling(app);
  // The router accepts an absolute-form target (`GET http://host/v1/… HTTP/1.1`) and drops its
  // scheme and host; every check after it (ACL, audit) reads the URL as sent. Refuse it outright,
  // before anything else, so that what is checked and audited is always what is served.
  app.addHook('onRequest', (request, reply, done) => {
    if (!request.url.startsWith('/')) {
      done(badRequest('invalid request path: use an origin-form request target', 'absolute_form_url'));
      return;
    }
    const hostRefused = hostProblem(request);
    if (hostRefused !== undefined) {
      done(badRequest(hostRefused, 'bad_host'));
      return;
    }
    if (unsupportedTransferCoding(request)) {
      done(
        new AuthgateError('NOT_IMPLEMENTED', {
          message: 'unsupported transfer encoding',
          reason: 'unsupported_transfer_encoding',
        }),
      );
      return;
    }
    // Before Vault's mux and everything in it: a path that is not printable (`%00`, `%0A`, U+200B).
    if (hasUnprintablePath(request.url)) {
      done(badRequest('invalid request path', 'unprintable_path'));
      return;
    }
    // Vault answers any request with a `help` parameter with the path's help text, outside its
    // mux (wrapHelpHandler), and performs nothing: authgate has no help text, and must not perform
    // a write or a delete the caller only asked about.
    if (asksForHelp(request.url)) {
      done(badRequest('help is not supported by authgate', 'help_unsupported'));
      return;
    }
    // `//`, `.` and `..` in the path: Vault's ServeMux redirects to the clean path before any
    // check (no token read, nothing audited); answered here, no later hook runs.
    if (redirectUncleanPath(request.method, request.url, reply)) return;
    // The status endpoints are outside Vault's logical handler, which alone reads the headers
    // below: there they are ignored.
    const logical = !NON_LOGICAL_PATHS.has(request.url.split('?', 1)[0] ?? '');
    // A client that asks for a wrapped answer must not get the secret in clear instead: Vault
    // answers a single-use wrapping token, which authgate does not issue.
    // Vault's logical handler reads a GET's `list` with strconv.ParseBool, before the token, and
    // answers one that is no boolean with a bare 400 (buildLogicalRequestNoAuth).
    if (logical && request.method === 'GET' && badListFlag(request.query)) {
      done(new AuthgateError('BAD_REQUEST', { message: '', reason: 'bad_list_flag' }));
      return;
    }
    const wrap = logical ? wrapRefusal(request) : undefined;
    if (wrap !== undefined) {
      done(wrap);
      return;
    }
    // Sentinel policies are Vault Enterprise's, so the override asks nothing of authgate; but
    // Vault CE parses it as a Go bool, and refuses a request whose header is none (its value is
    // not echoed).
    const override = request.headers['x-vault-policy-override'];
    if (logical && typeof override === 'string' && override !== '' && parseGoBool(override) === undefined) {
      done(
        badRequest('failed to parse X-Vault-Policy-Override header: not a boolean', 'bad_policy_override'),
      );
      return;
    }
    done();
  });
  const secretsMounts = buildSecretsMountTable(deps.kv);
  // First, so that the request span is the parent of everything after it (audit included).
  if (deps.telemetry !== undefined) installTelemetry(app, deps.telemetry);
  installAuditHooks(app, {
    audit: deps.audit,
    mounts: config.mounts,
    policies: deps.policies,
    secretsMounts,
    revokeToken: (token) => deps.tokens.withdraw(token),
    logFailure,
  });
  // After telemetry and audit: a refused request is still traced and audited.
  const aclDeps = { tokens: deps.tokens, admin: deps.admin, policies: deps.policies, mounts: config.mounts };
  installAclHook(app, aclDeps);
  registerSysRoutes(app, deps.health);
  registerPolicyRoutes(app, {
    policies: deps.policies,
    tokens: deps.tokens,
    admin: deps.admin,
    reload: deps.reloadPolicies,
    mounts: config.mounts,
  });
  registerKvRoutes(app, {
    engines: deps.kv,
    mountAccess: createMountAccess(aclDeps),
    authMounts: config.mounts,
  });
  registerSecretsMountRoutes(app, { secretsMounts });
  registerIdentityRoutes(app, { identity: deps.identity });
  registerIdentityConfigRoutes(app, { identity: deps.identity });
  registerRewrapRoutes(app, { rewrap: deps.rewrap });
  registerAuditRoutes(app, { audit: deps.audit, devices: config.audit, clock: deps.clock });
  registerLeaseRoutes(app);
  registerLoginRoutes(app, {
    login: deps.login,
    tokens: deps.tokens,
    mounts: config.mounts,
    ...(deps.loginOutcome ? { onOutcome: deps.loginOutcome } : {}),
    ...(config.listener.loginRateLimit === undefined
      ? {}
      : { rateLimit: { ...config.listener.loginRateLimit, nowMs: () => deps.clock.nowMs() } }),
  });
  registerAuthMountRoutes(app, { mounts: config.mounts });
  registerTokenRoutes(app, {
    tokens: deps.tokens,
    admin: deps.admin,
    clock: deps.clock,
    renewalTerms: deps.login.renewalTerms,
    revocation: deps.revocation,
    policies: deps.policies,
  });
  // Vault's handleRequest checks the token and its policies before its router finds no handler:
  // a path nothing serves is 403 to a caller the ACL does not let ask there, and `no handler for
  // route` (404) only to one it does, so that no one learns which mounts exist without a token.
  // Every served route is more specific than this one.
  app.route({
    method: [...VAULT_METHODS],
    url: '/v1/*',
    config: { acl: {} } satisfies AclRouteConfig,
    handler: answerNoRoute,
  });
  answerUnsupportedMethods();
  installResponseHeaders(app);
  return app;
};

/**
 * The handler of the catch-all `/v1/*` route: it serves nothing, it only answers Vault's 404 once
 * the ACL let the caller ask (test/docs-routes.test.ts tells it from served routes by it).
 */
export const answerNoRoute = async (request: FastifyRequest, reply: FastifyReply): Promise<unknown> =>
  answerNoHandler(request, reply);

/**
 * The handler of the 405 routes that `collectRouteMethods` adds: a route with it serves nothing
 * (test/docs-routes.test.ts tells such routes from served ones by it).
 */
export const answerUnsupportedOperation = async (): Promise<never> => {
  throw new AuthgateError('UNSUPPORTED_OPERATION');
};

/**
 * Vault answers a method that a path does not support with 405 `unsupported operation`, not 404:
 * the path exists. Records the methods of every route as it is added; the function returned adds,
 * once every route is in, a 405 route for the other methods of each path, a wildcard one too
 * (`sys/auth/*`, `sys/audit/*`, `sys/leases/renew/*`…; the KV routes take every method and answer
 * their own). As in Vault, which checks the token and its policies before the
 * backend finds it has no such operation, the 405 route of a path the ACL guards is guarded too:
 * a caller without a token, or whose policies do not grant the method's capability there, gets
 * 403 `permission denied`; only one that may ask learns that the path cannot do it.
 */
const collectRouteMethods = (app: FastifyInstance): (() => void) => {
  const methods = new Map<string, Set<string>>();
  const guarded = new Set<string>();
  app.addHook('onRoute', (route) => {
    const set = methods.get(route.url) ?? new Set<string>();
    for (const m of [route.method].flat()) set.add(m);
    methods.set(route.url, set);
    if ((route.config as AclRouteConfig | undefined)?.acl !== undefined) guarded.add(route.url);
  });
  return () => {
    for (const [url, has] of [...methods]) {
      const missing = VAULT_METHODS.filter((m) => !has.has(m));
      if (missing.length === 0) continue;
      app.route({
        method: missing,
        url,
        ...(guarded.has(url) ? { config: { acl: {} } satisfies AclRouteConfig } : {}),
        handler: answerUnsupportedOperation,
      });
    }
  };
};

/** Whether Vault's generic handler, which sets `X-Vault-Namespace`, answers `url` (see below). */
const echoesNamespace = (url: string): boolean => url.startsWith('/v1/') && !hasUnprintablePath(url);

/** What Fastify sets on a JSON answer; Vault sends the bare type, and hvac compares it exactly. */
const FASTIFY_JSON = 'application/json; charset=utf-8';

/**
 * The headers every answer gets, in one `onSend` hook:
 * - `Cache-Control: no-store`, as Vault sends on every API answer that sets none of its own: they
 *   carry tokens and secrets, which no proxy or browser cache may keep;
 * - `Content-Type: application/json` exactly, as Vault: hvac parses an error's body only when
 *   the type is exactly that, so with Fastify's `; charset=utf-8` its exceptions lost their errors;
 * - during shutdown, `Connection: close`: once `close()` starts, every response still being
 *   answered ends its keep-alive connection, so `close()` resolves as soon as the last in-flight
 *   request is answered (instead of waiting for idle keep-alive timeouts). Idle connections are
 *   closed at once (`forceCloseConnections: 'idle'`);
 * - on the 400 to a request without Host (or with two), `Connection: close`, as for every request
 *   Node's parser refuses (and as Go's server, so Vault, answers it);
 * - the request's `X-Vault-Namespace`, as Vault CE sets it on every `/v1/` answer although it
 *   serves every request in the root namespace (http/handler.go `wrapGenericHandler`): the Go
 *   client quotes it in its errors.
 */
const installResponseHeaders = (app: FastifyInstance): void => {
  let closing = false;
  app.addHook('preClose', (done) => {
    closing = true;
    done();
  });
  app.addHook('onSend', (request, reply, payload, done) => {
    // Unless the route set its own (the public .well-known documents are cacheable, as in Vault).
    if (!reply.hasHeader('cache-control')) reply.header('cache-control', VAULT_HEADERS['cache-control']);
    if (reply.getHeader('content-type') === FASTIFY_JSON)
      reply.header('content-type', VAULT_HEADERS['content-type']);
    // A refused Host (400) or transfer coding (501) is answered by the onRequest hook, its body
    // unread: only then is it looked at again.
    if (
      closing ||
      (reply.statusCode === 400 && hostProblem(request) !== undefined) ||
      (reply.statusCode === 501 && unsupportedTransferCoding(request))
    )
      reply.header('connection', 'close');
    const namespace = request.headers['x-vault-namespace'];
    if (typeof namespace === 'string' && namespace !== '' && echoesNamespace(request.url))
      reply.header('x-vault-namespace', namespace);
    done(null, payload);
  });
};
