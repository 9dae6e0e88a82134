import { describe, expect, it } from 'vitest';
import {
  configDoc,
  kubernetesMount,
  mountDoc,
  parseDoc,
  roleDoc,
  TEST_CERT,
} from '../config/test-support.js';
import { configReadData, roleReadData } from './mount-read.js';

const mountOf = (mount: Record<string, unknown>) => {
  const config = parseDoc(configDoc({ auth: { kubernetes: mountDoc(mount) } }));
  const m = kubernetesMount(config);
  if (m === undefined) throw new Error('no mount');
  return m;
};
const roleOf = (role: Record<string, unknown>) => {
  const r = mountOf({ roles: { Web: roleDoc(role) } }).roles.get('web');
  if (r === undefined) throw new Error('no role');
  return r;
};

describe('roleReadData', () => {
  it("answers a role with Vault's types and defaults: seconds, empty lists, token_type default", () => {
    expect(roleReadData(roleOf({}))).toEqual({
      bound_service_account_names: ['nginx'],
      bound_service_account_namespaces: ['test'],
      bound_service_account_namespace_selector: '',
      audience: 'vault',
      alias_name_source: 'serviceaccount_uid',
      token_bound_cidrs: [],
      token_explicit_max_ttl: 0,
      token_max_ttl: 0,
      token_no_default_policy: false,
      token_num_uses: 0,
      token_period: 0,
      token_policies: [],
      token_ttl: 0,
      token_type: 'default',
    });
  });

  it('answers every configured field, durations in whole seconds', () => {
    const data = roleReadData(
      roleOf({
        bound_service_account_names: ['web-*'],
        alias_name_source: 'serviceaccount_name',
        token_policies: ['web', 'Read-Only'],
        token_ttl: '1h',
        token_max_ttl: '1h30m',
        token_explicit_max_ttl: 7200,
        token_period: '90s',
        token_num_uses: 3,
        token_bound_cidrs: ['10.0.0.0/8', 'fd00::/8'],
        token_no_default_policy: true,
        token_type: 'service',
      }),
    );
    expect(data).toMatchObject({
      bound_service_account_names: ['web-*'],
      alias_name_source: 'serviceaccount_name',
      token_policies: ['web', 'Read-Only'],
      token_ttl: 3600,
      token_max_ttl: 5400,
      token_explicit_max_ttl: 7200,
      token_period: 90,
      token_num_uses: 3,
      token_bound_cidrs: ['10.0.0.0/8', 'fd00::/8'],
      token_no_default_policy: true,
      token_type: 'service',
    });
    // Vault echoes the deprecated names only for a role written with them; authgate.yaml has none.
    for (const old of ['policies', 'ttl', 'max_ttl', 'period', 'num_uses', 'bound_cidrs']) {
      expect(data).not.toHaveProperty(old);
    }
  });

  it('leaves audience out when the role has none, as Vault', () => {
    const data = roleReadData(roleOf({ audience: undefined, allow_missing_audience: true }));
    expect(data).not.toHaveProperty('audience');
  });
});

describe('configReadData', () => {
  it("maps a tokenreview mount onto Vault's eight keys, the reviewer token only as set or not", () => {
    const data = configReadData(
      mountOf({ kubernetes_ca_cert: TEST_CERT, issuers: ['https://kubernetes.default.svc'] }),
    );
    expect(data).toEqual({
      kubernetes_host: 'https://10.0.0.1:6443',
      kubernetes_ca_cert: TEST_CERT,
      pem_keys: [],
      issuer: 'https://kubernetes.default.svc',
      disable_iss_validation: false,
      disable_local_ca_jwt: true,
      token_reviewer_jwt_set: true,
      use_annotations_as_alias_metadata: false,
      authgate: {
        verification: 'tokenreview',
        issuers: ['https://kubernetes.default.svc'],
        allowed_algorithms: ['RS256', 'ES256'],
        leeway: 60,
        namespace_cache_ttl: 30,
        allow_insecure_http: false,
        jwks: null,
        tokenreview: {
          cache_ttl: 60,
          cache_max_entries: 100_000,
          max_concurrent: 32,
          max_queue: 1000,
          timeout: 5,
        },
      },
    });
    // The file's path is not answered either: only whether a reviewer token is configured.
    expect(JSON.stringify(data)).not.toContain('/var/run/secrets/token');
  });

  it('answers no issuer validation for a mount that accepts any issuer, and none set without a reviewer file', () => {
    const data = configReadData(mountOf({ token_reviewer_jwt_file: undefined }));
    expect(data).toMatchObject({
      issuer: '',
      disable_iss_validation: true,
      kubernetes_ca_cert: '',
      token_reviewer_jwt_set: false,
    });
  });

  it('names several issuers under authgate, leaving Vault’s single issuer empty', () => {
    const data = configReadData(mountOf({ issuers: ['https://a.example', 'https://b.example'] }));
    expect(data).toMatchObject({
      issuer: '',
      disable_iss_validation: false,
      authgate: { issuers: ['https://a.example', 'https://b.example'] },
    });
  });

  it('describes a jwks source without the password a URL may hold, and without a file path', () => {
    const url = configReadData(
      mountOf({
        verification: 'jwks',
        kubernetes_host: undefined,
        issuers: ['https://issuer.example'],
        jwks: { url: 'https://user:hunter2@keys.example/jwks.json', cooldown: '10s' },
      }),
    );
    expect(url).toMatchObject({
      kubernetes_host: '',
      authgate: {
        verification: 'jwks',
        tokenreview: null,
        jwks: {
          source: 'url',
          url: 'https://***@keys.example/jwks.json',
          ca_cert_set: false,
          cooldown: 10,
          max_age: 600,
          timeout: 5,
        },
      },
    });
    expect(JSON.stringify(url)).not.toContain('hunter2');
    const file = configReadData(
      mountOf({
        verification: 'jwks',
        issuers: ['https://issuer.example'],
        jwks: { file: '/etc/authgate/secret-dir/jwks.json' },
      }),
    );
    expect((file['authgate'] as { jwks: unknown }).jwks).toMatchObject({ source: 'file' });
    expect(JSON.stringify(file)).not.toContain('secret-dir');
  });
});
