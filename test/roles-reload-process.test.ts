import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DEV_ROLE } from '../src/cli/dev.js';
import { recordAuthSecrets } from './helpers/audit.js';
import { startAuthgateServer, waitFor, type AuthgateServer } from './helpers/authgate-process.js';
import { startProcessFixture, type ProcessFixture } from './helpers/process-fixture.js';

/*
 * `authgate server` as operators run it: the roles of the auth mounts edited in authgate.yaml
 * take effect on SIGHUP, with the policies; a bad edit keeps what runs; a mount setting that
 * only a restart applies is logged and left as it runs; tokens already issued keep their
 * policies, and renew on the role as it is now.
 */

let fx: ProcessFixture;
let server: AuthgateServer;

type Roles = Record<string, Record<string, unknown>>;
const BASE: Roles = { nginx: DEV_ROLE };

/** Two mounts alike: `jwks`, and `east` (its own roles, or the same). */
const configWith = (roles: Roles, east: Record<string, unknown> = fx.jwksMount(roles)) => ({
  ...fx.base(),
  auth: { jwks: fx.jwksMount(roles), east },
});

const call = async (method: string, path: string, token?: string, body?: unknown) => {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: token === undefined ? {} : { 'x-vault-token': token },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const json = (await res.json().catch(() => ({}))) as Record<string, unknown> & { errors?: string[] };
  recordAuthSecrets(json);
  return { status: res.status, json };
};

const login = async (role: string, opts: { mount?: string; audience?: string } = {}) =>
  call('POST', `/v1/auth/${opts.mount ?? 'jwks'}/login`, undefined, {
    role,
    jwt: await fx.podToken(opts.audience),
  });

const auth = (json: Record<string, unknown>) =>
  json['auth'] as { client_token: string; policies: string[]; lease_duration: number };

/** Writes `config` and sends SIGHUP; resolves once the log has one more `event`. */
const reloadWith = async (config: object, event = 'config.reloaded') => {
  writeFileSync(join(fx.dir, 'roles.yaml'), JSON.stringify(config));
  const marker = `"event":"${event}"`;
  const before = server.output().split(marker).length;
  server.child.kill('SIGHUP');
  await waitFor(() => server.output().split(marker).length > before, 10_000, event);
  // The log line of this reload (the last one of its kind).
  return (
    server
      .output()
      .split('\n')
      .filter((l) => l.includes(marker))
      .at(-1) ?? ''
  );
};

beforeAll(async () => {
  fx = await startProcessFixture('roles-reload');
  server = await startAuthgateServer(fx.dir, 'roles', configWith(BASE));
});

beforeEach(async () => {
  await reloadWith(configWith(BASE));
});

afterAll(async () => {
  await server?.stop();
  await fx?.close();
});

describe('roles of a running authgate server', () => {
  it("takes a role added on SIGHUP, refuses a removed one with Vault's 400, and reads back the new set", async () => {
    expect((await login('web')).json.errors).toEqual(['invalid role name "web"']);

    await reloadWith(configWith({ web: DEV_ROLE }));
    expect(server.output()).toMatch(
      /"event":"config\.roles_reloaded","mount":"jwks","roles":1,"added":\["web"\],"removed":\["nginx"\],"changed":\[\]/,
    );
    expect((await login('web')).status).toBe(200);
    const gone = await login('nginx');
    expect(gone.status).toBe(400);
    expect(gone.json.errors).toEqual(['invalid role name "nginx"']);

    expect((await call('GET', '/v1/auth/jwks/role?list=true', fx.admin)).json['data']).toEqual({
      keys: ['web'],
    });
    expect((await call('GET', '/v1/auth/jwks/role/web', fx.admin)).status).toBe(200);
    expect((await call('GET', '/v1/auth/jwks/role/nginx', fx.admin)).status).toBe(404);
  });

  it("applies a role's changed bindings, audience, TTL and bound CIDRs to the next login", async () => {
    await reloadWith(configWith({ nginx: { ...DEV_ROLE, bound_service_account_namespaces: ['other'] } }));
    expect(await login('nginx')).toMatchObject({
      status: 403,
      json: { errors: ['namespace not authorized'] },
    });

    await reloadWith(configWith({ nginx: { ...DEV_ROLE, audience: 'api' } }));
    expect((await login('nginx')).status).toBe(403);
    expect((await login('nginx', { audience: 'api' })).status).toBe(200);

    await reloadWith(configWith({ nginx: { ...DEV_ROLE, token_ttl: '2h' } }));
    expect(auth((await login('nginx')).json).lease_duration).toBe(7200);

    // The bound CIDRs a login was checked against before must not answer for the new role.
    await reloadWith(configWith({ nginx: { ...DEV_ROLE, token_bound_cidrs: ['127.0.0.0/8'] } }));
    expect((await login('nginx')).status).toBe(200);
    await reloadWith(configWith({ nginx: { ...DEV_ROLE, token_bound_cidrs: ['10.0.0.0/8'] } }));
    expect((await login('nginx')).status).toBe(403);
  });

  it('keeps the running roles and policies after a bad edit, says why, and stays up', async () => {
    const noAudience: Record<string, unknown> = { ...DEV_ROLE };
    delete noAudience['audience'];
    const line = await reloadWith(
      { ...configWith({ nginx: DEV_ROLE, web: noAudience }), policies: { fresh: { path: {} } } },
      'config.reload_failed',
    );
    expect(line).toMatch(/auth\.jwks\.roles\.web\.audience: is required/);
    expect(server.child.exitCode).toBeNull();
    expect((await login('nginx')).status).toBe(200);
    expect((await login('web')).json.errors).toEqual(['invalid role name "web"']);
    expect((await call('GET', '/v1/sys/policy/fresh', fx.admin)).status).toBe(404);
  });

  it('logs a changed mount setting or a new mount as needing a restart, and applies the roles of the other mounts only', async () => {
    const roles = { nginx: DEV_ROLE, web: DEV_ROLE };
    const config = configWith(roles, fx.jwksMount(roles, { leeway: '30s' }));
    await reloadWith({ ...config, auth: { ...config.auth, added: fx.jwksMount(roles) } });
    expect(server.output()).toMatch(
      /"event":"config\.restart_required","mount":"east","change":"changed","keys":\["leeway"\]/,
    );
    expect(server.output()).toMatch(/"event":"config\.restart_required","mount":"added","change":"added"/);
    expect((await login('web')).status).toBe(200);
    expect((await login('web', { mount: 'east' })).json.errors).toEqual(['invalid role name "web"']);
    // Not served until a restart: a path nothing serves, refused (no token) as Vault refuses it.
    expect((await login('web', { mount: 'added' })).status).toBe(403);
  });

  it('logs the other sections a reload does not apply, by name, and none when they did not change', async () => {
    const quiet = await reloadWith(configWith({ web: DEV_ROLE }));
    expect(quiet).toMatch(/"sectionsNotApplied":\[\]/);
    const before = server.output().split('"sections":').length;
    const line = await reloadWith({
      ...configWith({ nginx: DEV_ROLE }),
      log: { level: 'debug' },
      store: { type: 'memory', key_prefix: 'other:' },
      admin_token_file: join(fx.dir, 'server.key'),
    });
    expect(line).toMatch(/"sectionsNotApplied":\["log","store","admin_token_file"\]/);
    expect(server.output().split('"sections":').length).toBe(before + 1);
    expect(server.output()).toMatch(
      /"event":"config\.restart_required","sections":\["log","store","admin_token_file"\],"detail":"not applied: restart authgate to apply"/,
    );
    // The roles were applied all the same; the admin token is still the one it started with.
    expect((await login('nginx')).status).toBe(200);
    expect((await call('GET', '/v1/auth/jwks/role?list=true', fx.admin)).status).toBe(200);
  });

  it("renews a token on its role as it is now: its policies kept when the role's changed, refused once the role is gone", async () => {
    const issued = auth((await login('nginx')).json);
    expect(issued.policies).toEqual(['default', 'nginx']);

    await reloadWith(configWith({ nginx: { ...DEV_ROLE, token_policies: ['other'], token_ttl: '2h' } }));
    const renewed = await call('POST', '/v1/auth/token/renew-self', issued.client_token, {});
    expect(renewed.status).toBe(200);
    // As Vault's kubernetes plugin: no policy comparison at renewal; the TTL is the role's now.
    expect(auth(renewed.json).policies).toEqual(['default', 'nginx']);
    expect(auth(renewed.json).lease_duration).toBe(7200);
    expect(auth((await login('nginx')).json).policies).toEqual(['default', 'other']);

    await reloadWith(configWith({ web: DEV_ROLE }));
    const refused = await call('POST', '/v1/auth/token/renew-self', issued.client_token, {});
    expect(refused).toMatchObject({
      status: 400,
      json: { errors: ['role nginx does not exist during renewal'] },
    });
  });
});
