import fc from 'fast-check';
import { segment } from './harness.js';

/*
 * Generated request bodies for test/fuzz-http.test.ts: JSON of every shape, written as text so
 * that duplicate keys, `__proto__`, numbers no float64 holds and lone surrogates go out exactly
 * as written; each route's own fields with odd values; and bodies that are not JSON at all.
 * `<<jwt>>` and `<<accessor>>` are placeholders, filled in when the request is sent.
 */

/** Keys the routes read, keys with a meaning to JavaScript objects, and the empty key. */
const KNOWN_KEY = fc.constantFrom(
  'data',
  'options',
  'cas',
  'versions',
  'max_versions',
  'cas_required',
  'delete_version_after',
  'custom_metadata',
  'role',
  'jwt',
  'increment',
  'accessor',
  'paths',
  'input',
  'lease_id',
  'namespace',
  'service_account',
  'pod_uid',
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  '',
);
const KEY = fc.oneof({ weight: 3, arbitrary: KNOWN_KEY }, fc.string({ unit: 'grapheme', maxLength: 8 }));

/** A JSON scalar as text: extreme and inexact numbers, odd strings, durations, names. */
export const SCALAR = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      ...['null', 'true', 'false', '0', '-0', '1', '-1', '2', '1.5', '1e308', '1e309', '-1e309', '1e-400'],
      ...['9007199254740993', '123456789012345678901234567890', '4294967296', '-9223372036854775809'],
      ...['""', '"\\u0000"', '"\\ud800"', '"\\udfff\\ud800"', '"1h"', '"-1h"', '"2562048h"', '"9999999999h"'],
      ...['"1.5s"', '"0"', '"1,2,3"', '"true"', '"nginx"', '"test"', '"__proto__"'],
      // Names every plain object inherits: a lookup table keyed by input must not find them.
      ...['"constructor"', '"toString"', '"1constructor"', '"1h2__proto__"', '"hasOwnProperty"'],
    ),
  },
  { weight: 1, arbitrary: fc.double().map((d) => JSON.stringify(d)) },
  { weight: 1, arbitrary: fc.integer().map(String) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 12 }).map((s) => JSON.stringify(s)) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 8 }).map((s) => JSON.stringify(s)) },
  { weight: 1, arbitrary: fc.integer({ min: 1000, max: 200_000 }).map((n) => JSON.stringify('s'.repeat(n))) },
);

/** An object's text from entries (keys may repeat). */
const objectText = (entries: Array<[string, string]>): string =>
  `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`;
const object = (value: fc.Arbitrary<string>, maxLength: number) =>
  fc.array(fc.tuple(KEY, value), { maxLength }).map(objectText);

/** Any JSON value as text, a few levels deep. */
export const JSON_TEXT = fc.letrec<{ json: string; array: string; object: string }>((tie) => ({
  json: fc.oneof({ depthSize: 'small', maxDepth: 5 }, SCALAR, tie('array'), tie('object')),
  array: fc.array(tie('json'), { maxLength: 5 }).map((a) => `[${a.join(',')}]`),
  object: object(tie('json'), 5),
})).json;

/** Nesting far past any limit, closed or not. */
const NESTED = fc
  .tuple(fc.integer({ min: 1, max: 60_000 }), fc.constantFrom('[', '{"a":'), fc.boolean())
  .map(([n, open, closed]) => `${open.repeat(n)}1${closed ? (open === '[' ? ']' : '}').repeat(n) : ''}`);

/**
 * An object with some of a route's fields (`usual` values most of the time, else any JSON) and
 * sometimes an extra key.
 */
const fields = (spec: Record<string, fc.Arbitrary<string>>): fc.Arbitrary<string> =>
  fc
    .tuple(
      fc.record(
        Object.fromEntries(
          Object.entries(spec).map(([k, usual]) => [k, fc.oneof({ weight: 3, arbitrary: usual }, JSON_TEXT)]),
        ),
        { requiredKeys: [] },
      ),
      fc.array(fc.tuple(KEY, JSON_TEXT), { maxLength: 1 }),
    )
    .map(([known, extra]) => objectText([...(Object.entries(known) as Array<[string, string]>), ...extra]));

const quoted = (...values: string[]) => fc.constantFrom(...values.map((v) => JSON.stringify(v)));

const claims = fc.record(
  { iss: JSON_TEXT, sub: JSON_TEXT, aud: JSON_TEXT, exp: JSON_TEXT, 'kubernetes.io': JSON_TEXT },
  { requiredKeys: [] },
);
const jwtHeader = fc.oneof(
  fc.constantFrom({ alg: 'RS256' }, { alg: 'none' }, { alg: 'HS256' }, {}, { alg: 'RS256', crit: ['x'] }),
  fc.record(
    {
      alg: fc.constantFrom('RS256', 'ES256', 'EdDSA', 'constructor', '__proto__', 'toString'),
      kid: fc.string({ maxLength: 8 }),
      jku: fc.webUrl(),
    },
    { requiredKeys: ['alg'] },
  ),
);
/** Hand-made tokens: signed by nobody, with odd headers and claims. */
const CRAFTED_JWT = fc
  .tuple(jwtHeader, claims, fc.base64String({ maxLength: 40 }))
  .map(
    ([h, c, sig]) =>
      `${segment(h)}.${Buffer.from(objectText(Object.entries(c))).toString('base64url')}.${sig.replace(/=+$/, '')}`,
  );

const LOGIN = fields({
  // A token where the role goes (a client that swapped the fields) must not come back in the error.
  role: fc.oneof(
    { weight: 6, arbitrary: quoted('nginx', 'fuzz', 'NGINX', 'nope', '') },
    quoted('<<jwt>>', '<<client>>'),
  ),
  jwt: fc.oneof(
    { weight: 4, arbitrary: fc.constant('"<<jwt>>"') },
    { weight: 2, arbitrary: CRAFTED_JWT.map((t) => JSON.stringify(t)) },
    quoted('a.b.c', '...', 'eyJ', '<<jwt>>x', ' <<jwt>>'),
  ),
});
const VERSIONS = fields({
  versions: fc.oneof(
    fc
      .array(fc.oneof(fc.integer({ min: -1, max: 4 }).map(String), SCALAR), { maxLength: 4 })
      .map((a) => `[${a}]`),
    quoted('1', '1,2', '1,x', ''),
  ),
});
const KV_WRITE = fields({ data: object(JSON_TEXT, 4), options: fields({ cas: SCALAR }) });
const KV_SETTINGS = {
  max_versions: SCALAR,
  cas_required: SCALAR,
  delete_version_after: quoted('1h', '0s', '-1s', '2562048h', 'soon', ''),
};
const KV_METADATA = fields({ ...KV_SETTINGS, custom_metadata: object(SCALAR, 3) });
const KV_CONFIG = fields(KV_SETTINGS);
const REVOKE_IDENTITY = fields({
  pod_uid: SCALAR,
  namespace: quoted('test', ''),
  service_account: quoted('nginx', 'fuzz'),
  mount: quoted('kubernetes', 'jwks', 'nope'),
  role: quoted('fuzz', 'nginx'),
});

/** What a body may be on any route: JSON of any shape, not JSON, too deep, too large. */
const ANY = fc.oneof(
  { weight: 4, arbitrary: object(JSON_TEXT, 4) },
  { weight: 3, arbitrary: JSON_TEXT },
  {
    weight: 1,
    arbitrary: fc.constantFrom('', ' ', '{', '{"data":', '{}}', 'data=x&jwt=<<jwt>>', '\u0000', '\ufeff{}'),
  },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }) },
  { weight: 1, arbitrary: NESTED },
  // Over the 1 MiB body limit.
  { weight: 1, arbitrary: fc.constant(`{"data":{"k":"${'b'.repeat(1024 * 1024)}"}}`) },
);

/** The body kinds of the routes; each route names its own. */
export const BODIES = {
  login: LOGIN,
  kvWrite: KV_WRITE,
  kvMetadata: KV_METADATA,
  kvConfig: KV_CONFIG,
  versions: VERSIONS,
  increment: fields({ increment: fc.oneof(SCALAR, quoted('1h', '90', '-5', '1e3', '1.5h')) }),
  accessor: fields({
    accessor: fc.oneof(
      { weight: 3, arbitrary: fc.constant('"<<accessor>>"') },
      SCALAR,
      quoted('<<client>>', '<<admin>>'),
    ),
  }),
  /** `auth/token/lookup`, `renew`, `revoke`: the token an operator names. */
  namedToken: fields({
    token: fc.oneof(
      { weight: 3, arbitrary: quoted('<<client>>') },
      SCALAR,
      quoted('<<admin>>', '<<jwt>>', 'ags.x'),
    ),
    increment: fc.oneof(SCALAR, quoted('1h', '-5')),
  }),
  revokeIdentity: REVOKE_IDENTITY,
  capabilities: fields({ paths: fc.array(SCALAR, { maxLength: 3 }).map((a) => `[${a}]`), path: SCALAR }),
  auditHash: fields({ input: SCALAR }),
  lease: fields({ lease_id: SCALAR }),
  any: ANY,
} as const;
export type BodyKind = keyof typeof BODIES;

/**
 * A request's body: mostly the route's own kind, then anything at all. A method that reads
 * (GET, HEAD, LIST, DELETE) mostly has none, and never one over 64 KiB: when a request's body is
 * still arriving as the answer ends a `Connection: close` exchange, Node closes the socket once
 * the answer is handed to the kernel, which then resets the connection and drops what it had not
 * sent yet, so an answer over ~128 KiB (a large secret) arrives cut short. Plain Node does the
 * same; authgate does not work around it (it would mean replacing Node's socket close).
 */
export const body = (kind: BodyKind, reads: boolean): fc.Arbitrary<string | Uint8Array | undefined> =>
  reads
    ? fc.oneof(
        { weight: 30, arbitrary: fc.constant(undefined) },
        { weight: 8, arbitrary: fc.oneof(BODIES[kind], ANY).filter((b) => b.length < 65_536) },
      )
    : fc.oneof(
        { weight: 2, arbitrary: fc.constant(undefined) },
        { weight: 5, arbitrary: BODIES[kind] },
        { weight: 3, arbitrary: ANY },
      );
