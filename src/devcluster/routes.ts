/**
 * The API paths the simulator serves, with the API server's authentication (401), RBAC (403) and
 * Status errors. Discovery, JWKS and health endpoints need no credentials.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { safeEqual } from '../lib/hash.js';
import {
  forbidden,
  methodNotAllowed,
  notFound,
  pathNotFound,
  unauthorized,
  type KubeApiError,
} from './api-status.js';
import { bearerToken, type TokenAuthenticator } from './authenticator.js';
import { readJsonBody, writeJson, type RequestHandler, type Stats } from './http-server.js';
import { discoveryDocument, jwksDocument, servesDiscovery, type KeyRing } from './keys.js';
import type { ObjectStore } from './objects.js';
import { FIELD_PATHS, parseFieldSelector, parseLabelSelector, type Matcher } from './selectors.js';
import { listJson, namespaceJson, nodeJson, podJson, serviceAccountJson, type JsonObject } from './shapes.js';
import { parseTokenReview, tokenReviewJson } from './token-review.js';
import { decodeTokenRequest, tokenRequestJson, type TokenRequestService } from './token-request.js';
import { serveWatch, type WatchHub } from './watch.js';
import { createFromRequest, type CreateKind } from './object-create.js';

/** Who is calling: the static admin token, or a service account authenticated by its token. */
type Caller = { admin: true; username: 'system:admin' } | { admin: false; username: string };

/** Everything the routes use. */
export type RouteDeps = {
  objects: ObjectStore;
  hub: Pick<WatchHub, 'since' | 'subscribe'>;
  keys: Pick<KeyRing, 'jwks'>;
  authenticator: TokenAuthenticator;
  tokenRequests: Pick<TokenRequestService, 'create'>;
  issuer: string;
  /** This server's base URL, for `jwks_uri`. */
  baseUrl: () => string;
  adminToken: string;
  /** Usernames bound to `system:auth-delegator`. */
  authDelegators: ReadonlySet<string>;
  /** Usernames granted `get`, `list` and `watch` on namespaces (a ClusterRole binding). */
  namespaceReaders: ReadonlySet<string>;
  countTokenReview: () => void;
  /** The server's counters, for `GET /debug/simulator/stats` (the bench's API calls per 1 000 logins). */
  stats: () => Stats;
  bookmarkIntervalMs: number;
};

type Route = {
  pattern: RegExp;
  /** Served without credentials (discovery, health). */
  open?: boolean;
  /** Issuer discovery: installed only for an issuer `servesDiscovery` accepts. */
  discovery?: boolean;
  methods: Partial<Record<string, (ctx: Context) => Promise<void> | void>>;
};
type Context = { req: IncomingMessage; res: ServerResponse; url: URL; params: string[]; caller: Caller };

const GET_WATCH = /^(1|true)$/;
const intParam = (value: string | null): number | undefined =>
  value !== null && /^\d+$/.test(value) ? Number(value) : undefined;

/** The request handler for every path the simulator serves. */
export const createRoutes = (deps: RouteDeps): RequestHandler => {
  const callerOf = (req: IncomingMessage): Caller | undefined => {
    const token = bearerToken(req.headers.authorization ?? '');
    if (token === undefined) return undefined;
    if (safeEqual(token, deps.adminToken)) return { admin: true, username: 'system:admin' };
    const result = deps.authenticator.authenticate(token);
    return result.ok ? { admin: false, username: result.user.username } : undefined;
  };

  const requireAdmin = (caller: Caller, denied: () => KubeApiError): void => {
    if (!caller.admin) throw denied();
  };
  /** RBAC on namespaces: the cluster admin, or a user bound to a role that reads them. */
  const requireNamespaceReader = (caller: Caller, verb: string, name?: string): void => {
    if (caller.admin || deps.namespaceReaders.has(caller.username)) return;
    throw forbidden({
      user: caller.username,
      verb,
      resource: 'namespaces',
      group: '',
      ...(name ? { name } : {}),
    });
  };

  const listOrWatch = (
    ctx: Context,
    r: {
      resource: 'pods' | 'namespaces';
      kind: 'Pod' | 'Namespace';
      namespace?: string;
      all: () => JsonObject[];
    },
  ): void => {
    const q = ctx.url.searchParams;
    const labels = parseLabelSelector(q.get('labelSelector') ?? undefined);
    const fields = parseFieldSelector(q.get('fieldSelector') ?? undefined, FIELD_PATHS[r.resource]);
    const matcher: Matcher = (o) => labels(o) && fields(o);
    if (GET_WATCH.test(q.get('watch') ?? '')) {
      const sendInitial = q.get('sendInitialEvents');
      const timeoutSeconds = intParam(q.get('timeoutSeconds'));
      return serveWatch(
        ctx.res,
        {
          hub: deps.hub,
          currentResourceVersion: deps.objects.resourceVersion,
          bookmarkIntervalMs: deps.bookmarkIntervalMs,
        },
        {
          resource: r.resource,
          kind: r.kind,
          ...(r.namespace === undefined ? {} : { namespace: r.namespace }),
          matcher,
          resourceVersion: q.get('resourceVersion') ?? '',
          allowWatchBookmarks: q.get('allowWatchBookmarks') === 'true',
          ...(sendInitial === null ? {} : { sendInitialEvents: sendInitial === 'true' }),
          ...(timeoutSeconds === undefined ? {} : { timeoutSeconds }),
          initialObjects: () => r.all().filter(matcher),
        },
      );
    }
    const items = r
      .all()
      .filter(matcher)
      .map(({ kind: _k, apiVersion: _v, ...item }) => item);
    writeJson(ctx.res, 200, listJson(r.kind, deps.objects.resourceVersion(), items));
  };

  const createTokenReview = async (ctx: Context): Promise<void> => {
    if (!ctx.caller.admin && !deps.authDelegators.has(ctx.caller.username))
      throw forbidden({
        user: ctx.caller.username,
        verb: 'create',
        resource: 'tokenreviews',
        group: 'authentication.k8s.io',
      });
    const spec = parseTokenReview((await readJsonBody(ctx.req)) ?? {});
    deps.countTokenReview();
    // The review authenticates a request carrying `Authorization: Bearer <spec.token>`.
    const bearer = bearerToken(`Bearer ${spec.token}`);
    const result =
      bearer === undefined
        ? ({ ok: false, error: '' } as const)
        : deps.authenticator.authenticate(bearer, spec.audiences);
    writeJson(ctx.res, 201, tokenReviewJson(spec, result));
  };

  const createToken = async (ctx: Context): Promise<void> => {
    const [namespace, name] = ctx.params as [string, string];
    requireAdmin(ctx.caller, () =>
      forbidden({
        user: ctx.caller.username,
        verb: 'create',
        resource: 'serviceaccounts',
        subresource: 'token',
        group: '',
        name,
        namespace,
      }),
    );
    const input = decodeTokenRequest(namespace, name, (await readJsonBody(ctx.req)) ?? {});
    const result = await deps.tokenRequests.create(input);
    const headers: Record<string, string> = {};
    if (result.warnings.length > 0)
      headers['Warning'] = result.warnings.map((w) => `299 - ${JSON.stringify(w)}`).join(', ');
    writeJson(ctx.res, 201, tokenRequestJson(result), headers);
  };

  const create =
    (kind: CreateKind) =>
    async ({ req, res, caller, params: [ns] }: Context): Promise<void> => {
      requireAdmin(caller, () =>
        forbidden({
          user: caller.username,
          verb: 'create',
          resource: kind,
          group: '',
          ...(ns ? { namespace: ns } : {}),
        }),
      );
      writeJson(res, 201, await createFromRequest(deps.objects, kind, req, ns));
    };

  const routes: Route[] = [
    {
      pattern: /^\/\.well-known\/openid-configuration$/,
      open: true,
      discovery: true,
      methods: {
        GET: ({ res }) => {
          const algs = deps.keys.jwks().map((k) => k['alg'] as string);
          const body = discoveryDocument(deps.issuer, `${deps.baseUrl()}/openid/v1/jwks`, algs);
          res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'public, max-age=3600' });
          res.end(body);
        },
      },
    },
    {
      pattern: /^\/openid\/v1\/jwks$/,
      open: true,
      discovery: true,
      methods: {
        GET: ({ res }) => {
          res.writeHead(200, {
            'Content-Type': 'application/jwk-set+json',
            'Cache-Control': 'public, max-age=3600',
          });
          res.end(jwksDocument(deps.keys.jwks()));
        },
      },
    },
    {
      pattern: /^\/(healthz|livez|readyz)$/,
      open: true,
      methods: {
        GET: ({ res }) => {
          res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
          res.end('ok');
        },
      },
    },
    {
      // Not a Kubernetes API: the simulator's own counters (TokenReviews, requests per path), for
      // the bench and operators of `authgate dev`. Cluster admin only.
      pattern: /^\/debug\/simulator\/stats$/,
      methods: {
        GET: ({ res, caller }) => {
          requireAdmin(caller, () =>
            forbidden({ user: caller.username, verb: 'get', resource: 'debug/simulator/stats', group: '' }),
          );
          writeJson(res, 200, deps.stats());
        },
      },
    },
    {
      pattern: /^\/version$/,
      open: true,
      methods: {
        GET: ({ res }) =>
          writeJson(res, 200, {
            major: '1',
            minor: '33',
            gitVersion: 'v1.33.0-authgate-devcluster',
            platform: 'linux/amd64',
          }),
      },
    },
    { pattern: /^\/apis\/authentication\.k8s\.io\/v1\/tokenreviews$/, methods: { POST: createTokenReview } },
    {
      pattern: /^\/api\/v1\/namespaces\/([^/]+)\/serviceaccounts\/([^/]+)\/token$/,
      methods: { POST: createToken },
    },
    {
      pattern: /^\/api\/v1\/namespaces\/([^/]+)\/serviceaccounts$/,
      methods: { POST: create('serviceaccounts') },
    },
    {
      pattern: /^\/api\/v1\/namespaces\/([^/]+)\/serviceaccounts\/([^/]+)$/,
      methods: {
        GET: ({ res, params: [ns, name] }) => {
          const sa = deps.objects.getServiceAccount(ns as string, name as string);
          if (!sa) throw notFound('serviceaccounts', name as string);
          writeJson(res, 200, serviceAccountJson(sa));
        },
      },
    },
    {
      pattern: /^\/api\/v1\/namespaces$/,
      methods: {
        POST: create('namespaces'),
        GET: (ctx) => {
          const watching = GET_WATCH.test(ctx.url.searchParams.get('watch') ?? '');
          requireNamespaceReader(ctx.caller, watching ? 'watch' : 'list');
          listOrWatch(ctx, {
            resource: 'namespaces',
            kind: 'Namespace',
            all: () => deps.objects.listNamespaces().map((n) => namespaceJson(n)),
          });
        },
      },
    },
    {
      pattern: /^\/api\/v1\/namespaces\/([^/]+)$/,
      methods: {
        GET: ({ res, caller, params: [name] }) => {
          requireNamespaceReader(caller, 'get', name);
          const ns = deps.objects.getNamespace(name as string);
          if (!ns) throw notFound('namespaces', name as string);
          writeJson(res, 200, namespaceJson(ns));
        },
      },
    },
    {
      pattern: /^\/api\/v1\/namespaces\/([^/]+)\/pods$/,
      methods: {
        POST: create('pods'),
        GET: (ctx) =>
          listOrWatch(ctx, {
            resource: 'pods',
            kind: 'Pod',
            namespace: ctx.params[0] as string,
            all: () => deps.objects.listPods(ctx.params[0]).map((p) => podJson(p)),
          }),
      },
    },
    {
      pattern: /^\/api\/v1\/pods$/,
      methods: {
        GET: (ctx) =>
          listOrWatch(ctx, {
            resource: 'pods',
            kind: 'Pod',
            all: () => deps.objects.listPods().map((p) => podJson(p)),
          }),
      },
    },
    {
      pattern: /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)$/,
      methods: {
        GET: ({ res, params: [ns, name] }) => {
          const pod = deps.objects.getPod(ns as string, name as string);
          if (!pod) throw notFound('pods', name as string);
          writeJson(res, 200, podJson(pod));
        },
        DELETE: ({ req, res, caller, params: [ns, name] }) => {
          requireAdmin(caller, () =>
            forbidden({
              user: caller.username,
              verb: 'delete',
              resource: 'pods',
              group: '',
              name,
              namespace: ns,
            }),
          );
          req.resume();
          writeJson(res, 200, podJson(deps.objects.deletePod(ns as string, name as string)));
        },
      },
    },
    {
      pattern: /^\/api\/v1\/nodes\/([^/]+)$/,
      methods: {
        GET: ({ res, params: [name] }) => {
          const node = deps.objects.getNode(name as string);
          if (!node) throw notFound('nodes', name as string);
          writeJson(res, 200, nodeJson(node));
        },
      },
    },
  ];

  const discovery = servesDiscovery(deps.issuer);
  return async (req, res, url) => {
    let match: { route: Route; params: string[] } | undefined;
    for (const route of routes) {
      if (route.discovery && !discovery) continue;
      const m = route.pattern.exec(url.pathname);
      if (m) {
        match = { route, params: m.slice(1).map(decodeSegment) };
        break;
      }
    }
    // Authentication comes first, as in the API server: a bearer token that does not
    // authenticate is 401 on every path, the public ones included; without one, only the public
    // endpoints answer (as system:anonymous: a cluster where the discovery role is bound to
    // system:unauthenticated, as Vault's docs set one up for the JWT method).
    const bearer = bearerToken(req.headers.authorization ?? '') !== undefined;
    const caller =
      match?.route.open && !bearer
        ? ({ admin: false, username: 'system:anonymous' } as const)
        : callerOf(req);
    if (!caller) throw unauthorized();
    if (!match) throw pathNotFound();
    const handler = match.route.methods[req.method ?? 'GET'];
    if (!handler) throw methodNotAllowed();
    await handler({ req, res, url, params: match.params, caller });
  };
};

const decodeSegment = (segment: string): string => {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
};
