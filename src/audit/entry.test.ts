import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { formatRequestEntry, formatResponseEntry, requestBlock, type EntryOptions } from './entry.js';
import { parseExactJson } from '../lib/exact-json.js';
import { createHasher, HASHED_WHOLE_KEY, hashStrings, MAX_HASHED_CHARS } from './hash.js';
import type { AuditEntry, AuditRequest, AuditResponse } from './types.js';

const SALT = '5f0b4c6e-1d2a-4b8e-9c3f-7a6d5e4f3b2a';
const hash = createHasher(SALT);
const JWT = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW0ifQ.c2lnbmF0dXJl';
const TOKEN = 'ags.3x4mpl3t0k3nvalue0000000000000000000000000';
const ACCESSOR = 'Zq3ccessor0000000000000';

const loginRequest: AuditRequest = {
  id: 'b7e1c0de-0000-4000-8000-000000000001',
  operation: 'update',
  path: 'auth/kubernetes/login',
  mount: { point: 'auth/kubernetes/', type: 'kubernetes', class: 'auth' },
  clientToken: undefined,
  data: { role: 'nginx', jwt: JWT },
  remoteAddress: '10.1.2.3',
  remotePort: 40000,
};

const issued: AuditResponse = {
  auth: {
    client_token: TOKEN,
    accessor: ACCESSOR,
    policies: ['default', 'nginx'],
    token_policies: ['default', 'nginx'],
    metadata: { role: 'nginx', service_account_name: 'nginx', service_account_namespace: 'test' },
    lease_duration: 3600,
    renewable: true,
    entity_id: 'e-1',
    token_type: 'service',
    orphan: true,
    mfa_requirement: null,
    num_uses: 0,
  },
  data: undefined,
  warnings: undefined,
  error: undefined,
  authgate: { outcome: 'ok', reason: 'ok', status: 200 },
};

describe('audit HMAC', () => {
  it("is Vault's: hmac-sha256: and the hex HMAC-SHA256 of the value under the device's salt", () => {
    expect(hash(JWT)).toBe(`hmac-sha256:${createHmac('sha256', SALT).update(JWT).digest('hex')}`);
    expect(createHasher('another-salt')(JWT)).not.toBe(hash(JWT));
  });

  it('hashes every string at any depth and keeps keys, numbers, booleans and nulls', () => {
    const out = hashStrings({ a: 'x', n: 1, b: true, z: null, list: ['y', 2], deep: { s: 'z' } }, hash);
    expect(out).toEqual({
      a: hash('x'),
      n: 1,
      b: true,
      z: null,
      list: [hash('y'), 2],
      deep: { s: hash('z') },
    });
  });

  it('HMACs values one by one within MAX_HASHED_CHARS of output, and past it the whole value at once', () => {
    const within = Array.from({ length: 800 }, (_, i) => `v${i}`);
    expect(hashStrings({ list: within, n: 1 }, hash)).toEqual({ list: within.map(hash), n: 1 });
    const past = Array.from({ length: 1000 }, (_, i) => `v${i}`);
    expect(hashStrings({ list: past, n: 1 }, hash)).toEqual({
      [HASHED_WHOLE_KEY]: hash(JSON.stringify({ list: past, n: 1 })),
    });
    // A collection whose keys alone pass what is left goes whole, beside fields kept.
    const longKeys = Object.fromEntries(
      Array.from({ length: 10 }, (_, i) => [`${i}${'k'.repeat(9000)}`, 'v']),
    );
    expect(hashStrings({ role: 'web', junk: longKeys }, hash)).toEqual({
      role: hash('web'),
      junk: hash(JSON.stringify(longKeys)),
    });
  });

  it.each([
    ['900 empty strings', { x: Array.from({ length: 900 }, () => '') }],
    ['10 000 short keys', Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [`k${i}`, '']))],
  ])("keeps the fields an entry is searched by when a body of %s is HMAC'd whole", (_, junk) => {
    const body = { ...junk, role: 'web', jwt: 'eyJ.a.b' };
    expect(hashStrings(body, hash)).toEqual({
      role: hash('web'),
      jwt: hash('eyJ.a.b'),
      [HASHED_WHOLE_KEY]: hash(JSON.stringify(body)),
    });
  });

  it.each([
    ['350 000 empty strings', Array.from({ length: 350_000 }, () => '')],
    ['60 000 one-string lists', Array.from({ length: 60_000 }, () => ['a'])],
    [
      'ten 90 000-character keys',
      Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`${i}${'k'.repeat(90_000)}`, 1])),
    ],
    ['60 000 numbers', Array.from({ length: 60_000 }, (_, i) => i)],
    [
      'five lists of 60 000 empty lists',
      Array.from({ length: 5 }, () => Array.from({ length: 60_000 }, () => [])),
    ],
    ['60 000 empty objects', Array.from({ length: 60_000 }, () => ({}))],
    ['a key of 60 000 control characters', { ['\u0001'.repeat(60_000)]: 1 }],
    ['60 000 short keys', Object.fromEntries(Array.from({ length: 60_000 }, (_, i) => [`k${i}`, null]))],
    ['a deep mix', { a: Array.from({ length: 500 }, () => ({ b: ['x', 1, { c: 'y'.repeat(50) }] })) }],
  ])('writes a bounded entry for a body of %s, with a bounded count of HMACs', (_, body) => {
    let calls = 0;
    const counting = (v: string) => {
      calls++;
      return hash(v);
    };
    const out = JSON.stringify(hashStrings({ data: body }, counting));
    expect(out.length).toBeLessThanOrEqual(3 * MAX_HASHED_CHARS);
    // Each HMAC costs its length; the one that passes the budget, and the whole value's, beyond.
    expect(calls).toBeLessThanOrEqual(MAX_HASHED_CHARS / hash('').length + 2);
  });

  it('keeps a key named __proto__ as a key, hashed like any other', () => {
    const input = JSON.parse('{"data":{"__proto__":{"pin":"1234"}},"__proto__":{"evil":"x"}}') as unknown;
    const out = JSON.parse(JSON.stringify(hashStrings(input, hash))) as Record<
      string,
      Record<string, unknown>
    >;
    expect(Object.keys(out).sort()).toEqual(['__proto__', 'data']);
    expect(Object.keys(out['data'] ?? {})).toEqual(['__proto__']);
    expect(JSON.stringify(out)).not.toContain('1234');
  });

  it('hashes numbers and booleans too inside a KV secret (the top-level data key), but not beside it', () => {
    const out = hashStrings(
      { data: { pin: 1234, on: true, nested: [5], none: null }, options: { cas: 3 } },
      hash,
    );
    expect(out).toEqual({
      data: { pin: hash('1234'), on: hash('true'), nested: [hash('5')], none: null },
      options: { cas: 3 },
    });
  });

  it('hashes a number kept as its text as the number it is: its text inside a KV secret, in clear beside it', () => {
    const body = parseExactJson(
      '{"data":{"f":1.10,"n":12345678901234567890,"pin":1234,"s":"x","o":{"e":1e5}},"options":{"cas":1.0}}',
    );
    const out = hashStrings(body, hash);
    expect(out).toStrictEqual({
      data: {
        f: hash('1.10'),
        n: hash('12345678901234567890'),
        pin: hash('1234'),
        s: hash('x'),
        o: { e: hash('1e5') },
      },
      options: { cas: 1 },
    });
    expect(JSON.stringify(out)).not.toContain('"text"');
  });

  it('hashes data nested too deep to walk as a whole, so that any body can be audited', () => {
    let deep: unknown = 'secret';
    for (let i = 0; i < 50_000; i++) deep = { a: deep };
    const out = hashStrings({ role: 'nginx', x: deep }, hash) as Record<string, unknown>;
    expect(out['role']).toBe(hash('nginx'));
    let node = out['x'];
    for (let i = 0; i < 31; i++) node = (node as { a: unknown }).a;
    expect(node).toBe(hash('[too deeply nested]'));
    expect(JSON.stringify(out)).not.toContain('secret');
  });
});

/** The entries as a device writes them, parsed back. */
const requestEntry = (
  time: string,
  req: AuditRequest,
  o: EntryOptions = { hmacAccessor: true },
): AuditEntry =>
  JSON.parse(
    JSON.stringify(formatRequestEntry(time, req, requestBlock(req, hash, o), hash, o)),
  ) as AuditEntry;
const responseEntry = (time: string, req: AuditRequest, res: AuditResponse, o: EntryOptions): AuditEntry =>
  JSON.parse(
    JSON.stringify(formatResponseEntry(time, req, requestBlock(req, hash, o), res, hash, o)),
  ) as AuditEntry;

describe('audit entries', () => {
  const block = requestBlock(loginRequest, hash, { hmacAccessor: true });

  it("writes a login's request entry with Vault's fields in Vault's order, the JWT and role hashed", () => {
    const entry = requestEntry('2026-01-01T00:00:00.000Z', loginRequest);
    expect(Object.keys(entry)).toEqual(['time', 'auth', 'request', 'type']);
    expect(entry.auth).toEqual({ token_type: 'default' });
    expect(entry.request).toEqual({
      id: loginRequest.id,
      data: { role: hash('nginx'), jwt: hash(JWT) },
      mount_class: 'auth',
      mount_point: 'auth/kubernetes/',
      mount_type: 'kubernetes',
      namespace: { id: 'root' },
      operation: 'update',
      path: 'auth/kubernetes/login',
      remote_address: '10.1.2.3',
      remote_port: 40000,
    });
    expect(JSON.stringify(entry)).not.toContain(JWT);
  });

  it('writes the issued token and accessor hashed and the identity in clear in the response entry', () => {
    const entry = responseEntry('2026-01-01T00:00:01.000Z', loginRequest, issued, {
      hmacAccessor: true,
    });
    expect(Object.keys(entry)).toEqual(['time', 'auth', 'request', 'response', 'type', 'authgate']);
    expect(entry.auth).toEqual({
      accessor: hash(ACCESSOR),
      client_token: hash(TOKEN),
      entity_id: 'e-1',
      metadata: { role: 'nginx', service_account_name: 'nginx', service_account_namespace: 'test' },
      policies: ['default', 'nginx'],
      token_policies: ['default', 'nginx'],
      token_ttl: 3600,
      token_type: 'service',
    });
    // `num_uses: 0` is left out (Vault's omitempty) ...
    expect(entry.response?.['auth']).toEqual(entry.auth);
    // ... and a use limit is in `response.auth` only, as Vault's top-level `auth` has no num_uses.
    const limited = responseEntry(
      't',
      loginRequest,
      { ...issued, auth: { ...issued.auth, num_uses: 5 } },
      {
        hmacAccessor: true,
      },
    );
    expect(limited.auth).not.toHaveProperty('num_uses');
    expect(limited.response?.['auth']).toMatchObject({ num_uses: 5 });
    expect(entry.request).toEqual(block);
    const raw = JSON.stringify(entry);
    for (const secret of [TOKEN, ACCESSOR, JWT]) expect(raw).not.toContain(secret);
  });

  it('leaves accessors in clear only when hmac_accessor is false', () => {
    const entry = responseEntry('t', loginRequest, issued, { hmacAccessor: false });
    expect(entry.auth['accessor']).toBe(ACCESSOR);
    expect(entry.auth['client_token']).toBe(hash(TOKEN));
  });

  it('hashes every string of response data, such as the token in a lookup, and keeps the error', () => {
    const lookup: AuditRequest = {
      ...loginRequest,
      path: 'auth/token/lookup-self',
      operation: 'read',
      clientToken: TOKEN,
      data: undefined,
    };
    const res: AuditResponse = {
      auth: undefined,
      data: { id: TOKEN, accessor: ACCESSOR, ttl: 30, policies: ['default'] },
      warnings: undefined,
      error: undefined,
      authgate: { outcome: 'ok', reason: 'ok', status: 200 },
    };
    const entry = responseEntry('t', lookup, res, {
      hmacAccessor: true,
    });
    // No caller looked up: Vault's default auth, the token's HMAC in the request block only.
    expect(entry.auth).toEqual({ token_type: 'default' });
    expect(entry.request['client_token']).toBe(hash(TOKEN));
    expect(entry.response?.['data']).toEqual({
      id: hash(TOKEN),
      accessor: hash(ACCESSOR),
      ttl: 30,
      policies: [hash('default')],
    });

    const refused = responseEntry(
      't',
      loginRequest,
      { ...res, data: undefined, error: 'permission denied' },
      { hmacAccessor: true },
    );
    expect(Object.keys(refused)).toEqual([
      'time',
      'auth',
      'error',
      'request',
      'response',
      'type',
      'authgate',
    ]);
    expect(refused.error).toBe('permission denied');
    expect(refused.auth).toEqual({ token_type: 'default' });
  });

  it("names the caller in `auth` and the renewed token in `response.auth`, as Vault's LogInput", () => {
    const OPERATOR = 'ags.0perat0rt0k3n0000000000000000000000000000';
    const renew: AuditRequest = {
      ...loginRequest,
      path: 'auth/token/renew',
      mount: { point: 'auth/token/', type: 'token', class: 'auth' },
      clientToken: OPERATOR,
      caller: { accessor: 'op-accessor', display_name: 'kubernetes-ops-admin', policies: ['ops'] },
      data: { token: TOKEN },
    };
    const entry = responseEntry(
      't',
      renew,
      { ...issued, authDisplayName: 'kubernetes-test-nginx' },
      {
        hmacAccessor: true,
      },
    );
    expect(entry.auth).toMatchObject({
      client_token: hash(OPERATOR),
      accessor: hash('op-accessor'),
      display_name: 'kubernetes-ops-admin',
    });
    expect(entry.response?.['auth']).toMatchObject({
      client_token: hash(TOKEN),
      accessor: hash(ACCESSOR),
      display_name: 'kubernetes-test-nginx',
    });
    expect(entry.request['data']).toEqual({ token: hash(TOKEN) });

    // renew-accessor answers `client_token: ""`: left out, as Vault leaves it.
    const byAccessor = responseEntry(
      't',
      { ...renew, path: 'auth/token/renew-accessor', data: { accessor: ACCESSOR } },
      { ...issued, auth: { ...issued.auth, client_token: '' } },
      { hmacAccessor: true },
    );
    expect(byAccessor.response?.['auth']).not.toHaveProperty('client_token');
    const raw = JSON.stringify([entry, byAccessor]);
    for (const secret of [TOKEN, OPERATOR, ACCESSOR]) expect(raw).not.toContain(secret);
  });

  it.each([
    [
      'an allowed request: every granting policy, its empty fields left out, nothing else copied',
      {
        allowed: true,
        granting_policies: [
          { name: 'app', namespace_id: 'root', namespace_path: '', type: 'acl', extra: 'x' },
          { name: 'default', namespace_id: 'root', type: 'acl' },
          'not a policy',
        ],
      },
      {
        allowed: true,
        granting_policies: [
          { name: 'app', namespace_id: 'root', type: 'acl' },
          { name: 'default', namespace_id: 'root', type: 'acl' },
        ],
      },
    ],
    [
      'a refused request: `allowed: false` kept, no granting policies',
      { allowed: false },
      { allowed: false },
    ],
    ['no granting policy: the list left out', { allowed: true, granting_policies: [] }, { allowed: true }],
  ])("writes Vault's policy_results of %s", (_w, results, expected) => {
    const req: AuditRequest = {
      ...loginRequest,
      clientToken: TOKEN,
      caller: { display_name: 'kubernetes-test-nginx', policy_results: results },
    };
    expect(requestEntry('t', req).auth['policy_results']).toEqual(expected);
  });
});
