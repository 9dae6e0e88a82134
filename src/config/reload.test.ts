import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { applyRoleReload, planRoleReload, sectionsNeedingRestart } from './reload.js';
import { TEST_CERT, TEST_KEY, configDoc, mountDoc, parseDoc, roleDoc } from './test-support.js';

const mountsOf = (auth: Record<string, unknown>) => parseDoc(configDoc({ auth })).mounts;

describe('planRoleReload', () => {
  it('plans nothing when the file is unchanged', () => {
    const running = mountsOf({ kubernetes: mountDoc() });
    expect(planRoleReload(running, mountsOf({ kubernetes: mountDoc() }))).toEqual({
      roleSets: [],
      restartRequired: [],
    });
  });

  it('takes the new role set of a mount whose other settings are unchanged, naming what changed', () => {
    const running = mountsOf({
      kubernetes: mountDoc({ roles: { nginx: roleDoc(), old: roleDoc(), same: roleDoc() } }),
    });
    const next = mountsOf({
      kubernetes: mountDoc({
        roles: { NGINX: roleDoc({ audience: 'other' }), fresh: roleDoc(), same: roleDoc() },
      }),
    });
    const plan = planRoleReload(running, next);
    expect(plan.restartRequired).toEqual([]);
    expect(plan.roleSets).toEqual([
      {
        mount: 'kubernetes',
        roles: next.get('kubernetes')?.roles,
        added: ['fresh'],
        removed: ['old'],
        changed: ['nginx'],
      },
    ]);
  });

  it('keeps the roles of a mount whose other settings changed, and names the keys as authgate.yaml does', () => {
    const running = mountsOf({ kubernetes: mountDoc() });
    const next = mountsOf({
      kubernetes: mountDoc({
        kubernetes_host: 'https://10.0.0.2:6443',
        tokenreview: { cache_ttl: '5s' },
        max_lease_ttl: '48h',
        default_lease_ttl: '1h',
        roles: { nginx: roleDoc(), fresh: roleDoc() },
      }),
    });
    expect(planRoleReload(running, next)).toEqual({
      roleSets: [],
      restartRequired: [
        {
          mount: 'kubernetes',
          change: 'changed',
          keys: ['kubernetes_host', 'tokenreview', 'default_lease_ttl', 'max_lease_ttl'],
        },
      ],
    });
  });

  it('names a mount added or removed, and still takes the roles of the mounts that stay', () => {
    const running = mountsOf({ kubernetes: mountDoc(), gone: mountDoc() });
    const next = mountsOf({ kubernetes: mountDoc({ roles: { fresh: roleDoc() } }), added: mountDoc() });
    const plan = planRoleReload(running, next);
    expect(plan.restartRequired).toEqual([
      { mount: 'gone', change: 'removed' },
      { mount: 'added', change: 'added' },
    ]);
    expect(plan.roleSets.map((r) => [r.mount, r.added, r.removed])).toEqual([
      ['kubernetes', ['fresh'], ['nginx']],
    ]);
  });
});

describe('applyRoleReload', () => {
  it('replaces the role map of each planned mount whole, leaving a map already read as it was', () => {
    const running = mountsOf({ kubernetes: mountDoc(), other: mountDoc() });
    const next = mountsOf({ kubernetes: mountDoc({ roles: { fresh: roleDoc() } }), other: mountDoc() });
    const before = running.get('kubernetes')?.roles;
    const otherBefore = running.get('other')?.roles;
    applyRoleReload(running, planRoleReload(running, next));
    expect(running.get('kubernetes')?.roles).toBe(next.get('kubernetes')?.roles);
    expect([...(before?.keys() ?? [])]).toEqual(['nginx']);
    expect(running.get('other')?.roles).toBe(otherBefore);
  });
});

describe('sectionsNeedingRestart', () => {
  const dir = mkdtempSync(join(tmpdir(), 'authgate-reload-test-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  for (const name of ['a.crt', 'b.crt']) writeFileSync(join(dir, name), TEST_CERT);
  writeFileSync(join(dir, 'a.key'), TEST_KEY, { mode: 0o600 });
  const withTls = (cert: string) =>
    parseDoc(configDoc({ listener: { tls_cert_file: cert, tls_key_file: 'a.key' } }), dir);

  it('leaves out a new certificate at the same paths: the server follows the files itself', () => {
    const running = withTls('a.crt');
    const tls = running.listener.tls;
    if (tls === undefined) throw new Error('no TLS');
    const renewed = {
      ...running,
      listener: { ...running.listener, tls: { ...tls, cert: Buffer.from('B') } },
    };
    expect(sectionsNeedingRestart(running, renewed)).toEqual([]);
  });

  it('names the listener when a path of its certificate changed', () => {
    expect(sectionsNeedingRestart(withTls('a.crt'), withTls('b.crt'))).toEqual(['listener']);
  });

  const withRedis = (passwordFile: string, password: string) => {
    writeFileSync(join(dir, passwordFile), `${password}\n`, { mode: 0o600 });
    writeFileSync(join(dir, 'server.key'), 'k'.repeat(32), { mode: 0o600 });
    return parseDoc(
      configDoc({
        server_key_file: 'server.key',
        store: { type: 'redis', redis: { url: 'redis://r:6379', password_file: passwordFile } },
      }),
      dir,
    );
  };

  it('leaves out a rotated Redis password in the same file: the server follows the file itself', () => {
    const running = withRedis('redis-password', 'first-pass');
    expect(sectionsNeedingRestart(running, withRedis('redis-password', 'second-pass'))).toEqual([]);
  });

  it('names the store when the path of its password file changed', () => {
    const running = withRedis('redis-password', 'same-pass');
    expect(sectionsNeedingRestart(running, withRedis('other-password', 'same-pass'))).toEqual(['store']);
  });
});

describe('planRoleReload of jwt mounts', () => {
  const jwt = (roles: Record<string, unknown>, over: Record<string, unknown> = {}) => ({
    type: 'jwt',
    oidc_discovery_url: 'https://issuer.example',
    roles,
    ...over,
  });
  const ci = { user_claim: 'sub', bound_audiences: ['vault'] };

  it('takes the new roles of a jwt mount whose other settings are unchanged', () => {
    const running = mountsOf({ jwt: jwt({ ci }) });
    const next = mountsOf({ jwt: jwt({ ci: { ...ci, bound_subject: 'x' }, cd: ci }) });
    const plan = planRoleReload(running, next);
    expect(plan).toEqual({
      roleSets: [
        { mount: 'jwt', roles: next.get('jwt')?.roles, added: ['cd'], removed: [], changed: ['ci'] },
      ],
      restartRequired: [],
    });
    applyRoleReload(running, plan);
    expect(running.get('jwt')?.roles.get('ci')).toMatchObject({ boundSubject: 'x' });
  });

  it('names the settings a restart would change, and a mount whose type changed', () => {
    const running = mountsOf({ jwt: jwt({ ci }), kubernetes: mountDoc() });
    const next = mountsOf({
      jwt: jwt(
        { ci },
        { oidc_discovery_url: undefined, jwks_url: 'https://issuer.example/keys', bound_issuer: 'i' },
      ),
      kubernetes: jwt({ ci }),
    });
    expect(planRoleReload(running, next).restartRequired).toEqual([
      {
        mount: 'jwt',
        change: 'changed',
        keys: ['oidc_discovery_url / jwks_url / jwt_validation_pubkeys', 'bound_issuer'],
      },
      { mount: 'kubernetes', change: 'changed', keys: ['type'] },
    ]);
  });
});
