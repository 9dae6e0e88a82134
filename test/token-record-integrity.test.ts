import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFakeClock } from '../src/lib/clock.js';
import { hmacB64 } from '../src/lib/hash.js';
import { createKeys } from '../src/store/index.js';
import { createLogger } from '../src/telemetry/logger.js';
import { ADMIN_TOKEN, NGINX_ROLE, startHarness } from './helpers/harness.js';
import { jsonLogLines } from './helpers/log-lines.js';
import {
  bad,
  data,
  denied,
  invalid,
  suiteStores,
  tokenCalls,
  type Auth,
  type StoreKind,
} from './helpers/token-stores.js';

/*
 * Whoever can write to the store cannot change what a client token grants: a record whose MAC
 * (under a key derived from the server key, bound to the key the record lives under) does not
 * hold is no token at all, as Vault answers for a token it does not find; so is a record moved
 * under another token's key, a record written without a MAC (before records were signed), an
 * accessor pointed at another token, and a use counter raised above what was granted.
 */

const dir = mkdtempSync(join(tmpdir(), 'authgate-token-integrity-'));
const keyFile = join(dir, 'kv.key');
writeFileSync(keyFile, randomBytes(32).toString('base64'));
const serverKey = randomBytes(32);
const keys = createKeys();
const storeOf = suiteStores();
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const roles = {
  app: { ...NGINX_ROLE, token_ttl: 600, token_policies: ['app'] },
  wide: { ...NGINX_ROLE, token_ttl: 600, token_policies: ['wide'] },
  uses: { ...NGINX_ROLE, token_ttl: 600, token_num_uses: 3, token_policies: ['app'] },
};
const config = {
  secrets: { encryption_key_file: keyFile },
  policies: {
    app: { path: { 'secret/data/app': { capabilities: ['read'] } } },
    wide: { path: { 'secret/data/*': { capabilities: ['read'] } } },
  },
};

const serve = async (kind: StoreKind) => {
  const clock = createFakeClock(Date.UTC(2026, 8, 1, 12, 0, 0, 250));
  const store = await storeOf(kind, clock);
  const logs = jsonLogLines();
  const h = await startHarness({
    clock,
    roles,
    config,
    store,
    serverKey,
    log: createLogger('info', logs.stream),
  });
  const recordKey = (token: string) => keys.token(hmacB64(serverKey, token));
  const accessorKey = (accessor: string) => keys.accessor(hmacB64(serverKey, accessor));
  /** Writes `value` under `key`, keeping the key's store TTL. */
  const put = async (key: string, value: string) => {
    const ttlMs = (await store.ttlMs(key)) ?? 600_000;
    await store.set(key, value, { ttlMs });
  };
  const raw = async (key: string) => {
    const value = await store.get(key);
    expect(value).toBeDefined();
    return value as string;
  };
  const tamperEvents = () => logs.lines.filter((l) => l['event'] === 'tokens.record_tampered');
  return { h, clock, store, ...tokenCalls(h), recordKey, accessorKey, put, raw, logs, tamperEvents };
};

const badToken = { status: 403, json: { errors: ['bad token'] } };

describe.each<StoreKind>(['memory', 'redis'])('client token records on the %s store', (kind) => {
  let s: Awaited<ReturnType<typeof serve>>;
  beforeAll(async () => {
    s = await serve(kind);
  });
  afterAll(async () => {
    await s?.h.close();
  });

  /** Every way the token is used or named answers as for a token that does not exist. */
  const expectNoToken = async (auth: Auth) => {
    const t = auth.client_token;
    expect(await s.call('GET', '/v1/auth/token/lookup-self', t)).toEqual(invalid);
    expect(await s.call('GET', '/v1/secret/data/other', t)).toEqual(invalid);
    expect(await s.call('GET', '/v1/secret/data/app', t)).toEqual(invalid);
    expect(await s.call('POST', '/v1/auth/token/renew-self', t, {})).toEqual(invalid);
    expect(await s.call('POST', '/v1/auth/token/lookup', ADMIN_TOKEN, { token: t })).toEqual(badToken);
    expect(await s.call('POST', '/v1/auth/token/renew', ADMIN_TOKEN, { token: t })).toEqual(
      bad('token not found'),
    );
    expect(
      await s.call('POST', '/v1/auth/token/lookup-accessor', ADMIN_TOKEN, { accessor: auth.accessor }),
    ).toEqual(bad('invalid accessor'));
    expect(
      await s.call('POST', '/v1/auth/token/renew-accessor', ADMIN_TOKEN, { accessor: auth.accessor }),
    ).toEqual(bad('token not found'));
  };

  it('issues, looks up, renews and revokes tokens as before, and a renewal keeps the record valid', async () => {
    const auth = await s.login('app');
    const t = auth.client_token;
    expect(data(await s.call('GET', '/v1/auth/token/lookup-self', t))['policies']).toEqual([
      'app',
      'default',
    ]);
    expect((await s.call('GET', '/v1/secret/data/app', t)).status).toBe(404);
    expect(await s.call('GET', '/v1/secret/data/other', t)).toEqual(denied);
    const before = await s.raw(s.recordKey(t));
    s.clock.advanceMs(60_000);
    expect((await s.call('POST', '/v1/auth/token/renew-self', t, { increment: '5m' })).status).toBe(200);
    expect(await s.raw(s.recordKey(t))).not.toBe(before);
    expect(data(await s.call('GET', '/v1/auth/token/lookup-self', t))['ttl']).toBe(300);
    expect((await s.call('POST', '/v1/auth/token/renew', ADMIN_TOKEN, { token: t })).status).toBe(200);
    expect(
      (await s.call('POST', '/v1/auth/token/renew-accessor', ADMIN_TOKEN, { accessor: auth.accessor }))
        .status,
    ).toBe(200);
    const looked = await s.call('POST', '/v1/auth/token/lookup-accessor', ADMIN_TOKEN, {
      accessor: auth.accessor,
    });
    expect(data(looked)['accessor']).toBe(auth.accessor);
    expect(data(await s.call('POST', '/v1/auth/token/lookup', ADMIN_TOKEN, { token: t }))['id']).toBe(t);
    const revoked = await s.call('POST', '/v1/auth/token/revoke-accessor', ADMIN_TOKEN, {
      accessor: auth.accessor,
    });
    expect(revoked.status).toBe(204);
    expect(await s.call('GET', '/v1/auth/token/lookup-self', t)).toEqual(invalid);
    expect(s.tamperEvents()).toEqual([]);
  });

  it('refuses a token whose record was given another policy, and logs it without the token', async () => {
    const auth = await s.login('app');
    const t = auth.client_token;
    const key = s.recordKey(t);
    const original = await s.raw(key);
    const record = JSON.parse(original) as { policies: string[] };
    record.policies.push('wide');
    await s.put(key, JSON.stringify(record));
    const seen = s.tamperEvents().length;
    await expectNoToken(auth);
    const events = s.tamperEvents().slice(seen);
    expect(events.length).toBeGreaterThan(0);
    for (const e of events) expect(e['level']).toBe(50);
    expect(events[0]?.['key']).toMatch(/^[0-9a-f]{12}$/);
    const logged = s.logs.raw.join('\n');
    expect(logged).not.toContain(t.slice(4));
    expect(logged).not.toContain(hmacB64(serverKey, t));
    expect(logged).not.toContain(auth.accessor);
    expect(logged).not.toContain('"wide"');
    // The same bytes put back: the token is valid again (nothing else was changed).
    await s.put(key, original);
    expect(data(await s.call('GET', '/v1/auth/token/lookup-self', t))['policies']).toEqual([
      'app',
      'default',
    ]);
    // Revoking it by itself or by accessor still deletes a tampered record.
    await s.put(key, JSON.stringify(record));
    expect((await s.call('POST', '/v1/auth/token/revoke', ADMIN_TOKEN, { token: t })).status).toBe(204);
    expect(await s.store.get(key)).toBeUndefined();
  });

  it('keeps a created token non-renewable and without identity: a record made otherwise is no token', async () => {
    const made = await s.call('POST', '/v1/auth/token/create', ADMIN_TOKEN, {
      policies: ['app'],
      renewable: false,
      meta: { service_account_namespace: 'test' },
    });
    const auth = made.json?.['auth'] as Auth;
    const key = s.recordKey(auth.client_token);
    const original = await s.raw(key);
    // The store keeps the field, and the answer reads it back.
    expect(JSON.parse(original)).toMatchObject({ renewable: false, mountPath: 'token' });
    expect(data(await s.call('GET', '/v1/auth/token/lookup-self', auth.client_token))['renewable']).toBe(
      false,
    );
    expect(await s.call('POST', '/v1/auth/token/renew', ADMIN_TOKEN, { token: auth.client_token })).toEqual(
      bad('lease is not renewable'),
    );
    // Made renewable, or given a login's mount (its meta would then be an identity): no token.
    for (const edit of [
      (r: Record<string, unknown>) => delete r['renewable'],
      (r: Record<string, unknown>) => (r['mountPath'] = 'jwks'),
    ]) {
      const record = JSON.parse(original) as Record<string, unknown>;
      edit(record);
      await s.put(key, JSON.stringify(record));
      await expectNoToken(auth);
    }
    await s.put(key, original);
    expect((await s.call('GET', '/v1/secret/data/app', auth.client_token)).status).toBe(404);
  });

  it('refuses a token whose record is a wider token’s record moved under its key', async () => {
    const mine = await s.login('app');
    const wider = await s.login('wide');
    await s.put(s.recordKey(mine.client_token), await s.raw(s.recordKey(wider.client_token)));
    await expectNoToken(mine);
    // The wider token itself is untouched.
    expect((await s.call('GET', '/v1/secret/data/other', wider.client_token)).status).toBe(404);
  });

  it('refuses a record written without a MAC (before records were signed)', async () => {
    const auth = await s.login('app');
    const key = s.recordKey(auth.client_token);
    const record = JSON.parse(await s.raw(key)) as Record<string, unknown>;
    delete record['mac'];
    await s.put(key, JSON.stringify(record));
    await expectNoToken(auth);
  });

  it('refuses an accessor pointed at another token: lookup, renew and revoke by it touch nothing', async () => {
    const mine = await s.login('app');
    const other = await s.login('wide');
    await s.put(s.accessorKey(mine.accessor), hmacB64(serverKey, other.client_token));
    const seen = s.tamperEvents().length;
    expect(
      await s.call('POST', '/v1/auth/token/lookup-accessor', ADMIN_TOKEN, { accessor: mine.accessor }),
    ).toEqual(bad('invalid accessor'));
    expect(
      await s.call('POST', '/v1/auth/token/renew-accessor', ADMIN_TOKEN, { accessor: mine.accessor }),
    ).toEqual(bad('invalid accessor'));
    const revoked = await s.call('POST', '/v1/auth/token/revoke-accessor', ADMIN_TOKEN, {
      accessor: mine.accessor,
    });
    expect(revoked.status).toBe(200);
    expect(revoked.json?.['warnings']).toEqual(['No token found with this accessor']);
    expect(s.tamperEvents().length).toBe(seen + 3);
    // The other token was neither revoked nor renewed.
    expect((await s.call('GET', '/v1/secret/data/other', other.client_token)).status).toBe(404);
    expect(data(await s.call('GET', '/v1/auth/token/lookup-self', other.client_token))['ttl']).toBe(600);
  });

  it('refuses a use-limited token whose use counter was raised above the uses granted', async () => {
    const auth = await s.login('uses');
    const t = auth.client_token;
    expect(data(await s.call('GET', '/v1/auth/token/lookup-self', t))['num_uses']).toBe(2);
    await s.put(keys.tokenUses(hmacB64(serverKey, t)), '100');
    expect(
      await s.call('POST', '/v1/auth/token/lookup-accessor', ADMIN_TOKEN, { accessor: auth.accessor }),
    ).toEqual(bad('invalid accessor'));
    expect(await s.call('GET', '/v1/auth/token/lookup-self', t)).toEqual(invalid);
    // Set back to what it may be, it counts down again.
    await s.put(keys.tokenUses(hmacB64(serverKey, t)), '2');
    expect(data(await s.call('GET', '/v1/auth/token/lookup-self', t))['num_uses']).toBe(1);
  });
});
