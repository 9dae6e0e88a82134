import { readFileSync } from 'node:fs';
import { parseExactJson } from '../src/lib/exact-json.js';
import { ADMIN_TOKEN } from './helpers/harness.js';
import { readEntries } from './helpers/audit.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { clock, envelope, harness, MERGE, secret, useKvHarness, version } from './helpers/kv-suite.js';

/*
 * KV v2 keeps secret data's numbers exactly as written, as Vault does (its decoder reads them
 * with UseNumber): through writes, reads of any version, merge patches, subkeys and the audit log.
 */

useKvHarness();

/** A request with its answer's raw text: JSON.parse would alter the very numbers under test. */
const raw = async (method: string, url: string, body?: string, type = 'application/json') => {
  const res = await harness().server.app.inject({
    method: method as 'GET',
    url,
    headers: { 'x-vault-token': ADMIN_TOKEN, ...(body === undefined ? {} : { 'content-type': type }) },
    ...(body === undefined ? {} : { payload: body }),
  });
  return {
    status: res.statusCode,
    text: res.body,
    json: res.body === '' ? undefined : parseExactJson(res.body),
  };
};

const EXACT = '{"n":12345678901234567890,"f":1.10,"m":9007199254740993,"e":1e5}';

describe('numbers in secret data', () => {
  let t0: number;
  const url = '/v1/secret/data/test/num';
  beforeAll(async () => {
    t0 = clock.nowMs();
    expect((await raw('PUT', url, `{"data":${EXACT}}`)).status).toBe(200);
  });

  it('reads back every number exactly as written', async () => {
    const res = await raw('GET', url);
    expect(res.status).toBe(200);
    expect(res.text).toContain(`"data":${EXACT},"metadata":`);
    expect(res.json).toEqual(envelope({ data: parseExactJson(EXACT), metadata: version(1, t0) }));
  });

  it('reads back an older version exactly, and a merge patch keeps them and writes its own exactly', async () => {
    clock.advanceSeconds(1);
    const patch = await raw('PATCH', url, '{"data":{"f":2.50,"p":1e-7,"list":[0.10,1],"m":null}}', MERGE);
    expect(patch).toMatchObject({ status: 200, json: envelope(version(2, t0 + 1000)) });
    const latest = await raw('GET', url);
    expect(latest.text).toContain(
      '"data":{"n":12345678901234567890,"f":2.50,"e":1e5,"p":1e-7,"list":[0.10,1]},"metadata":',
    );
    const first = await raw('GET', `${url}?version=1`);
    expect(first.text).toContain(`"data":${EXACT},"metadata":`);
    expect(first.json).toEqual(envelope({ data: parseExactJson(EXACT), metadata: version(1, t0) }));
  });

  it('gives their structure in subkeys, each number a leaf', async () => {
    const res = await raw('GET', '/v1/secret/subkeys/test/num?version=1');
    expect(res.json).toEqual(
      envelope({ subkeys: { n: null, f: null, m: null, e: null }, metadata: version(1, t0) }),
    );
  });

  it('still answers ordinary numbers as numbers, with the answer JSON.stringify would give', async () => {
    const data = { a: 1, b: 2.5, c: -3, d: 0, big: 1e21, list: [0.1, { x: 7 }] };
    expect((await raw('POST', '/v1/secret/data/test/plain', JSON.stringify({ data }))).status).toBe(200);
    const res = await raw('GET', '/v1/secret/data/test/plain');
    expect(res.text).toContain(`"data":${JSON.stringify(data)},"metadata":`);
    expect(res.text).toBe(JSON.stringify(JSON.parse(res.text)));
    expect(res.json).toMatchObject({ data: { data } });
  });

  it('keeps a number nested deep in the data and in lists exactly', async () => {
    const deep = '{"a":{"b":[{"c":[1.0,-0,1E5,123456789012345678901234567890]}]}}';
    await raw('POST', '/v1/secret/data/test/deep', `{"data":${deep}}`);
    expect((await raw('GET', '/v1/secret/data/test/deep')).text).toContain(`"data":${deep},`);
  });
});

describe('numbers in secret data, in the audit log', () => {
  it('are HMAC’d as their text, never written as an object, and leave the other fields’ HMACs as they were', async () => {
    const value = secret('exact-audit');
    await raw(
      'POST',
      '/v1/secret/data/audit/exact',
      `{"data":{"s":"${value}","i":7,"f":1.10,"n":12345678901234567890}}`,
    );
    await raw('POST', '/v1/secret/data/audit/plain', `{"data":{"s":"${value}","i":7,"f":1.1}}`);
    await raw('GET', '/v1/secret/data/audit/exact');
    const file = harness().auditFile as string;
    const text = readFileSync(file, 'utf8');
    expect(text).not.toContain('{"text"');
    expect(text).not.toContain('12345678901234567890');
    expect(text).not.toContain(value);
    const entry = (path: string, type: string, operation: string) =>
      readEntries(file).find(
        (e) => e.request['path'] === path && e.type === type && e.request['operation'] === operation,
      );
    const HMAC = expect.stringMatching(/^hmac-sha256:[0-9a-f]{64}$/);
    type Secret = { data: Record<string, string> };
    const exact = entry('secret/data/audit/exact', 'request', 'update')?.request['data'] as Secret;
    const plain = entry('secret/data/audit/plain', 'request', 'update')?.request['data'] as Secret;
    expect(exact).toEqual({ data: { s: HMAC, i: HMAC, f: HMAC, n: HMAC } });
    expect(exact.data['s']).toBe(plain.data['s']);
    expect(exact.data['i']).toBe(plain.data['i']);
    // 1.10 and 1.1 are different texts, so different HMACs: the HMAC is of what was written.
    expect(exact.data['f']).not.toBe(plain.data['f']);
    const read = entry('secret/data/audit/exact', 'response', 'read')?.response as { data: Secret };
    expect(read.data.data).toEqual(exact.data);
  });
});

describe('the exact parse, on KV routes only', () => {
  it('refuses a body nested too deep to parse with a 400, changing nothing', async () => {
    const deep = `{"data":{},"options":${'{"a":'.repeat(50_000)}1${'}'.repeat(50_000)}}`;
    expect(await raw('POST', '/v1/secret/data/test/too-deep', deep)).toMatchObject({
      status: 400,
      json: { errors: ['error parsing JSON'] },
    });
    expect((await raw('GET', '/v1/secret/data/test/too-deep')).status).toBe(404);
  });

  it('answers a body that is not JSON with Vault’s error parsing JSON', async () => {
    expect(await raw('POST', '/v1/secret/data/test/bad', '{"data":{"n":1.}}')).toMatchObject({
      status: 400,
      json: { errors: ['error parsing JSON'] },
    });
  });

  it('reads every KV field’s number as its text, as Vault’s decoder does', async () => {
    // Vault's framework reads a custom_metadata number as its text, and `1.0` is no integer.
    const res = await raw('POST', '/v1/secret/metadata/test/num', '{"custom_metadata":{"k":1.10}}');
    expect(res.status).toBe(204);
    const meta = await raw('GET', '/v1/secret/metadata/test/num');
    expect(meta.json).toMatchObject({ data: { custom_metadata: { k: '1.10' } } });
    expect((await raw('POST', '/v1/secret/config', '{"max_versions":1.0}')).status).toBe(400);
    expect((await raw('POST', '/v1/secret/delete/test/num', '{"versions":[1.0]}')).status).toBe(400);
  });
});
