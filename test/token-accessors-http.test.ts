import { mkdtempSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { AuditEntry } from '../src/audit/index.js';
import { createFakeClock } from '../src/lib/clock.js';
import { createKeys } from '../src/store/index.js';
import { auditFile, readEntries } from './helpers/audit.js';
import { ADMIN_TOKEN, NGINX_ROLE, startHarness, type Harness } from './helpers/harness.js';
import { rawExchange } from './helpers/raw-http.js';
import { suiteStores, tokenCalls, type StoreKind } from './helpers/token-stores.js';

/*
 * `LIST /v1/auth/token/accessors` (`vault list auth/token/accessors`) through the HTTP API, on the
 * memory store and on a real redis-server, against Vault's token store (vault/token_store.go:
 * pattern `accessors/$`, list only, root-protected by PathsSpecial.Root `accessors*`) and its
 * answer to an empty list (sdk/logical RespondErrorCommon: 404). The accessors come from the
 * token records themselves: live, signed records only, never a token.
 */

const storeOf = suiteStores();
const ROLES = {
  nginx: { ...NGINX_ROLE, token_ttl: 600 },
  short: { ...NGINX_ROLE, token_ttl: 60 },
  lister: { ...NGINX_ROLE, token_policies: ['lister'] },
  'list-only': { ...NGINX_ROLE, token_policies: ['list-only'] },
  'sudo-only': { ...NGINX_ROLE, token_policies: ['sudo-only'] },
};
const POLICIES = {
  lister: { path: { 'auth/token/accessors': { capabilities: ['list', 'sudo'] } } },
  'list-only': { path: { 'auth/token/accessors': { capabilities: ['list'] } } },
  'sudo-only': { path: { 'auth/token/accessors': { capabilities: ['sudo'] } } },
};

const harnesses: Harness[] = [];
afterAll(async () => {
  await Promise.all(harnesses.map((h) => h.close()));
});

const serve = async (kind: StoreKind, audit?: Record<string, unknown>) => {
  const clock = createFakeClock(Date.UTC(2026, 8, 1, 12, 0, 0));
  const store = await storeOf(kind, clock);
  const h = await startHarness({
    clock,
    roles: ROLES,
    config: { policies: POLICIES },
    store,
    ...(audit === undefined ? {} : { audit }),
  });
  harnesses.push(h);
  const { call, login } = tokenCalls(h);
  const list = (token: string, url = '/v1/auth/token/accessors?list=true') => call('GET', url, token);
  /** Every token record of the store deleted, so that a test starts from none. */
  const clear = async () => {
    const prefix = createKeys().token('');
    const { keys } = await store.scanPrefix(prefix, { limit: 10_000 });
    if (keys.length > 0) await store.delete(...keys);
  };
  return { h, clock, store, call, login, list, clear };
};

describe.each<StoreKind>(['memory', 'redis'])('LIST auth/token/accessors on the %s store', (kind) => {
  // One gateway a store (its JWKS key set is shared through the store); each test starts from no token.
  let s: Awaited<ReturnType<typeof serve>>;
  beforeAll(async () => {
    s = await serve(kind);
  });
  beforeEach(async () => {
    await s.clear();
  });

  it('answers 404 with no message when no token is live, as Vault answers an empty list', async () => {
    expect(await s.list(ADMIN_TOKEN)).toEqual({ status: 404, json: { errors: [] } });
  });

  it('lists the accessors of the live tokens, sorted, and never a token', async () => {
    const [a, b] = [await s.login('nginx'), await s.login('nginx')];
    const answer = await s.list(ADMIN_TOKEN);
    expect(answer.status).toBe(200);
    expect(answer.json?.['data']).toEqual({ keys: [a.accessor, b.accessor].sort() });
    const text = JSON.stringify(answer.json);
    expect(text).not.toContain(a.client_token);
    expect(text).not.toContain(b.client_token);
    // The trailing slash Vault's own path has is the same list.
    expect((await s.list(ADMIN_TOKEN, '/v1/auth/token/accessors/?list=true')).json?.['data']).toEqual({
      keys: [a.accessor, b.accessor].sort(),
    });
  });

  it('leaves out revoked and expired tokens', async () => {
    const [kept, revoked, expiring] = [
      await s.login('nginx'),
      await s.login('nginx'),
      await s.login('short'),
    ];
    expect((await s.call('POST', '/v1/auth/token/revoke-self', revoked.client_token)).status).toBe(204);
    // Past the short token's expire_time on this replica's clock: its record may still be in the
    // store (Redis counts its TTL by its own clock), but the record's expiry is what counts.
    s.clock.advanceMs(61_000);
    expect((await s.list(ADMIN_TOKEN)).json?.['data']).toEqual({ keys: [kept.accessor] });
    expect(expiring.accessor).not.toBe(kept.accessor);
  });

  it('lists only records whose MAC holds: one written by someone else is left out', async () => {
    const real = await s.login('nginx');
    const [key] = (await s.store.scanPrefix(createKeys().token(''), { limit: 10 })).keys;
    const raw = (await s.store.get(key!))!;
    // A copy of a real record under another key (its MAC is bound to its key), and one whose
    // accessor was changed in place.
    await s.store.set(createKeys().token('forged'), raw.replace(real.accessor, 'forged-accessor-xxxxxxxx'));
    await s.store.set(createKeys().token('moved'), raw);
    const answer = await s.list(ADMIN_TOKEN);
    expect(answer.json?.['data']).toEqual({ keys: [real.accessor] });
  });

  it('needs list and sudo on the path, as Vault root-protects it; a read is 405', async () => {
    const [lister, listOnly, sudoOnly] = [
      await s.login('lister'),
      await s.login('list-only'),
      await s.login('sudo-only'),
    ];
    expect((await s.list(lister.client_token)).status).toBe(200);
    expect((await s.list(lister.client_token)).json?.['data']).toMatchObject({
      keys: expect.arrayContaining([lister.accessor, listOnly.accessor, sudoOnly.accessor]),
    });
    for (const t of [listOnly, sudoOnly])
      expect(await s.list(t.client_token)).toEqual({ status: 403, json: { errors: ['permission denied'] } });
    expect(await s.list('')).toMatchObject({ status: 403 });
    expect(await s.call('GET', '/v1/auth/token/accessors', ADMIN_TOKEN)).toEqual({
      status: 405,
      json: { errors: ['unsupported operation'] },
    });
  });
});

describe('LIST auth/token/accessors, the method itself and its audit', () => {
  it('answers the LIST method on a real listener as GET ?list=true', async () => {
    const s = await serve('memory');
    const token = await s.login('nginx');
    await s.h.server.app.listen({ host: '127.0.0.1', port: 0 });
    const port = (s.h.server.app.server.address() as AddressInfo).port;
    const answer = await rawExchange(port, [
      `LIST /v1/auth/token/accessors HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Vault-Token: ${ADMIN_TOKEN}\r\n\r\n`,
    ]);
    expect(answer.status).toBe(200);
    expect((JSON.parse(answer.body) as { data: unknown }).data).toEqual({ keys: [token.accessor] });
  });

  // Vault's audit HMACs every string of a response's data (audit/hashstructure.go hashResponse →
  // hashMap), the listed accessors too, whatever hmac_accessor says: that option only keeps the
  // accessor of the token that made the request (and of one a response issues) in clear.
  it.each([true, false])(
    'writes the listed accessors only as HMACs (hmac_accessor %s)',
    async (hmacAccessor) => {
      // With hmac_accessor off, the login's own accessor is written in clear, as asked: that file
      // stays out of the audit directory whose every line test/audit-secrets-scan checks.
      const file = hmacAccessor
        ? auditFile('accessors-hmac')
        : join(mkdtempSync(join(tmpdir(), 'authgate-clear-accessors-')), 'audit.log');
      const s = await serve('memory', { test: { type: 'file', path: file, hmac_accessor: hmacAccessor } });
      const token = await s.login('nginx');
      const before = readEntries(file).length;
      expect((await s.list(ADMIN_TOKEN)).status).toBe(200);
      const entries: AuditEntry[] = readEntries(file).slice(before);
      const response = entries.find((e) => e.type === 'response');
      const hmac = (
        await s.h.server.app.inject({
          method: 'POST',
          url: '/v1/sys/audit-hash/test',
          headers: { 'x-vault-token': ADMIN_TOKEN },
          payload: { input: token.accessor },
        })
      ).json<{ hash: string }>().hash;
      expect(response?.response?.data).toEqual({ keys: [hmac] });
      expect(JSON.stringify(entries)).not.toContain(token.accessor);
    },
  );
});
