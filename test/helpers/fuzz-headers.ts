import fc from 'fast-check';

/*
 * Generated request headers for test/fuzz-http.test.ts (fuzz-requests.ts builds the rest): the
 * client token where Vault clients put it and where they should not, content types, and now and
 * then odd, huge or non-ASCII values of the headers authgate reads. Most requests carry sane
 * headers, so that they reach the handlers.
 */

const ODD_TEXT = fc.oneof(
  fc.constantFrom('', ' ', 'é', 'tök€n', '\u00ff\u00fe', 'a\tb', '"', ',', ';', '\u0007'),
  fc.string({ unit: 'grapheme', maxLength: 16 }),
  fc.string({ unit: 'binary', maxLength: 8 }),
);
const TOKEN_VALUE = fc.oneof(
  { weight: 12, arbitrary: fc.constantFrom('<<admin>>', '<<client>>') },
  {
    weight: 1,
    arbitrary: fc.constantFrom('<<jwt>>', '<<accessor>>', ' <<admin>> ', '<<client>>, <<admin>>', 'ags.x'),
  },
  { weight: 1, arbitrary: ODD_TEXT },
  { weight: 1, arbitrary: fc.constantFrom('x'.repeat(5000), 'x'.repeat(20_000)) },
);
type Headers = Array<[string, string]>;
const TOKEN_HEADERS: fc.Arbitrary<Headers> = fc.oneof(
  { weight: 8, arbitrary: TOKEN_VALUE.map((v): Headers => [['X-Vault-Token', v]]) },
  {
    weight: 3,
    arbitrary: fc
      .tuple(fc.constantFrom('Bearer ', 'bearer ', 'Bearer  ', 'Bearer', 'Basic ', ''), TOKEN_VALUE)
      .map(([scheme, v]): Headers => [['Authorization', `${scheme}${v}`]]),
  },
  { weight: 1, arbitrary: fc.constant<Headers>([]) },
  {
    weight: 1,
    arbitrary: fc.array(
      fc.tuple(fc.constantFrom('X-Vault-Token', 'x-vault-token', 'Authorization'), TOKEN_VALUE),
      {
        minLength: 2,
        maxLength: 3,
      },
    ),
  },
);
const CONTENT_TYPE = fc.oneof(
  { weight: 6, arbitrary: fc.constant('application/json') },
  { weight: 2, arbitrary: fc.constant('application/merge-patch+json') },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      ...['application/json; charset=utf-8', 'application/json;charset=latin1', 'APPLICATION/JSON'],
      ...['application/merge-patch+json; charset=utf-8', 'text/plain', 'application/x-www-form-urlencoded'],
      ...['multipart/form-data; boundary=x', '', ';', 'application/', '*/*', 'application/json, text/plain'],
      'é/ö',
    ),
  },
);
const FORWARDED = fc.oneof(
  fc.constantFrom(
    ...['127.0.0.1', '10.0.0.1', '::1', 'unknown', '', ', ,', '999.999.1.1', '1.2.3.4, 5.6.7.8', '[::1]'],
    ...['::ffff:127.0.0.1', 'fe80::1%eth0', '1.2.3.4:80', '1'.repeat(1000)],
  ),
  ODD_TEXT,
);
/** Headers a request may also carry, rarely: most requests must get past them to the handlers. */
const OTHER_HEADER: fc.Arbitrary<[string, string]> = fc.oneof(
  fc.tuple(fc.constant('Content-Type'), CONTENT_TYPE),
  fc.tuple(fc.constant('X-Vault-Request'), fc.oneof(fc.constantFrom('true', 'false', ''), ODD_TEXT)),
  fc.tuple(fc.constant('X-Forwarded-For'), FORWARDED),
  fc.tuple(fc.constant('X-Vault-Wrap-TTL'), fc.constantFrom('60s', '', 'abc')),
  fc.tuple(fc.constant('X-Vault-Namespace'), fc.oneof(fc.constantFrom('root', 'ns1/', ''), ODD_TEXT)),
  fc.tuple(fc.constant('Expect'), fc.constantFrom('100-continue', '', 'foo')),
  fc.tuple(fc.constant('Content-Encoding'), fc.constantFrom('gzip', 'identity', 'br')),
  fc.tuple(fc.constant('X-HTTP-Method-Override'), fc.constantFrom('DELETE', 'LIST', 'PATCH')),
  fc.tuple(fc.constant('Accept'), fc.constantFrom('*/*', 'text/html', 'application/xml')),
  fc.tuple(
    fc.constant('X-Junk'),
    fc.integer({ min: 1000, max: 20_000 }).map((n) => 'x'.repeat(n)),
  ),
);
const OTHER_HEADERS = fc.oneof(
  { weight: 4, arbitrary: fc.constant<Headers>([]) },
  { weight: 1, arbitrary: fc.array(OTHER_HEADER, { minLength: 1, maxLength: 3 }) },
);
const HOST = fc.oneof(
  { weight: 24, arbitrary: fc.constant<Headers>([['Host', '127.0.0.1']]) },
  { weight: 1, arbitrary: fc.constant<Headers>([]) },
  { weight: 1, arbitrary: ODD_TEXT.map((v): Headers => [['Host', v]]) },
  {
    weight: 1,
    arbitrary: fc.constant<Headers>([
      ['Host', 'a'],
      ['Host', 'b'],
    ]),
  },
);

/** A request's header lines, in order (the body's framing is added by the renderer). */
export const HEADERS: fc.Arbitrary<Headers> = fc
  .tuple(HOST, TOKEN_HEADERS, fc.option(CONTENT_TYPE, { freq: 4 }), OTHER_HEADERS)
  .map(([host, tokens, type, other]): Headers => [
    ...host,
    ...tokens,
    ...(type === null ? [] : [['Content-Type', type] as [string, string]]),
    ...other,
  ]);
