import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFakeClock } from '../src/lib/clock.js';
import { readEntries, recordAuthSecrets } from './helpers/audit.js';
import { ADMIN_TOKEN, NGINX_ROLE, startHarness, type Harness } from './helpers/harness.js';
import {
  bad,
  data,
  denied,
  suiteStores,
  tokenCalls,
  type Answer,
  type StoreKind,
} from './helpers/token-stores.js';

/*
 * Vault's auth/token/create and create-orphan (vault/token_store.go handleCreateCommon), for the
 * admin token, Vault's root: the fields authgate supports, the ones it refuses, and a created
 * token used everywhere a login's token is (lookup, renewal, revocation, accessors, the ACL,
 * audit), on the memory store and on a real redis-server. Any other caller is refused: 403
 * without the ACL's grant, 400 with it (authgate has no child tokens).
 */

const POLICIES = {
  app: { path: { 'auth/token/lookup-accessor': { capabilities: ['update'] } } },
  // What a child token needs in Vault: `update` on the create paths.
  creator: {
    path: {
      'auth/token/create': { capabilities: ['update'] },
      'auth/token/create-orphan': { capabilities: ['update', 'sudo'] },
    },
  },
  'ns-kv': { path: { 'secret/data/{{identity.namespace}}/*': { capabilities: ['read'] } } },
  idt: { path: { 'identity/oidc/token/web': { capabilities: ['read'] } } },
};
const dir = mkdtempSync(join(tmpdir(), 'authgate-token-create-'));
const keyFile = join(dir, 'kv.key');
writeFileSync(keyFile, randomBytes(32).toString('base64'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const CONFIG = {
  policies: POLICIES,
  secrets: { encryption_key_file: keyFile },
  identity: {
    issuer: 'https://authgate.example.test',
    keys: { default: { rotation_period: '1h', verification_ttl: '2h' } },
    roles: { web: { audience: 'web-service', ttl: '30m' } },
  },
};
const ROLES = {
  nginx: NGINX_ROLE,
  creator: { ...NGINX_ROLE, token_policies: ['creator'] },
  kv: { ...NGINX_ROLE, token_policies: ['ns-kv', 'idt'] },
};
const START_MS = Date.UTC(2026, 8, 1, 12, 0, 0);
const H768 = 768 * 3600;

/** A request made with `token`; the tokens of its answer are recorded for the audit scan. */
const callWith =
  (h: () => Harness) =>
  async (method: 'GET' | 'POST', url: string, token: string, body?: unknown): Promise<Answer> => {
    const answer = await tokenCalls(h()).call(method, url, token, body);
    recordAuthSecrets(answer.json);
    return answer;
  };

type Auth = Record<string, unknown> & { client_token: string; accessor: string };
const authOf = (a: Answer): Auth => a.json?.['auth'] as Auth;

describe('auth/token/create with the admin token', () => {
  const clock = createFakeClock(START_MS);
  let h: Harness;
  const call = callWith(() => h);
  const create = (body: unknown, path = 'create') =>
    call('POST', `/v1/auth/token/${path}`, ADMIN_TOKEN, body);
  beforeAll(async () => {
    h = await startHarness({ clock, roles: ROLES, config: CONFIG });
  });
  afterAll(async () => {
    await h?.close();
  });

  it("answers Vault's auth block, with Vault's defaults", async () => {
    const res = await create({ policies: ['app'] });
    expect(res.status).toBe(200);
    const auth = authOf(res);
    expect(auth.client_token).toMatch(/^ags\./);
    expect(auth.accessor).toMatch(/^[\w-]{24}$/);
    expect(auth).toStrictEqual({
      client_token: auth.client_token,
      accessor: auth.accessor,
      policies: ['app', 'default'],
      token_policies: ['app', 'default'],
      metadata: null,
      lease_duration: H768,
      renewable: true,
      entity_id: '',
      token_type: 'service',
      orphan: true,
      mfa_requirement: null,
      num_uses: 0,
    });
    expect(res.json?.['data']).toBeNull();
    expect(res.json?.['warnings']).toBeNull();
  });

  it("reads metadata values as Go's WeakDecode does: numbers and bools as text, null as empty", async () => {
    const res = await create({
      policies: ['app'],
      meta: { n: 7, f: 1.5, yes: true, no: false, nothing: null, text: 'x' },
    });
    expect(res.status).toBe(200);
    expect(authOf(res).metadata).toStrictEqual({
      n: '7',
      f: '1.5',
      yes: '1',
      no: '0',
      nothing: '',
      text: 'x',
    });
  });

  it('takes every supported field, and lookup-self shows them as Vault does', async () => {
    const res = await create({
      policies: 'App',
      meta: { owner: 'ci' },
      renewable: false,
      ttl: '1h',
      explicit_max_ttl: 7200,
      display_name: 'CI job #7',
      num_uses: '5',
      no_parent: true,
      type: 'service',
    });
    expect(res.status).toBe(200);
    const auth = authOf(res);
    expect(auth).toMatchObject({
      policies: ['app', 'default'],
      metadata: { owner: 'ci' },
      lease_duration: 3600,
      renewable: false,
      num_uses: 5,
      orphan: true,
    });
    const look = await call('GET', '/v1/auth/token/lookup-self', auth.client_token);
    expect(look.status).toBe(200);
    expect(data(look)).toMatchObject({
      accessor: auth.accessor,
      path: 'auth/token/create',
      display_name: 'token-CI-job--7',
      meta: { owner: 'ci' },
      policies: ['app', 'default'],
      ttl: 3600,
      creation_ttl: 3600,
      num_uses: 4, // this lookup spent one
      orphan: true,
      explicit_max_ttl: 7200,
      renewable: false,
      entity_id: '',
      type: 'service',
    });
    expect(data(look)).not.toHaveProperty('period');
  });

  it('creates periodic tokens, and create-orphan names its own path', async () => {
    const res = await create({ policies: ['app'], period: '30m', display_name: 'x.' }, 'create-orphan');
    expect(res.status).toBe(200);
    expect(authOf(res).lease_duration).toBe(1800);
    const look = await call('GET', '/v1/auth/token/lookup-self', authOf(res).client_token);
    expect(data(look)).toMatchObject({
      path: 'auth/token/create-orphan',
      display_name: 'token-x',
      period: 1800,
      policies: ['app', 'default'],
      meta: null,
    });
  });

  it("sanitizes display_name as Vault: each other character (not each run) becomes a '-'", async () => {
    // Vault's displayNameSanitize is `[^a-zA-Z0-9-]`, replaced character by character (runes, not
    // bytes), then one trailing '-' trimmed.
    for (const [name, shown] of [
      ['CI job #7!!', 'token-CI-job--7-'],
      ['a..b', 'token-a--b'],
      ['ci \u{1F511}', 'token-ci-'],
      ['caf\u00e9', 'token-caf'],
    ]) {
      const made = authOf(await create({ policies: ['app'], display_name: name }));
      const look = await call('GET', '/v1/auth/token/lookup-self', made.client_token);
      expect(data(look)['display_name']).toBe(shown);
    }
  });

  it("takes Vault's older `lease` for the TTL when no `ttl` is given", async () => {
    // hvac's `create(lease=…)` sends it: ignoring it would give the token the mount's 768h.
    const leased = await create({ policies: ['app'], lease: '1h' });
    expect(leased.status).toBe(200);
    expect(authOf(leased).lease_duration).toBe(3600);
    const both = await create({ policies: ['app'], ttl: '2h', lease: '1h' });
    expect(authOf(both).lease_duration).toBe(7200);
    // `lease` is Go's time.ParseDuration: no bare seconds, no days.
    expect(await create({ policies: ['app'], lease: '3600' })).toStrictEqual(
      bad('time: missing unit in duration "3600"'),
    );
    expect(await create({ policies: ['app'], lease: '-1h' })).toStrictEqual(bad('lease must be positive'));
  });

  it('never drops a duration under a second: it lasts one second, not none', async () => {
    // Vault keeps 500ms as a duration; read as 0 seconds, a ttl would be the mount's 768h and an
    // explicit max TTL no cap at all.
    for (const body of [
      { ttl: '500ms' },
      { lease: '500ms' },
      { ttl: '1h', explicit_max_ttl: '0.5s' },
      { period: '1ms' },
    ]) {
      const made = await create({ policies: ['app'], ...body });
      expect(made.status).toBe(200);
      expect(authOf(made).lease_duration).toBe(1);
    }
  });

  it('never quotes back a token sent in a duration field', async () => {
    // The message reaches the audit log and whoever logs answers, as renew's increment (which
    // masks it too). Vault quotes it; a short or duration-like value still is.
    const secret = `ags.${'Tk9'.repeat(14)}x`;
    for (const field of ['ttl', 'explicit_max_ttl', 'period', 'lease']) {
      const res = await create({ policies: ['app'], [field]: secret });
      expect(res).toStrictEqual(bad('time: invalid duration "***"'));
    }
    expect(await create({ policies: ['app'], ttl: 'soon' })).toStrictEqual(
      bad('time: invalid duration "soon"'),
    );
  });

  it("caps the TTL at the token mount's max and says so", async () => {
    const res = await create({ policies: ['app'], ttl: '1000h' });
    expect(authOf(res).lease_duration).toBe(H768);
    expect(res.json?.['warnings']).toStrictEqual([
      'TTL of "1000h" exceeded the effective max_ttl of "768h"; TTL value is capped accordingly',
    ]);
  });

  it('warns about a policy that does not exist, as Vault', async () => {
    const res = await create({ policies: ['nope'], no_default_policy: true });
    expect(res.status).toBe(200);
    expect(res.json?.['warnings']).toStrictEqual(['Policy "nope" does not exist']);
  });

  it.each([
    ['a custom id', { policies: ['app'], id: 'my-token-id' }, 'custom token ids are not supported'],
    ['a token role', { policies: ['app'], role_name: 'r' }, 'token roles are not supported'],
    ['an entity alias', { policies: ['app'], entity_alias: 'a' }, 'entity aliases are not supported'],
    [
      'a batch token with an explicit max TTL',
      { policies: ['app'], type: 'batch', explicit_max_ttl: '1h' },
      'batch tokens cannot have "explicit_max_ttl" set',
    ],
    [
      'a batch token with a use limit',
      { policies: ['app'], type: 'batch', num_uses: 2 },
      'batch tokens cannot have "num_uses" set',
    ],
    [
      'a batch token with a period',
      { policies: ['app'], type: 'batch', period: '1h' },
      'batch tokens cannot have "period" set',
    ],
    [
      // Vault stops at explicit_max_ttl `0` and lets the use limit through; authgate does not.
      'a batch token with a zero explicit max TTL and a use limit',
      { policies: ['app'], type: 'batch', explicit_max_ttl: '0', num_uses: 2 },
      'batch tokens cannot have "num_uses" set',
    ],
    [
      'a batch token with a period that does not parse',
      { policies: ['app'], type: 'batch', period: 'soon' },
      '"period" value could not be parsed',
    ],
    ['an unknown type', { policies: ['app'], type: 'other' }, "invalid 'token_type' value"],
    ['the root policy', { policies: ['app', 'root'] }, 'root tokens are not supported'],
    ['no policy (root would be inherited)', {}, 'root tokens are not supported'],
    [
      'a policy Vault keeps to itself',
      { policies: ['response-wrapping'] },
      'cannot assign policy "response-wrapping"',
    ],
    ['negative uses', { policies: ['app'], num_uses: -1 }, 'number of uses cannot be negative'],
    ['a negative ttl', { policies: ['app'], ttl: '-1h' }, 'ttl must be positive'],
    ['a negative period', { policies: ['app'], period: -5 }, 'period must be positive'],
    ['a bad ttl', { policies: ['app'], ttl: 'soon' }, 'time: invalid duration "soon"'],
    [
      'nested metadata',
      { policies: ['app'], meta: { n: { deep: 'x' } } },
      "'meta' expected a map of strings",
    ],
    ['a list in metadata', { policies: ['app'], meta: { n: ['x'] } }, "'meta' expected a map of strings"],
    // A number is a policy's name as its text, as Vault's WeakDecode reads it; a map is no name.
    ['a policy that is a map', { policies: [{ name: 'app' }] }, "'policies' expected a list of strings"],
    ['a non-bool renewable', { policies: ['app'], renewable: 'maybe' }, "'renewable' expected a bool"],
  ])('refuses %s with 400', async (_what, body, message) => {
    const res = await create(body);
    expect(res.status).toBe(400);
    const errors = res.json?.['errors'] as string[];
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain(message);
  });

  it('creates a batch token: not stored, not renewable, no accessor; it looks itself up and creates nothing', async () => {
    const res = await create({ policies: ['creator'], type: 'batch', renewable: true, ttl: '10m' });
    expect(res.status).toBe(200);
    const auth = authOf(res);
    expect(auth).toMatchObject({
      client_token: expect.stringMatching(/^agb\./),
      accessor: '',
      token_type: 'batch',
      renewable: false,
      lease_duration: 600,
      orphan: true,
      policies: ['creator', 'default'],
    });
    const looked = data(await call('GET', '/v1/auth/token/lookup-self', auth.client_token));
    expect(looked).toMatchObject({ type: 'batch', path: 'auth/token/create', accessor: '', ttl: 600 });
    expect(await call('POST', '/v1/auth/token/renew-self', auth.client_token, {})).toStrictEqual(
      bad('batch tokens cannot be renewed'),
    );
    // Vault's first check of a creating token: even with `update` on the path.
    for (const path of ['create', 'create-orphan']) {
      expect(
        await call('POST', `/v1/auth/token/${path}`, auth.client_token, { policies: ['creator'] }),
      ).toStrictEqual(bad('batch tokens cannot create more tokens'));
    }
  });

  it("refuses Vault's role path, auth/token/create/<role>", async () => {
    const res = await create({ policies: ['app'] }, 'create/ci');
    expect(res).toStrictEqual(bad('token roles are not supported: create the token without a role'));
  });

  it('refuses a caller without the grant (403) and one with it (400: no child tokens)', async () => {
    const plain = authOf(await h.login('jwks', { role: 'nginx', jwt: await h.podToken() }));
    const creator = authOf(await h.login('jwks', { role: 'creator', jwt: await h.podToken() }));
    const madeCreator = authOf(await create({ policies: ['creator'] }));
    for (const path of ['create', 'create-orphan']) {
      const refused = await call('POST', `/v1/auth/token/${path}`, plain.client_token, { policies: ['app'] });
      expect(refused).toStrictEqual(denied);
      for (const token of [creator.client_token, madeCreator.client_token]) {
        const child = await call('POST', `/v1/auth/token/${path}`, token, { policies: ['creator'] });
        expect(child).toStrictEqual(
          bad('child tokens are not supported: only the admin token creates tokens'),
        );
      }
    }
  });

  it('never matches a templated policy with the metadata its creator wrote', async () => {
    // The same namespace a login of test/nginx verifies: the login's token may read, the created one not.
    const login = authOf(await h.login('jwks', { role: 'kv', jwt: await h.podToken() }));
    const made = authOf(await create({ policies: ['ns-kv'], meta: { service_account_namespace: 'test' } }));
    const asLogin = await call('GET', '/v1/secret/data/test/x', login.client_token);
    expect(asLogin.status).toBe(404);
    const asMade = await call('GET', '/v1/secret/data/test/x', made.client_token);
    expect(asMade).toStrictEqual(denied);
  });

  it('signs no identity token for the identity its creator wrote', async () => {
    const login = authOf(await h.login('jwks', { role: 'kv', jwt: await h.podToken() }));
    expect((await call('GET', '/v1/identity/oidc/token/web', login.client_token)).status).toBe(200);
    const made = authOf(
      await create({
        policies: ['idt'],
        meta: {
          service_account_namespace: 'test',
          service_account_name: 'nginx',
          service_account_uid: 'any-uid',
          role: 'kv',
        },
      }),
    );
    const asMade = await call('GET', '/v1/identity/oidc/token/web', made.client_token);
    expect(asMade).toStrictEqual(bad("no entity associated with the request's token"));
  });

  it('gives the created token the ACL of its policies', async () => {
    const with_ = authOf(await create({ policies: ['app'] }));
    const without = authOf(await create({ policies: ['default'] }));
    const target = authOf(await create({ policies: ['default'] }));
    const ok = await call('POST', '/v1/auth/token/lookup-accessor', with_.client_token, {
      accessor: target.accessor,
    });
    expect(ok.status).toBe(200);
    expect(data(ok)).toMatchObject({ accessor: target.accessor, id: '', path: 'auth/token/create' });
    const no = await call('POST', '/v1/auth/token/lookup-accessor', without.client_token, {
      accessor: target.accessor,
    });
    expect(no.status).toBe(403);
  });

  it('audits the creation with the new token only as its HMAC', async () => {
    const before = readEntries(h.auditFile!).length;
    const res = await create({ policies: ['app'], display_name: 'audited' });
    const { client_token, accessor } = authOf(res);
    const entries = readEntries(h.auditFile!).slice(before);
    const text = JSON.stringify(entries);
    expect(text).not.toContain(client_token);
    expect(text).not.toContain(accessor);
    expect(text).not.toContain(ADMIN_TOKEN);
    const response = entries.find((e) => e.type === 'response') as unknown as {
      request: { path: string };
      response: { auth: Record<string, unknown> };
    };
    expect(response.request.path).toBe('auth/token/create');
    expect(response.response.auth).toMatchObject({
      client_token: expect.stringMatching(/^hmac-sha256:/),
      accessor: expect.stringMatching(/^hmac-sha256:/),
      display_name: 'token-audited',
      policies: ['app', 'default'],
    });
  });
});

describe.each<StoreKind>(['memory', 'redis'])('a created token on the %s store', (kind) => {
  const storeOf = suiteStores();
  const clock = createFakeClock(START_MS);
  let h: Harness;
  const call = callWith(() => h);
  const create = (body: unknown) => call('POST', '/v1/auth/token/create', ADMIN_TOKEN, body);
  beforeAll(async () => {
    h = await startHarness({
      clock,
      roles: ROLES,
      config: CONFIG,
      store: await storeOf(kind, clock),
    });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('renews by its own ttl, under its explicit max TTL', async () => {
    const { client_token } = authOf(await create({ policies: ['app'], ttl: '1h', explicit_max_ttl: '90m' }));
    clock.advanceSeconds(1800);
    const first = await call('POST', '/v1/auth/token/renew-self', client_token, {});
    expect(first.status).toBe(200);
    expect(authOf(first)).toMatchObject({ client_token, lease_duration: 3600, renewable: true });
    clock.advanceSeconds(1800);
    const capped = await call('POST', '/v1/auth/token/renew-self', client_token, {});
    expect(authOf(capped).lease_duration).toBe(1800);
    expect(capped.json?.['warnings']).toStrictEqual([
      'TTL of "1h" exceeded the effective max_ttl of "30m"; TTL value is capped accordingly',
    ]);
    clock.advanceSeconds(1800);
    expect((await call('GET', '/v1/auth/token/lookup-self', client_token)).status).toBe(403);
  });

  it('renews without an increment by the TTL granted last, as Vault’s lease keeps each renewal’s', async () => {
    const renew = async (token: string, body: Record<string, unknown>) =>
      authOf(await call('POST', '/v1/auth/token/renew-self', token, body)).lease_duration;
    const hourly = authOf(await create({ policies: ['app'], ttl: '1h' })).client_token;
    expect(await renew(hourly, { increment: '5h' })).toBe(18000);
    expect(await renew(hourly, {})).toBe(18000);
    // Shortened on purpose: a plain renewal does not hand the mount's 768 h back.
    const plain = authOf(await create({ policies: ['app'] }));
    expect(await renew(plain.client_token, { increment: 60 })).toBe(60);
    expect(await renew(plain.client_token, {})).toBe(60);
    const byAccessor = await call('POST', '/v1/auth/token/renew-accessor', ADMIN_TOKEN, {
      accessor: plain.accessor,
    });
    expect(authOf(byAccessor).lease_duration).toBe(60);
  });

  it('renews a periodic token to its period, and refuses a non-renewable one', async () => {
    const periodic = authOf(await create({ policies: ['app'], period: 600 }));
    clock.advanceSeconds(500);
    const renewed = await call('POST', '/v1/auth/token/renew-self', periodic.client_token, { increment: 5 });
    expect(authOf(renewed).lease_duration).toBe(600);
    const fixed = authOf(await create({ policies: ['app'], renewable: false }));
    const refused = await call('POST', '/v1/auth/token/renew-self', fixed.client_token, {});
    expect(refused).toStrictEqual(bad('lease is not renewable'));
    const byAdmin = await call('POST', '/v1/auth/token/renew-accessor', ADMIN_TOKEN, {
      accessor: fixed.accessor,
    });
    expect(byAdmin.status).toBe(400);
  });

  it('is listed, looked up and revoked by accessor, and revokes itself', async () => {
    const a = authOf(await create({ policies: ['app'] }));
    const b = authOf(await create({ policies: ['app'] }));
    const list = await call('GET', '/v1/auth/token/accessors?list=true', ADMIN_TOKEN);
    expect(data(list)['keys']).toEqual(expect.arrayContaining([a.accessor, b.accessor]));
    const look = await call('POST', '/v1/auth/token/lookup-accessor', ADMIN_TOKEN, { accessor: a.accessor });
    expect(data(look)).toMatchObject({ path: 'auth/token/create', display_name: 'token', orphan: true });
    expect(
      (await call('POST', '/v1/auth/token/revoke-accessor', ADMIN_TOKEN, { accessor: a.accessor })).status,
    ).toBe(204);
    expect((await call('GET', '/v1/auth/token/lookup-self', a.client_token)).status).toBe(403);
    expect((await call('POST', '/v1/auth/token/revoke-self', b.client_token)).status).toBe(204);
    expect((await call('GET', '/v1/auth/token/lookup-self', b.client_token)).status).toBe(403);
  });

  it('is used up after its uses', async () => {
    const { client_token } = authOf(await create({ policies: ['app'], num_uses: 2 }));
    expect(data(await call('GET', '/v1/auth/token/lookup-self', client_token))['num_uses']).toBe(1);
    expect((await call('GET', '/v1/auth/token/lookup-self', client_token)).status).toBe(200);
    expect((await call('GET', '/v1/auth/token/lookup-self', client_token)).status).toBe(403);
  });
});
