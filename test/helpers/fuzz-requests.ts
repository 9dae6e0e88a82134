import fc from 'fast-check';
import { body, type BodyKind } from './fuzz-bodies.js';
import { HEADERS } from './fuzz-headers.js';

/*
 * Generated HTTP requests for the property-based bad-input test (test/fuzz-http.test.ts): every
 * method, the real routes with odd path segments, query strings, headers (fuzz-headers.ts) and
 * bodies (fuzz-bodies.ts), sent as raw bytes (no client normalizes them on the way). Most
 * requests are well-formed but for one or two things, so that they reach the handlers. Secrets
 * are placeholders (`<<admin>>`, `<<client>>`, `<<jwt>>`, `<<accessor>>`) filled in when the
 * request is sent: a counterexample prints readably and always uses the tokens live then.
 */

/** What the placeholders stand for when a request is sent. */
export type FuzzSecrets = { admin: string; client: string; jwt: string; accessor: string };

/** A generated request, before its placeholders are filled in. */
export type FuzzRequest = {
  method: string;
  /** The request target as written on the request line (path and query). */
  target: string;
  version: string;
  /** Header lines in order (Host among them when generated); the body's framing is added. */
  headers: Array<[name: string, value: string]>;
  body: string | Uint8Array | undefined;
  /**
   * How the body is framed: its length, chunks, both (which no server may accept), or a
   * Content-Length that is no length (`-1`, `1, 2`, past 2^64).
   */
  framing: 'length' | 'chunked' | 'conflicting' | { badLength: string };
};

const PLACEHOLDERS = /<<(admin|client|jwt|accessor)>>/g;
const fill = (text: string, s: FuzzSecrets): string =>
  text.replace(PLACEHOLDERS, (_m, k: keyof FuzzSecrets) => s[k]);

/** The request's bytes, with `Connection: close` so that the server ends the exchange. */
export const render = (r: FuzzRequest, s: FuzzSecrets): Buffer => {
  const bytes =
    r.body === undefined
      ? undefined
      : typeof r.body === 'string'
        ? Buffer.from(fill(r.body, s), 'utf8')
        : Buffer.from(r.body);
  const framing =
    bytes === undefined
      ? []
      : typeof r.framing === 'object'
        ? [`Content-Length: ${r.framing.badLength}`]
        : r.framing === 'length'
          ? [`Content-Length: ${bytes.length}`]
          : r.framing === 'chunked'
            ? ['Transfer-Encoding: chunked']
            : ['Transfer-Encoding: chunked', `Content-Length: ${bytes.length}`];
  const lines = [
    `${r.method} ${fill(r.target, s)} ${r.version}`,
    ...r.headers.map(([name, value]) => `${name}: ${fill(value, s)}`),
    ...framing,
    'Connection: close',
  ];
  const head = Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'utf8');
  if (bytes === undefined) return head;
  if (r.framing === 'length' || typeof r.framing === 'object') return Buffer.concat([head, bytes]);
  const chunk =
    bytes.length > 0 ? [Buffer.from(`${bytes.length.toString(16)}\r\n`), bytes, Buffer.from('\r\n')] : [];
  return Buffer.concat([head, ...chunk, Buffer.from('0\r\n\r\n')]);
};

/** The secrets a request carries in its headers (a route may echo its caller's own). */
export const headerSecrets = (r: FuzzRequest): Set<keyof FuzzSecrets> =>
  new Set(r.headers.flatMap(([, v]) => [...v.matchAll(PLACEHOLDERS)].map((m) => m[1] as keyof FuzzSecrets)));

/** The secrets a request's body names (its placeholders). */
export const bodySecrets = (r: FuzzRequest): Set<keyof FuzzSecrets> =>
  new Set(
    typeof r.body === 'string'
      ? [...r.body.matchAll(PLACEHOLDERS)].map((m) => m[1] as keyof FuzzSecrets)
      : [],
  );

/** Long runs of one character as `<c×n>`, so that a counterexample prints in a few lines. */
const abbreviated = (text: string): string =>
  text.replace(/(.)\1{19,}/gsu, (run, c: string) => `<${c}×${[...run].length}>`);

/** The request as it would print, placeholders kept and long runs abbreviated. */
export const describeRequest = (r: FuzzRequest): string => {
  const text =
    r.body === undefined
      ? ''
      : typeof r.body === 'string'
        ? r.body
        : `bytes ${Buffer.from(r.body).toString('hex')}`;
  const lines = [
    `${r.method} ${r.target} ${r.version}`,
    ...r.headers.map(([n, v]) => `${n}: ${v}`),
    `(${r.body === undefined ? 'no body' : `body by ${JSON.stringify(r.framing)}`})`,
    '',
    text,
  ];
  return abbreviated(lines.map((line) => JSON.stringify(line).slice(1, -1)).join('\n'));
};

/** `usual` most of the time, else one of `odd`. */
const mostly = (usual: string, ...odd: string[]) =>
  fc.oneof({ weight: 12, arbitrary: fc.constant(usual) }, fc.constantFrom(...odd));

// --- path ---

const encoded = (unit: 'grapheme' | 'binary', maxLength: number) =>
  fc.string({ unit, maxLength }).map(encodeURIComponent);

/** One path segment: ordinary, encoded, malformed, unicode, or very long. */
const PATH_SEGMENT = fc.oneof(
  { weight: 20, arbitrary: fc.constantFrom('a', 'x', 'web', 'default', 'test', 'nginx', 'sub') },
  {
    weight: 8,
    arbitrary: fc.constantFrom(
      ...['..', '.', '', '%zz', '%00', 'a%00b', '%2e%2e', '%2E', '%2F', '%2f..', '%ff', '%c3%28', '%'],
      ...['%%', '%u0041', '%20', '+', '~', '*', ';', ':', '@', '$', '%5C', '{{identity.entity.id}}'],
      '%7B%7Bidentity.namespace%7D%7D',
    ),
  },
  { weight: 6, arbitrary: encoded('grapheme', 12) },
  { weight: 2, arbitrary: encoded('binary', 6) },
  // Unencoded: UTF-8 bytes (and whatever else) on the request line itself.
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 6 }) },
  { weight: 2, arbitrary: fc.string({ unit: fc.constantFrom(...'?#&=,\\"\'<>|^`{}[]\t'), maxLength: 3 }) },
  { weight: 1, arbitrary: fc.integer({ min: 100, max: 20_000 }).map((n) => 'a'.repeat(n)) },
);
const SUBPATH = fc.array(PATH_SEGMENT, { maxLength: 4 });
/** One of `names` most of the time, else any segment. */
const name = (...names: string[]) =>
  fc.oneof({ weight: 8, arbitrary: fc.constantFrom(...names) }, PATH_SEGMENT);

/** A route of the API: its segments after `/v1/`, the methods it serves, its body's kind. */
type Route = { segments: string[]; methods: string[]; body: BodyKind };
const READ = ['GET'];
const WRITE = ['POST', 'PUT'];
const KV = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'LIST'];
const route = (segments: fc.Arbitrary<string[]>, methods: string[], kind: BodyKind): fc.Arbitrary<Route> =>
  segments.map((s) => ({ segments: s, methods, body: kind }));
const fixed = (path: string, methods: string[], kind: BodyKind = 'any') =>
  route(fc.constant(path.split('/')), methods, kind);

const ROUTE: fc.Arbitrary<Route> = fc.oneof(
  {
    weight: 4,
    arbitrary: route(
      name('kubernetes', 'jwks').map((m) => ['auth', m, 'login']),
      WRITE,
      'login',
    ),
  },
  {
    weight: 4,
    arbitrary: fc.oneof(
      fixed('auth/token/lookup-self', ['GET', 'POST']),
      fixed('auth/token/renew-self', WRITE, 'increment'),
      fixed('auth/token/revoke-self', WRITE),
      route(
        name('lookup-accessor', 'revoke-accessor').map((op) => ['auth', 'token', op]),
        WRITE,
        'accessor',
      ),
      fixed('auth/token/revoke-identity', WRITE, 'revokeIdentity'),
      route(
        name('lookup', 'renew', 'revoke', 'revoke-orphan').map((op) => ['auth', 'token', op]),
        [...WRITE, 'GET'],
        'namedToken',
      ),
      fixed('auth/token/renew-accessor', WRITE, 'accessor'),
    ),
  },
  {
    weight: 2,
    arbitrary: fc.oneof(
      route(
        fc
          .tuple(name('kubernetes', 'jwks'), name('nginx', 'NGINX', 'nope'))
          .map(([m, r]) => ['auth', m, 'role', r]),
        ['GET', 'LIST', ...WRITE, 'DELETE'],
        'any',
      ),
      route(
        name('kubernetes', 'jwks').map((m) => ['auth', m, 'role']),
        ['GET', 'LIST', ...WRITE],
        'any',
      ),
      route(
        name('kubernetes', 'jwks').map((m) => ['auth', m, 'config']),
        ['GET', ...WRITE, 'DELETE'],
        'any',
      ),
      route(
        fc.tuple(SUBPATH, fc.constantFrom([], ['tune'])).map(([p, t]) => ['sys', 'mounts', ...p, ...t]),
        ['GET', ...WRITE, 'DELETE'],
        'any',
      ),
    ),
  },
  {
    weight: 10,
    arbitrary: fc.oneof(
      route(
        SUBPATH.map((p) => ['secret', 'data', ...p]),
        KV,
        'kvWrite',
      ),
      route(
        SUBPATH.map((p) => ['secret', 'metadata', ...p]),
        KV,
        'kvMetadata',
      ),
      route(
        fc.tuple(name('delete', 'undelete', 'destroy'), SUBPATH).map(([op, p]) => ['secret', op, ...p]),
        WRITE,
        'versions',
      ),
      route(
        SUBPATH.map((p) => ['secret', 'subkeys', ...p]),
        READ,
        'any',
      ),
      fixed('secret/config', ['GET', 'POST'], 'kvConfig'),
      route(fc.constantFrom(['secret', 'metadata'], ['secret'], ['secret', 'data']), KV, 'any'),
    ),
  },
  {
    weight: 3,
    arbitrary: fc.oneof(
      route(
        name('web').map((r) => ['identity', 'oidc', 'token', r]),
        READ,
        'any',
      ),
      route(
        name('default').map((k) => ['identity', 'oidc', 'key', k, 'rotate']),
        WRITE,
        'any',
      ),
      route(
        name('openid-configuration', 'keys').map((d) => ['identity', 'oidc', '.well-known', d]),
        READ,
        'any',
      ),
    ),
  },
  {
    weight: 5,
    arbitrary: fc.oneof(
      ...['health', 'health/live', 'health/ready', 'init', 'seal-status', 'leader', 'auth'].map((p) =>
        fixed(`sys/${p}`, READ),
      ),
      ...['policy', 'policies/acl'].map((p) => fixed(`sys/${p}`, ['GET', 'LIST'])),
      fixed('sys/capabilities-self', WRITE, 'capabilities'),
      fixed('sys/policies/reload', ['POST']),
      fixed('sys/audit/logins', READ),
      route(
        name('fuzz', 'default').map((p) => ['sys', 'policy', p]),
        ['GET', ...WRITE, 'DELETE'],
        'any',
      ),
      route(
        name('fuzz').map((p) => ['sys', 'policies', 'acl', p]),
        ['GET', ...WRITE, 'DELETE'],
        'any',
      ),
      route(
        name('test').map((d) => ['sys', 'audit-hash', d]),
        WRITE,
        'auditHash',
      ),
      route(
        fc.tuple(fc.constantFrom('renew', 'revoke'), SUBPATH).map(([op, p]) => ['sys', 'leases', op, ...p]),
        WRITE,
        'lease',
      ),
      route(
        fc.tuple(fc.constantFrom('renew', 'revoke'), SUBPATH).map(([op, p]) => ['sys', op, ...p]),
        WRITE,
        'lease',
      ),
      route(
        SUBPATH.map((p) => ['sys', 'internal', 'ui', 'mounts', ...p]),
        READ,
        'any',
      ),
    ),
  },
  { weight: 1, arbitrary: route(fc.array(PATH_SEGMENT, { maxLength: 5 }), KV, 'any') },
);

const QUERY_PART = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      ...['list=true', 'list=false', 'list=maybe', 'list=', 'list', 'LIST=true', 'list=true&list=false'],
      ...['li%73t=1', 'version=abc', 'version=-1', 'version=0', 'version=1', 'version=1.5', 'version=1e3'],
      ...['version=99999999999999999999', 'depth=x', 'depth=-1', 'depth=1', 'activecode=200'],
      ...['activecode=abc', 'activecode=999', 'activecode=100', 'activecode=503', 'sealedcode=429'],
      ...['standbyok=true', 'limit=0', 'limit=x', 'limit=999999', 'since=junk', 'since=-1h', 'until=zz'],
      ...['namespace=%zz', 'role=', 'outcome=x', '%zz=1', '=', '&', 'a[b]=c', '__proto__[x]=1'],
      'constructor=1',
    ),
  },
  {
    weight: 1,
    arbitrary: fc.tuple(encoded('grapheme', 8), encoded('grapheme', 8)).map(([k, v]) => `${k}=${v}`),
  },
);
const QUERY = fc.oneof(
  { weight: 6, arbitrary: fc.constant('') },
  {
    weight: 3,
    arbitrary: fc.array(QUERY_PART, { minLength: 1, maxLength: 3 }).map((q) => `?${q.join('&')}`),
  },
  { weight: 1, arbitrary: fc.constantFrom('?', '??', '?#x', '#frag') },
);

/** A route's target with odd joins now and then, and the route itself (null for a junk target). */
const TARGET: fc.Arbitrary<{ target: string; route: Route | null }> = fc.oneof(
  {
    weight: 20,
    arbitrary: fc
      .record({
        route: ROUTE,
        prefix: mostly('/v1/', '/v1//', '//v1/', '/V1/', '/v1/./', '/v1/x/../'),
        separator: mostly('/', '//'),
        trailing: mostly('', '/', '//', '/.', '/..'),
        query: QUERY,
      })
      .map(({ route: r, prefix, separator, trailing, query }) => ({
        target: `${prefix}${r.segments.join(separator)}${trailing}${query}`,
        route: r,
      })),
  },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom(
        ...['*', '/', '/v1', '/v1/', 'http://127.0.0.1/v1/sys/health', '//127.0.0.1/v1/sys/health'],
        ...['/metrics', '/%', '/v1/%zz', '/v1/sys/health#x'],
      )
      .map((target) => ({ target, route: null })),
  },
);

/** Methods Node parses that Vault has no operation for. */
export const UNKNOWN_TO_VAULT = ['OPTIONS', 'TRACE', 'CONNECT', 'PROPFIND', 'M-SEARCH', 'LINK'];

/** The route's own methods most of the time, else any: Vault's, ones it does not know, junk. */
const method = (own: string[]) =>
  fc.oneof(
    { weight: 20, arbitrary: fc.constantFrom(...own) },
    { weight: 10, arbitrary: fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'LIST', 'HEAD') },
    { weight: 1, arbitrary: fc.constantFrom('get', ...UNKNOWN_TO_VAULT) },
    { weight: 1, arbitrary: fc.stringMatching(/^[A-Z]{1,8}$/) },
  );

/** A whole request. */
export const FUZZ_REQUEST: fc.Arbitrary<FuzzRequest> = TARGET.chain(({ target, route: r }) =>
  method(r?.methods ?? ['GET']).chain((m) =>
    fc
      .record({
        method: fc.constant(m),
        target: fc.constant(target),
        version: mostly('HTTP/1.1', 'HTTP/1.0', 'HTTP/2.0', 'HTTP/1.2'),
        headers: HEADERS,
        body: body(r?.body ?? 'any', ['GET', 'HEAD', 'LIST', 'DELETE'].includes(m)),
        framing: fc.oneof(
          { weight: 30, arbitrary: fc.constant('length' as const) },
          fc.constantFrom('chunked' as const, 'conflicting' as const),
          fc
            .constantFrom('-1', 'abc', '1, 2', '+5', '0x10', '99999999999999999999', '5\r\nContent-Length: 6')
            .map((badLength) => ({ badLength })),
        ),
      })
      .map((req): FuzzRequest => Object.assign(req, { [fc.toStringMethod]: () => describeRequest(req) })),
  ),
);
