import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEntry } from '../src/audit/index.js';
import { createKeys, createMemoryStore } from '../src/store/index.js';
import { readEntries } from './helpers/audit.js';
import { ADMIN_TOKEN, NGINX_ROLE, startHarness, type Harness } from './helpers/harness.js';

/*
 * The audit of the token endpoints that name another token (auth/token/lookup, renew,
 * renew-accessor, revoke): the named token is in the request's data and in the answer, and is
 * written only as its HMAC, as Vault's audit writes every string of both; the entry's `auth`
 * names the caller, `response.auth` the renewed token. A token sent in the URL path (Vault's old
 * forms, not served) is HMAC'd in the entry's path.
 */

type Auth = { client_token: string; accessor: string };

/** The HMAC the harness's device `test` writes for a value (Vault's sys/audit-hash). */
const hashOf = async (h: Harness, input: string): Promise<string> =>
  (
    (
      await h.server.app.inject({
        method: 'POST',
        url: '/v1/sys/audit-hash/test',
        headers: { 'x-vault-token': ADMIN_TOKEN },
        payload: { input },
      })
    ).json() as { hash: string }
  ).hash;

describe('audit entries of requests that name another token', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      roles: { nginx: NGINX_ROLE, ops: { ...NGINX_ROLE, token_policies: ['token-ops'] } },
      config: {
        policies: {
          'token-ops': {
            path: Object.fromEntries(
              ['lookup', 'renew', 'renew-accessor', 'revoke'].map((p) => [
                `auth/token/${p}`,
                { capabilities: ['update'] },
              ]),
            ),
          },
        },
      },
    });
  });
  afterAll(async () => {
    await h?.close();
  });

  const loginAs = async (role: string, mount = 'kubernetes'): Promise<Auth> =>
    (await h.login(mount, { role, jwt: await h.podToken() })).json['auth'] as Auth;

  const hmac = (input: string) => hashOf(h, input);

  /** The entries the harness's device writes while `run` runs. */
  const entriesOf = async (run: () => Promise<unknown>): Promise<AuditEntry[]> => {
    const before = readEntries(h.auditFile!).length;
    await run();
    return readEntries(h.auditFile!).slice(before);
  };

  const post = (path: string, token: string, payload: object) =>
    h.server.app.inject({
      method: 'POST',
      url: `/v1/auth/token/${path}`,
      headers: { 'x-vault-token': token },
      payload,
    });

  it('HMACs the named token in the request and the answer, and names the caller in auth', async () => {
    // Through another mount, so that its display name is not the caller's.
    const [caller, target] = [await loginAs('ops'), await loginAs('nginx', 'jwks')];
    const [targetHmac, accessorHmac, callerHmac] = await Promise.all(
      [target.client_token, target.accessor, caller.client_token].map(hmac),
    );
    const entries = await entriesOf(async () => {
      expect((await post('lookup', caller.client_token, { token: target.client_token })).statusCode).toBe(
        200,
      );
      expect((await post('renew', caller.client_token, { token: target.client_token })).statusCode).toBe(200);
      expect(
        (await post('renew-accessor', caller.client_token, { accessor: target.accessor })).statusCode,
      ).toBe(200);
      expect((await post('revoke', caller.client_token, { token: target.client_token })).statusCode).toBe(
        204,
      );
    });
    expect(entries.map((e) => [e.type, e.request['path']])).toEqual(
      ['lookup', 'renew', 'renew-accessor', 'revoke'].flatMap((p) => [
        ['request', `auth/token/${p}`],
        ['response', `auth/token/${p}`],
      ]),
    );
    for (const e of entries) {
      // Every entry is the caller's request: its token and identity, never the target's.
      expect(e.auth).toMatchObject({
        client_token: callerHmac,
        display_name: 'kubernetes-test-nginx',
        policies: ['default', 'token-ops'],
      });
      expect(e.request['client_token']).toBe(callerHmac);
      expect(e.request['mount_type']).toBe('token');
    }
    const at = (i: number) => entries[i] as AuditEntry;
    const [lookup, renew, byAccessor, revoke] = [at(1), at(3), at(5), at(7)];
    expect(lookup.request['data']).toEqual({ token: targetHmac });
    expect(lookup.response?.['data']).toMatchObject({ id: targetHmac, accessor: accessorHmac });
    expect(renew.request['data']).toEqual({ token: targetHmac });
    expect(renew.response?.['auth']).toMatchObject({
      client_token: targetHmac,
      accessor: accessorHmac,
      display_name: 'jwks-test-nginx',
      policies: ['default', 'nginx'],
      token_ttl: 3600,
    });
    expect(byAccessor.request['data']).toEqual({ accessor: accessorHmac });
    expect(byAccessor.response?.['auth']).toMatchObject({
      accessor: accessorHmac,
      display_name: 'jwks-test-nginx',
    });
    expect(byAccessor.response?.['auth']).not.toHaveProperty('client_token');
    expect(revoke.request['data']).toEqual({ token: targetHmac });
    expect(revoke.authgate).toEqual({ outcome: 'ok', reason: 'ok', status: 204 });
    const raw = JSON.stringify(entries);
    for (const secret of [target.client_token, target.accessor, caller.client_token, caller.accessor])
      expect(raw).not.toContain(secret);
  });

  it('audits a refusal with its reason, and an unknown token as Vault’s bad token', async () => {
    const [caller, target] = [await loginAs('nginx'), await loginAs('nginx')];
    const entries = await entriesOf(() => post('renew', caller.client_token, { token: target.client_token }));
    expect(entries[1]?.authgate).toEqual({
      outcome: 'denied',
      reason: 'acl_denied',
      detail: 'auth/token/renew',
      status: 403,
    });
    // Refused before its body was read: the named token is not in the entry at all.
    expect(entries[1]?.request['data']).toBeUndefined();
    const unknown = await entriesOf(() => post('lookup', ADMIN_TOKEN, { token: 'ags.not-a-live-token' }));
    expect(unknown[1]).toMatchObject({
      error: 'bad token',
      authgate: { outcome: 'denied', reason: 'token_not_found', status: 403 },
    });
    expect(JSON.stringify([entries, unknown])).not.toContain(target.client_token);
  });
});

describe("Vault's old forms with the token in the URL path", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h?.close();
  });

  it('answers 404 without echoing the token, audits it HMAC’d, and leaves the token live', async () => {
    const login = await h.login('kubernetes', { role: 'nginx', jwt: await h.podToken() });
    const { client_token: token, accessor } = login.json['auth'] as Auth;
    const before = readEntries(h.auditFile!).length;
    const calls = [
      ['GET', `lookup/${token}`, 'token'],
      ['POST', `renew/${token}`, 'token'],
      ['POST', `revoke/${token}`, 'token'],
      ['POST', `revoke-orphan/${token}`, 'token'],
      ['POST', `lookup-accessor/${accessor}`, 'accessor'],
      ['POST', `revoke-accessor/${accessor}`, 'accessor'],
    ] as const;
    for (const [method, path, field] of calls) {
      for (const caller of [ADMIN_TOKEN, token]) {
        const res = await h.server.app.inject({
          method,
          url: `/v1/auth/token/${path}`,
          headers: { 'x-vault-token': caller },
        });
        expect([res.statusCode, res.json()]).toEqual([
          404,
          {
            errors: [`unsupported path: send the ${field} in the request body ("${field}"), not in the URL`],
          },
        ]);
      }
    }
    const entries = readEntries(h.auditFile!).slice(before);
    expect(entries).toHaveLength(calls.length * 4);
    const hashed = { token: await hashOf(h, token), accessor: await hashOf(h, accessor) };
    expect(entries[0]?.request['path']).toBe(`auth/token/lookup/${hashed.token}`);
    expect(entries.at(-1)?.request['path']).toBe(`auth/token/revoke-accessor/${hashed.accessor}`);
    expect(entries[1]?.authgate).toEqual({ outcome: 'error', reason: 'token_in_path', status: 404 });
    const raw = JSON.stringify(entries);
    for (const secret of [token, accessor]) expect(raw).not.toContain(secret);
    const self = await h.server.app.inject({
      method: 'GET',
      url: '/v1/auth/token/lookup-self',
      headers: { 'x-vault-token': token },
    });
    expect(self.statusCode).toBe(200);
  });
});

describe('an operator’s renewal whose answer cannot be audited', () => {
  it('is refused with 503 and leaves the renewed token as it was, not revoked', async () => {
    const store = createMemoryStore({ clock: { nowMs: () => Date.now() } });
    // A stdout device that fails every response entry of a renewal.
    const stream = new Writable({
      write(chunk: Buffer, _enc, done) {
        const line = chunk.toString();
        const renewal = line.includes('"type":"response"') && line.includes('auth/token/renew');
        done(renewal ? new Error('ENOSPC: no space left on device') : undefined);
      },
    });
    const h = await startHarness({ audit: { out: { type: 'stdout' } }, auditStdout: stream, store });
    try {
      const login = await h.login('kubernetes', { role: 'nginx', jwt: await h.podToken() });
      const target = login.json['auth'] as Auth;
      const renew = await h.server.app.inject({
        method: 'POST',
        url: '/v1/auth/token/renew',
        headers: { 'x-vault-token': ADMIN_TOKEN },
        payload: { token: target.client_token },
      });
      expect(renew.statusCode).toBe(503);
      expect(renew.body).not.toContain(target.client_token);
      const records = store.entries().filter(([k]) => k.startsWith(createKeys().token('')));
      expect(records).toHaveLength(1);
    } finally {
      await h.close();
    }
  });
});
