import { MAX_DATA_DEPTH, MAX_SECRET_PATH_BYTES, MAX_SECRET_PATH_DEPTH } from '../src/secrets/index.js';
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
  ...['abc', '1.5', '1e3', '99999999999999999999', '0x'].map((v): Bad => [
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
      ['cas_required a word', { cas_required: 'maybe' }],
      ['delete_version_after a word', { delete_version_after: 'soon' }],
      ['delete_version_after negative', { delete_version_after: '-1h' }],
      ['delete_version_after beyond a Go duration', { delete_version_after: '2562048h' }],
      // 1e10 s is beyond a Go duration: its nanoseconds wrap around to a negative one.
      ['delete_version_after a huge number', { delete_version_after: 1e10 }],
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

  it('checks a PATCH’s Content-Type as Vault’s HTTP layer does: on every path of the mount, with Go’s parser', async () => {
    const before = await snapshot();
    const wrong = (type: string) => ({
      status: 415,
      json: { errors: [`PATCH requires Content-Type of application/merge-patch+json, provided ${type}`] },
    });
    for (const url of [
      '/v1/secret/config',
      '/v1/secret/destroy/bad/s',
      '/v1/secret/subkeys/bad/s',
      '/v1/secret/bad/s',
      '/v1/secret',
      '/v1/secret/metadata',
    ]) {
      expect(await call('PATCH', url, { token: ADMIN_TOKEN, body: {} })).toEqual(wrong('application/json'));
      expect(await call('PATCH', url, { token: ADMIN_TOKEN })).toEqual({
        status: 400,
        json: { errors: ['mime: no media type'] },
      });
    }
    for (const [type, error] of [
      ['application/merge-patch+json; charset', 'mime: invalid media parameter'],
      ['application/', 'mime: expected token after slash'],
      ['application merge-patch+json', 'mime: expected slash after first token'],
      ['application/merge-patch+json x', 'mime: unexpected content after media subtype'],
      ['application/merge-patch+json; a=1; a=2', 'mime: duplicate parameter name'],
    ]) {
      expect(
        await call('PATCH', '/v1/secret/data/bad/s', { token: ADMIN_TOKEN, body: { data: {} }, type }),
      ).toEqual({
        status: 400,
        json: { errors: [error] },
      });
    }
    expect(
      await call('PATCH', '/v1/secret/data/bad/s', { token: ADMIN_TOKEN, body: { data: {} }, type: 'text' }),
    ).toEqual(wrong('text'));
    expect(await snapshot()).toEqual(before);
    // The right type on a path with no PATCH: Vault's 405.
    expect(await admin('PATCH', '/v1/secret/config', {}, MERGE)).toEqual({
      status: 405,
      json: { errors: ['unsupported operation'] },
    });
  });

  it('never reads a DELETE’s body, as Vault reads a DELETE’s fields from its query alone', async () => {
    await admin('POST', '/v1/secret/data/bad/del', { data: { a: secret('del') } });
    for (const body of ['{', 'not json', '[1]', '{"version":"abc"}']) {
      expect(await call('DELETE', '/v1/secret/data/bad/del', { token: ADMIN_TOKEN, body })).toEqual(
        NO_CONTENT,
      );
    }
    expect((await admin('GET', '/v1/secret/data/bad/del')).status).toBe(404);
    expect(
      await call('DELETE', '/v1/secret/metadata/bad/del', { token: ADMIN_TOKEN, body: '{"x":' }),
    ).toEqual(NO_CONTENT);
    expect((await admin('GET', '/v1/secret/metadata/bad/del')).status).toBe(404);
    // Its query is read: a bad field there is still the framework's 400.
    expect((await admin('DELETE', '/v1/secret/data/bad/s?version=abc')).status).toBe(400);
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

  it('refuses to create a secret at a path too long or too deep, and writes no folder of it', async () => {
    const deepest = Array.from({ length: MAX_SECRET_PATH_DEPTH }, (_, i) => `d${i}`).join('/');
    const longest = `long/${'x'.repeat(MAX_SECRET_PATH_BYTES - 'long/'.length)}`;
    expect((await admin('POST', `/v1/secret/data/${deepest}`, { data: { a: 1 } })).status).toBe(200);
    expect((await admin('POST', `/v1/secret/metadata/${longest}`, { max_versions: 2 })).status).toBe(204);
    const refused = {
      status: 400,
      json: { errors: ['path too long: a secret path has at most 1024 bytes and 64 segments'] },
    };
    // A 20 KB URL of 7 000 levels would be 7 000 folder sets and ~25 MB of their names.
    const manyLevels = Array.from({ length: 7000 }, () => 'a').join('/');
    for (const url of [
      `/v1/secret/data/${deepest}/one-more`,
      `/v1/secret/data/${longest}y`,
      `/v1/secret/data/${manyLevels}`,
      `/v1/secret/metadata/${deepest}/one-more`,
      `/v1/secret/metadata/${manyLevels}/`,
    ]) {
      const body = url.includes('/data/') ? { data: { a: 1 } } : { max_versions: 2 };
      expect(await admin('POST', url, body)).toEqual(refused);
    }
    // Multi-byte characters count as their UTF-8 bytes.
    expect(await admin('POST', `/v1/secret/data/long/${'é'.repeat(600)}`, { data: { a: 1 } })).toEqual(
      refused,
    );
    expect((await admin('GET', '/v1/secret/metadata/a/?list=true')).status).toBe(404);
    expect(
      (await admin('GET', `/v1/secret/metadata/${deepest.split('/').slice(0, -1).join('/')}/?list=true`))
        .json?.['data'],
    ).toEqual({
      keys: [`d${MAX_SECRET_PATH_DEPTH - 1}`],
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

/*
 * Every KV field read as Vault's framework reads it (sdk/framework FieldData: mapstructure's weak
 * decoding, parseutil.ParseDurationSecond; numbers as their text, `UseNumber`), with Vault's exact
 * message: `Field validation failed: error converting input <value> for field "<name>": <reason>`
 * for the framework, the plugin's own strings for the rest.
 */
const fieldError = (value: string | null, field: string, reason: string) =>
  `Field validation failed: error converting input ${value === null ? '' : `${value} `}for field "${field}": ${reason}`;
const goParseInt = (s: string, why = 'invalid syntax') =>
  `strconv.ParseInt: parsing ${JSON.stringify(s)}: ${why}`;
const intError = (value: string, field: string, s = value, why?: string) =>
  fieldError(value, field, `cannot parse '' as int: ${goParseInt(s, why)}`);
const listErrors = (...errors: string[]) =>
  `${errors.length} error(s) decoding:\n\n${errors.map((e) => `* ${e}`).join('\n')}`;

type Exact = [label: string, method: string, url: string, body: unknown, message: string];
/** Rows for one method and URL: `[label, body, message]` each. */
const at = (method: string, url: string, rows: Array<[string, unknown, string]>): Exact[] =>
  rows.map(([label, body, message]) => [label, method, url, body, message]);
const mapError = (value: string | null, field: string, name = "''", kind = 'string') =>
  fieldError(value, field, `${name} expected a map, got '${kind}'`);
const boolError = (value: string, field: string) =>
  fieldError(value, field, `cannot parse '' as bool: strconv.ParseBool: parsing "${value}": invalid syntax`);
const unconvertible = (value: string, field: string, target: string, type: string) =>
  fieldError(
    value,
    field,
    `'' expected type '${target}', got unconvertible type '${type}', value: '${value}'`,
  );
const cmError = (type: string, value: string) =>
  `custom_metadata validation failed: '' expected type 'string', got unconvertible type '${type}', value: '${value}'`;
const MAP = 'map[string]interface {}';
const versionsError = (value: string, ...errors: string[]) =>
  fieldError(value, 'versions', listErrors(...errors));
const elementError = (i: number, s: string) => `cannot parse '[${i}]' as int: ${goParseInt(s)}`;

const EXACT: Exact[] = [
  // data/: version, options and data are checked whatever the operation, before the handler.
  ...at('POST', '/v1/secret/data/f/s', [
    ['data a string', { data: 'x' }, mapError(null, 'data')],
    ['data a number (a json.Number is a string to Go)', '{"data":5}', mapError(null, 'data')],
    ['data a boolean', { data: true }, mapError(null, 'data', "''", 'bool')],
    ['data a list of numbers', { data: [1] }, mapError(null, 'data', "'[0]'")],
    ['options a string', { data: {}, options: 'x' }, mapError('x', 'options')],
    ['version a word in a write', { data: {}, version: 'abc' }, intError('abc', 'version')],
    ['cas 1.0', '{"data":{},"options":{"cas":1.0}}', 'error parsing check-and-set parameter'],
    ['cas a list', { data: {}, options: { cas: [1] } }, 'error parsing check-and-set parameter'],
  ]),
  ...at('PATCH', '/v1/secret/data/f/s', [
    ['options a list of one number', { data: {}, options: [1] }, mapError('[1]', 'options', "'[0]'")],
  ]),
  ...at('GET', '/v1/secret/data/f/s?version=1.5', [
    ['version a fraction', undefined, intError('1.5', 'version')],
  ]),
  ...at('GET', '/v1/secret/data/f/s?version=08', [
    ['version 08 (octal)', undefined, intError('08', 'version')],
  ]),
  ...at('GET', '/v1/secret/data/f/s?version=9223372036854775808', [
    [
      'version beyond int64',
      undefined,
      intError('9223372036854775808', 'version', undefined, 'value out of range'),
    ],
  ]),
  ...at('GET', '/v1/secret/data/f/s?version=1&version=2', [
    ['version twice', undefined, unconvertible('[1 2]', 'version', 'int', '[]string')],
  ]),
  ...at('GET', '/v1/secret/data/f/s?options=x', [
    ['options in a read query', undefined, mapError('x', 'options')],
  ]),
  ...at('DELETE', '/v1/secret/data/f/s?version=x', [
    ['version a word in a soft delete', undefined, intError('x', 'version')],
  ]),
  ...at('GET', '/v1/secret/subkeys/f/s?depth=deep', [
    ['subkeys depth a word', undefined, intError('deep', 'depth')],
  ]),
  // delete/, undelete/, destroy/: TypeCommaIntSlice, each element named by its index.
  ...at('POST', '/v1/secret/delete/f/s', [
    ['versions a word', { versions: 'a' }, versionsError('a', elementError(0, 'a'))],
    [
      'versions an object',
      { versions: { a: 1 } },
      versionsError(
        'map[a:1]',
        `'[0]' expected type 'int', got unconvertible type '${MAP}', value: 'map[a:1]'`,
      ),
    ],
    ['versions empty', { versions: {} }, 'No version number provided'],
  ]),
  ...at('POST', '/v1/secret/undelete/f/s', [
    ['versions with a space', { versions: '1, 2' }, versionsError('1, 2', elementError(1, ' 2'))],
  ]),
  ...at('POST', '/v1/secret/destroy/f/s', [
    [
      'versions with two bad ones',
      '{"versions":[1.5,"x"]}',
      versionsError('[1.5 x]', elementError(0, '1.5'), elementError(1, 'x')),
    ],
  ]),
  // metadata/
  ...at('POST', '/v1/secret/metadata/f/s', [
    ['max_versions a word', { max_versions: 'x' }, intError('x', 'max_versions')],
    ['max_versions 1.0', '{"max_versions":1.0}', intError('1.0', 'max_versions')],
    ['cas_required a word', { cas_required: 'maybe' }, boolError('maybe', 'cas_required')],
    ['cas_required 2', { cas_required: 2 }, boolError('2', 'cas_required')],
    ['cas_required an object', { cas_required: {} }, unconvertible('map[]', 'cas_required', 'bool', MAP)],
    [
      'delete_version_after a word',
      { delete_version_after: 'soon' },
      fieldError('soon', 'delete_version_after', 'time: invalid duration "soon"'),
    ],
    [
      'delete_version_after with a space',
      { delete_version_after: ' 5' },
      fieldError(' 5', 'delete_version_after', 'time: invalid duration " 5"'),
    ],
    [
      'delete_version_after a boolean',
      { delete_version_after: true },
      fieldError('true', 'delete_version_after', 'could not parse duration from input'),
    ],
    ['custom_metadata a string', { custom_metadata: 'x' }, mapError('x', 'custom_metadata')],
    ['a custom value nested', { custom_metadata: { k: { nested: 1 } } }, cmError(MAP, 'map[nested:1]')],
  ]),
  ...at('PATCH', '/v1/secret/metadata/f/s', [
    [
      'max_versions a list',
      { max_versions: [] },
      unconvertible('[]', 'max_versions', 'int', '[]interface {}'),
    ],
    [
      'delete_version_after negative',
      { delete_version_after: '-1h' },
      fieldError('-1h', 'delete_version_after', "cannot provide negative value '-3600'"),
    ],
    ['a custom value a list', { custom_metadata: { k: ['a', 1] } }, cmError('[]interface {}', '[a 1]')],
    // A token sent in the wrong field is not quoted back (the audit log keeps the message).
    ['max_versions a token', { max_versions: `ags.${'Tk9'.repeat(14)}` }, intError('***', 'max_versions')],
    [
      'a custom value a token in a list',
      { custom_metadata: { k: [`agadmin.${'Tk9'.repeat(14)}`] } },
      cmError('[]interface {}', '[***]'),
    ],
  ]),
  ...at('GET', '/v1/secret/metadata/f/s?max_versions=x', [
    ['max_versions in a read query', undefined, intError('x', 'max_versions')],
  ]),
  ...at('GET', '/v1/secret/metadata/f/?list=true&cas_required=x', [
    ['cas_required in a list query', undefined, boolError('x', 'cas_required')],
  ]),
  // config
  ...at('POST', '/v1/secret/config', [
    ['config max_versions a word', { max_versions: 'x' }, intError('x', 'max_versions')],
    [
      'config delete_version_after a word',
      { delete_version_after: 'soon' },
      fieldError('soon', 'delete_version_after', 'time: invalid duration "soon"'),
    ],
  ]),
  ...at('GET', '/v1/secret/config?cas_required=maybe', [
    ['config cas_required in a read query', undefined, boolError('maybe', 'cas_required')],
  ]),
];

describe('each field refused with Vault’s exact message', () => {
  beforeAll(async () => {
    await admin('POST', '/v1/secret/data/f/s', { data: { a: secret('fields') } });
  });

  it.each(EXACT)('%s', async (_label, method, url, body, message) => {
    const type = method === 'PATCH' ? MERGE : undefined;
    expect(await admin(method, url, body, type)).toEqual({ status: 400, json: { errors: [message] } });
  });
});

describe('each field takes what Vault takes', () => {
  const url = '/v1/secret/data/take/s';
  const versionOf = async (q: string) => {
    const res = await admin('GET', `${url}?${q}`);
    return res.status === 200
      ? (res.json?.['data'] as { metadata: { version: number } }).metadata.version
      : res.status;
  };

  it('reads integers as Go’s ParseInt(s, 0, 64): hex, octal, binary, underscores, a sign', async () => {
    for (let i = 0; i < 10; i++) await admin('POST', url, { data: { i } });
    expect(await versionOf('version=0x2')).toBe(2);
    expect(await versionOf('version=010')).toBe(8);
    expect(await versionOf('version=0b11')).toBe(3);
    expect(await versionOf('version=0o7')).toBe(7);
    expect(await versionOf('version=1_0')).toBe(10);
    expect(await versionOf('version=%2B4')).toBe(4);
    expect(await versionOf('version=-4')).toBe(10); // 0 or less is the current version
    expect(await versionOf('version=')).toBe(10);
  });

  it('reads options.cas weakly: a string, hex, a boolean, null (0), a list of maps merged', async () => {
    const p = '/v1/secret/data/take/cas';
    expect((await admin('POST', p, { data: {}, options: [{ cas: null }] })).status).toBe(200);
    expect((await admin('POST', p, { data: {}, options: { cas: true } })).status).toBe(200);
    expect((await admin('POST', p, { data: {}, options: { cas: '0x2' } })).status).toBe(200);
    expect((await admin('POST', p, { data: {}, options: { cas: '3' } })).status).toBe(200);
    expect(await admin('POST', p, { data: {}, options: { cas: -1 } })).toEqual({
      status: 400,
      json: { errors: ['check-and-set parameter did not match the current version'] },
    });
  });

  it('takes data as a list of maps, merged', async () => {
    const p = '/v1/secret/data/take/list';
    expect((await admin('POST', p, { data: [{ a: '1' }, { b: '2' }, { a: '3' }] })).status).toBe(200);
    expect(((await dataOf(p)) as { data: unknown }).data).toEqual({ a: '3', b: '2' });
  });

  it('takes versions as a number, a boolean (1), a comma string, a list of strings', async () => {
    const p = '/v1/secret/delete/take/s';
    const deleted = async () => {
      const meta = (await dataOf('/v1/secret/metadata/take/s')) as {
        versions: Record<string, { deletion_time: string }>;
      };
      return Object.keys(meta.versions).filter((n) => meta.versions[n]?.deletion_time !== '');
    };
    expect(await admin('POST', p, '{"versions":2}')).toEqual(NO_CONTENT);
    expect(await admin('POST', p, { versions: true })).toEqual(NO_CONTENT);
    expect(await admin('POST', p, { versions: '3,0x4' })).toEqual(NO_CONTENT);
    expect(await admin('POST', p, { versions: ['5', null] })).toEqual(NO_CONTENT);
    expect(await deleted()).toEqual(['1', '2', '3', '4', '5']);
  });

  it('takes metadata as Vault does: max_versions wraps into 32 bits, booleans as Go’s, days, a custom number’s text', async () => {
    const p = '/v1/secret/metadata/take/meta';
    const read = async () => (await dataOf(p)) as Record<string, unknown>;
    expect(
      await admin('POST', p, '{"max_versions":-1,"cas_required":"t","delete_version_after":"1d"}'),
    ).toEqual(NO_CONTENT);
    expect(await read()).toMatchObject({
      max_versions: 4294967295,
      cas_required: true,
      delete_version_after: '24h0m0s',
    });
    expect(
      await admin(
        'POST',
        p,
        '{"max_versions":4294967299,"cas_required":0,"custom_metadata":{"n":1.50,"b":true}}',
      ),
    ).toEqual(NO_CONTENT);
    expect(await read()).toMatchObject({
      max_versions: 3,
      cas_required: false,
      custom_metadata: { n: '1.50', b: '1' },
    });
  });

  it('reads a duration as Go’s int64 does, wrapping around past it', async () => {
    const p = '/v1/secret/metadata/take/wrap';
    // 9007199254740991 s is beyond a Go duration: Vault's nanoseconds wrap to 4611686017 s.
    expect(await admin('POST', p, { delete_version_after: 9007199254740991 })).toEqual(NO_CONTENT);
    expect(await dataOf(p)).toMatchObject({ delete_version_after: '1281023h53m37s' });
  });

  it('leaves delete_version_after as it is on a PATCH with null (Vault ignores a null duration)', async () => {
    const p = '/v1/secret/metadata/take/patch';
    expect(await admin('POST', p, { delete_version_after: '1h', max_versions: 3 })).toEqual(NO_CONTENT);
    expect(await admin('PATCH', p, { delete_version_after: null, max_versions: null }, MERGE)).toEqual(
      NO_CONTENT,
    );
    expect(await dataOf(p)).toMatchObject({ delete_version_after: '1h0m0s', max_versions: 0 });
  });

  it('warns about a null cas_required as about false (null is false to Vault’s framework)', async () => {
    const p = '/v1/secret/metadata/take/warn';
    expect(await admin('POST', '/v1/secret/config', { cas_required: true })).toEqual(NO_CONTENT);
    expect(await admin('POST', p, { max_versions: 1 })).toEqual(NO_CONTENT);
    const res = await admin('PATCH', p, { cas_required: null }, MERGE);
    expect(res.json?.['warnings']).toEqual([
      '"cas_required" set to false, but is mandated by backend config. This value will be ignored.',
    ]);
    expect(await admin('POST', '/v1/secret/config', { cas_required: false })).toEqual(NO_CONTENT);
  });

  it('takes any negative config delete_version_after as "off", and a signed number', async () => {
    expect(await admin('POST', '/v1/secret/config', { delete_version_after: -300 })).toEqual(NO_CONTENT);
    expect(await dataOf('/v1/secret/config')).toMatchObject({ delete_version_after: '-1s' });
    expect(await admin('POST', '/v1/secret/config', { delete_version_after: '0' })).toEqual(NO_CONTENT);
    expect(await dataOf('/v1/secret/config')).toMatchObject({ delete_version_after: '0s' });
  });
});
