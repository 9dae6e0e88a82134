import { MAX_DATA_DEPTH } from '../src/secrets/index.js';
import { ADMIN_TOKEN } from './helpers/harness.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { admin, call, dataOf, MERGE, NO_CONTENT, secret, useKvHarness } from './helpers/kv-suite.js';

/*
 * KV v2 end to end: bad input is a 400 in Vault's shape, never a 500, and changes nothing.
 */

useKvHarness();

const nested = (levels: number) => `${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`;
type Bad = [label: string, method: string, url: string, body: unknown, type?: string];
const cases = (method: string, url: string, list: Array<[string, unknown]>, prefix = '', type?: string) =>
  list.map(([label, body]): Bad =>
    type === undefined
      ? [`${prefix}${label}`, method, url, body]
      : [`${prefix}${label}`, method, url, body, type],
  );
const VERSION_BODIES: Array<[string, unknown]> = [
  ['no versions', {}],
  ['versions a word', { versions: 'abc' }],
  ['a word in versions', { versions: ['x'] }],
  ['a fraction in versions', { versions: [1.5] }],
  ['a list in versions', { versions: [[1]] }],
  ['versions an object', { versions: {} }],
  ['versions empty', { versions: [] }],
  ['a huge number in versions', { versions: [1e300] }],
  ['a body that is a list', '[1]'],
  ['truncated JSON', '{"versions":'],
  ['a huge list ending with a word', { versions: [...Array.from({ length: 50_000 }, (_, i) => i + 1), 'x'] }],
];
/** Each must be a 400 with one message, and change nothing. */
const BAD: Bad[] = [
  ...cases('POST', '/v1/secret/data/bad/s', [
    ['data a string', { data: 'x' }],
    ['data an array', { data: [1, 2] }],
    ['data a number', { data: 5 }],
    ['data a boolean', { data: true }],
    ['no data', {}],
    ['a body that is an array', '[1,2]'],
    ['a body that is a string', '"str"'],
    ['a body that is a number', '42'],
    ['truncated JSON', '{"data":'],
    ['a form body', 'data=x'],
    ['trailing garbage', '{"data":{}}}'],
    ['options a string', { data: {}, options: 'x' }],
    ['options an array', { data: {}, options: [1] }],
    ['data nested too deep', `{"data":${nested(MAX_DATA_DEPTH + 1)}}`],
    ['data nested far too deep', `{"data":${nested(50_000)}}`],
    ...['x', 1.5, {}, [1], 1e300, '99999999999999999999', '1e3'].map((cas): [string, unknown] => [
      `cas ${JSON.stringify(cas)}`,
      { data: {}, options: { cas } },
    ]),
  ]),
  ...cases(
    'PATCH',
    '/v1/secret/data/bad/s',
    [
      ['data a string', { data: 'x' }],
      ['cas a string', { data: {}, options: { cas: 'x' } }],
      ['truncated JSON', '{"data":'],
      ['data nested too deep', `{"data":${nested(5000)}}`],
    ],
    'patch: ',
    MERGE,
  ),
  ['patch: no content type', 'PATCH', '/v1/secret/data/bad/s', { data: {} }, ''],
  ...['abc', '1.5', '1e3', '99999999999999999999', '0x1'].map((v): Bad => [
    `version ${v}`,
    'GET',
    `/v1/secret/data/bad/s?version=${v}`,
    undefined,
  ]),
  ['subkeys depth a word', 'GET', '/v1/secret/subkeys/bad/s?depth=deep', undefined],
  ...['delete', 'undelete', 'destroy'].flatMap((op) =>
    cases('POST', `/v1/secret/${op}/bad/s`, VERSION_BODIES, `${op}: `),
  ),
  ...cases(
    'POST',
    '/v1/secret/metadata/bad/s',
    [
      ['max_versions a word', { max_versions: 'x' }],
      ['max_versions negative', { max_versions: -1 }],
      ['max_versions too large', { max_versions: 2 ** 40 }],
      ['cas_required a word', { cas_required: 'maybe' }],
      ['delete_version_after a word', { delete_version_after: 'soon' }],
      ['delete_version_after negative', { delete_version_after: '-1h' }],
      ['delete_version_after beyond a Go duration', { delete_version_after: '2562048h' }],
      ['delete_version_after a huge number', { delete_version_after: Number.MAX_SAFE_INTEGER }],
      ['custom_metadata a string', { custom_metadata: 'x' }],
      ['custom_metadata nested', { custom_metadata: { k: { nested: 1 } } }],
      [
        '65 custom keys',
        { custom_metadata: Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, 'v'])) },
      ],
      ['a custom value too long', { custom_metadata: { k: 'v'.repeat(513) } }],
      ['a body that is a list', '[]'],
    ],
    'metadata: ',
  ),
  ...cases(
    'PATCH',
    '/v1/secret/metadata/bad/s',
    [
      ['max_versions a word', { max_versions: 'x' }],
      ['delete_version_after a huge duration', { delete_version_after: '9999999999h' }],
    ],
    'metadata patch: ',
    MERGE,
  ),
  ...cases(
    'POST',
    '/v1/secret/config',
    [
      ['max_versions a word', { max_versions: 'x' }],
      ['delete_version_after a word', { delete_version_after: 'soon' }],
      ['delete_version_after a huge number', { delete_version_after: Number.MAX_SAFE_INTEGER }],
      ['a body that is a string', '"x"'],
    ],
    'config: ',
  ),
];

describe('bad input', () => {
  beforeAll(async () => {
    await admin('POST', '/v1/secret/data/bad/s', { data: { a: secret('bad') } });
  });
  const snapshot = async () => ({
    meta: await dataOf('/v1/secret/metadata/bad/s'),
    config: await dataOf('/v1/secret/config'),
  });

  it.each(BAD)('%s: 400 with Vault’s errors, changing nothing', async (_label, method, url, body, type) => {
    const before = await snapshot();
    const res = await call(method, url, {
      token: ADMIN_TOKEN,
      body,
      ...(type === undefined ? {} : { type }),
    });
    expect(res).toEqual({ status: 400, json: { errors: [expect.any(String)] } });
    expect(await snapshot()).toEqual(before);
  });

  it('answers a bad list flag with Vault’s bare 400', async () => {
    expect(await admin('GET', '/v1/secret/metadata/bad/?list=maybe')).toEqual({
      status: 400,
      json: { errors: [] },
    });
  });

  it('answers a malformed URL with 400', async () => {
    expect(await admin('GET', '/v1/secret/data/bad/s%ZZ')).toEqual({
      status: 400,
      json: { errors: ['invalid request path: malformed percent-encoding'] },
    });
  });

  it('takes a huge list of versions in one request, and refuses one over the body limit with 413', async () => {
    const versions = Array.from({ length: 100_000 }, (_, i) => i + 1);
    expect(await admin('POST', '/v1/secret/delete/bad/s', { versions })).toEqual(NO_CONTENT);
    expect(await admin('POST', '/v1/secret/undelete/bad/s', { versions: versions.join(',') })).toEqual(
      NO_CONTENT,
    );
    expect((await admin('GET', '/v1/secret/data/bad/s')).status).toBe(200);
    const tooBig = { versions: Array.from({ length: 200_000 }, (_, i) => i + 1) };
    expect(await admin('POST', '/v1/secret/destroy/bad/s', tooBig)).toEqual({
      status: 413,
      json: { errors: ['request body too large'] },
    });
  });

  it('takes data nested as deep as allowed, and __proto__ as an ordinary key', async () => {
    const url = '/v1/secret/data/odd/deep';
    expect((await admin('POST', url, `{"data":${nested(MAX_DATA_DEPTH)}}`)).status).toBe(200);
    expect((await admin('PATCH', url, `{"data":${nested(MAX_DATA_DEPTH)}}`, MERGE)).status).toBe(200);
    expect((await admin('GET', url)).status).toBe(200);
    expect((await admin('GET', '/v1/secret/subkeys/odd/deep')).status).toBe(200);
    await admin('POST', '/v1/secret/data/odd/proto', '{"data":{"__proto__":{"polluted":"yes"}}}');
    expect((await admin('GET', '/v1/secret/data/odd/proto')).json?.['data']).toMatchObject({
      data: JSON.parse('{"__proto__":{"polluted":"yes"}}') as unknown,
    });
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('never answers 500 to odd bodies on any endpoint', async () => {
    const bodies = [
      'null',
      '[]',
      '{}',
      '""',
      '0',
      'true',
      '{"__proto__":{"x":1}}',
      '{"data":{"__proto__":1}}',
    ];
    const paths = [
      'data/odd/s',
      'metadata/odd/s',
      'delete/odd/s',
      'undelete/odd/s',
      'destroy/odd/s',
      'config',
      'subkeys/odd/s',
      'odd',
      '',
    ];
    for (const path of paths) {
      for (const method of ['POST', 'PUT', 'PATCH', 'DELETE', 'GET']) {
        for (const body of method === 'GET' || method === 'DELETE' ? [undefined] : bodies) {
          const res = await call(method, `/v1/secret/${path}`, { token: ADMIN_TOKEN, body, type: MERGE });
          expect(res.status, `${method} ${path} ${String(body)}`).toBeLessThan(500);
        }
      }
    }
    expect(Object.prototype).not.toHaveProperty('x');
  });
});
