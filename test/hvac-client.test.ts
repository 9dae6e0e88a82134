import { createHash, randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEV_POLICIES } from '../src/cli/dev.js';
import { recordSecrets } from './helpers/audit.js';
import { runHvacScript, type HvacRun } from './helpers/hvac.js';
import { ADMIN_TOKEN, startHarness, type Harness } from './helpers/harness.js';
import { RFC3339, UUID, version } from './helpers/kv-suite.js';
import { INVALID_TOKEN_MESSAGE } from '../src/errors.js';

/*
 * The real Python client hvac, unchanged, against authgate listening on a real port: Debian's
 * python3-hvac (0.11.2, which .ci/run installs) run by Debian's interpreter. The harness's pod
 * test/nginx logs in to role `nginx` with the dev policies (`authgate dev`'s): it reads and lists
 * its own namespace's secrets and signs identity tokens for role `nginx`, and may write nothing;
 * the admin token looks up, renews and revokes a second login's token by naming it.
 * test/helpers/hvac_client.py does the calls and prints what hvac returned; secrets reach it by
 * environment only.
 */

const ISSUER = 'https://authgate.hvac.test';
const IDENTITY = { issuer: ISSUER, roles: { nginx: { audience: 'hvac-downstream', ttl: '15m' } } };

let h: Harness;
let url: string;
beforeAll(async () => {
  h = await startHarness({ config: { policies: DEV_POLICIES, identity: IDENTITY } });
  await h.server.app.listen({ host: '127.0.0.1', port: 0 });
  url = `http://127.0.0.1:${(h.server.app.server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await h?.close();
});

const runHvac = (env: Record<string, string>): Promise<HvacRun> =>
  runHvacScript('hvac_client.py', h.dir, env);

const sha256 = (value: string): string => `sha256:${createHash('sha256').update(value).digest('hex')}`;
const METADATA = {
  role: 'nginx',
  service_account_name: 'nginx',
  service_account_namespace: 'test',
  service_account_secret_name: '',
  service_account_uid: expect.stringMatching(UUID),
  pod_name: 'nginx',
  pod_uid: expect.stringMatching(UUID),
};
const POLICIES = ['default', 'nginx'];
const refusal = (exception: string, errors: string[]) => ({ exception, errors });
const DENIED = refusal('Forbidden', ['permission denied']);
const INVALID = refusal('Forbidden', [INVALID_TOKEN_MESSAGE]);

describe('hvac 0.11.2 (Python) against authgate', () => {
  const values = { v1: '', v2: '' };
  let env: Record<string, string>;
  beforeAll(async () => {
    values.v1 = `kvsecret-hvac-v1-${randomBytes(8).toString('hex')}`;
    values.v2 = `kvsecret-hvac-v2-${randomBytes(8).toString('hex')}`;
    recordSecrets(values.v1, values.v2);
    env = {
      AUTHGATE_URL: url,
      AUTHGATE_ADMIN_TOKEN: ADMIN_TOKEN,
      POD_JWT: await h.podToken(),
      LOGIN_MOUNT: 'kubernetes',
      LOGIN_ROLE: 'nginx',
      SECRET_V1: values.v1,
      SECRET_V2: values.v2,
      KV_DIR: `test/${randomBytes(4).toString('hex')}`,
      OTHER_DIR: 'prod/hvac',
      IDENTITY_ROLE: 'nginx',
    };
  });

  it('logs in, looks up, renews, reads, lists, signs, reads the mounts and role, is refused and revokes as against Vault, its own token and another', async () => {
    const run = await runHvac(env);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const summary = JSON.parse(run.stdout) as Record<string, unknown>;
    for (const value of Object.values(values)) expect(run.stdout).not.toContain(value);

    expect(summary['login']).toEqual({
      policies: POLICIES,
      token_policies: POLICIES,
      metadata: METADATA,
      lease_duration: 3600,
      renewable: true,
      token_type: 'service',
      orphan: true,
      mfa_requirement: null,
      num_uses: 0,
    });
    expect(summary['is_authenticated']).toBe(true);
    expect([summary['is_initialized'], summary['is_sealed']]).toEqual([true, false]);
    expect(summary['lookup_self']).toEqual({
      creation_time: expect.any(Number),
      creation_ttl: 3600,
      display_name: 'kubernetes-test-nginx',
      expire_time: expect.stringMatching(RFC3339),
      explicit_max_ttl: 0,
      issue_time: expect.stringMatching(RFC3339),
      meta: METADATA,
      num_uses: 0,
      orphan: true,
      path: 'auth/kubernetes/login',
      policies: POLICIES,
      renewable: true,
      ttl: expect.any(Number),
      type: 'service',
    });
    expect(summary['renew_self']).toBe(7200);
    expect(summary['renew_token']).toBe(3600);

    expect(summary['kv']).toEqual({
      written: [version(1), version(2)],
      read: { data: { password: sha256(values.v2) }, metadata: version(2) },
      read_version_1: { data: { password: sha256(values.v1) }, metadata: version(1) },
      // hvac sends Vault's LIST method, or GET ?list=true with strict_http.
      list: ['db', 'nested/'],
      list_strict_http: ['db', 'nested/'],
      // Vault's 404 for a secret that never was: `{"errors":[]}`, which hvac raises as InvalidPath.
      missing: refusal('InvalidPath', []),
    });

    // The identity token names the pod and service account the login's metadata named.
    const { metadata } = summary['login'] as { metadata: typeof METADATA };
    const identity = summary['identity'] as { claims: { iat: number; exp: number } };
    expect(identity).toEqual({
      client_id: 'hvac-downstream',
      ttl: 900,
      claims: {
        iss: `${ISSUER}/v1/identity/oidc`,
        aud: 'hvac-downstream',
        sub: 'system:serviceaccount:test:nginx',
        iat: expect.any(Number),
        exp: expect.any(Number),
        'kubernetes.io': {
          namespace: 'test',
          pod: { name: 'nginx', uid: metadata.pod_uid },
          serviceaccount: { name: 'nginx', uid: metadata.service_account_uid },
        },
      },
    });
    expect(identity.claims.exp - identity.claims.iat).toBe(900);
    expect(summary['introspect']).toEqual({
      signed: { active: true },
      client_id: { active: true },
      other_client_id: { active: false, error: 'invalid client-id' },
      pod_jwt: { active: false, error: 'unable to validate the token signature' },
    });
    expect(summary['mounts']).toEqual({
      secrets_engines: {
        'identity/': ['identity', null],
        'secret/': ['kv', { version: '2' }],
        'sys/': ['system', null],
      },
      engines_at_top_level: true,
      kv_version: '2',
      tune: {
        description: 'key/value secret storage',
        default_lease_ttl: 2764800,
        max_lease_ttl: 2764800,
        force_no_cache: false,
        options: { version: '2' },
      },
      role: {
        bound_service_account_names: ['nginx'],
        bound_service_account_namespaces: ['test'],
        bound_service_account_namespace_selector: '',
        audience: 'vault',
        alias_name_source: 'serviceaccount_uid',
        token_bound_cidrs: [],
        token_explicit_max_ttl: 0,
        token_max_ttl: 86400,
        token_no_default_policy: false,
        token_num_uses: 0,
        token_period: 0,
        token_policies: ['nginx'],
        token_ttl: 3600,
        token_type: 'default',
      },
      roles: { keys: ['nginx'] },
      config: {
        kubernetes_host: h.cluster.url.replace(/\/+$/, ''),
        kubernetes_ca_cert: '',
        pem_keys: [],
        issuer: h.cluster.issuer,
        disable_iss_validation: false,
        disable_local_ca_jwt: true,
        token_reviewer_jwt_set: true,
        use_annotations_as_alias_metadata: false,
      },
      // Vault's 404 for a role that is not there: `{"errors":[]}`, InvalidPath to hvac.
      missing_role: refusal('InvalidPath', []),
      create_role: refusal('InvalidRequest', [
        'the roles of auth/kubernetes/ are read from authgate.yaml (auth.kubernetes.roles): change it there and restart authgate',
      ]),
      workload_read_role: DENIED,
      audit_devices: { 'test/': ['file', ['file_path', 'hmac_accessor']] },
      enable_audit: refusal('InvalidRequest', [
        'audit devices are read from authgate.yaml (audit): change it there and restart authgate',
      ]),
    });
    expect(summary['refused']).toEqual({ read_other_namespace: DENIED, write_own_namespace: DENIED });
    expect(summary['token_ops']).toEqual({
      lookup: { names_it: true, display_name: 'kubernetes-test-nginx', policies: POLICIES },
      renew: { names_it: true, lease_duration: 7200 },
      renew_accessor: { client_token: '', lease_duration: 5400 },
      lookup_token: true,
      renew_token: 3600,
      admin_token_unchanged: true,
      refused_to_workload: DENIED,
      revoke: 204,
      after_revoke: {
        lookup: refusal('Forbidden', ['bad token']),
        renew: refusal('InvalidRequest', ['token not found']),
        revoke_token: true,
      },
    });
    expect(summary['revoke_self']).toBe(204);
    expect(summary['after_revoke']).toEqual({ lookup_self: INVALID, is_authenticated: false });
  });

  it('fails, naming hvac’s exception, when the login goes to a mount that does not exist', async () => {
    const run = await runHvac({ ...env, KV_DIR: 'test/other-run', LOGIN_MOUNT: 'no-such-mount' });
    expect(run.code).not.toBe(0);
    expect(run.stdout).toBe('');
    // As Vault (hashicorp/vault#13162): no login path there, so the token check comes first: 403.
    expect(run.stderr).toContain('hvac.exceptions.Forbidden');
    expect(run.stderr).not.toContain(env['POD_JWT']);
  });
});
