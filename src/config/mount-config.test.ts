import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';
import { describe, expect, it } from 'vitest';
import {
  configDoc,
  kubernetesMount,
  mountDoc,
  parseDoc,
  problemsOf,
  roleDoc,
  TEST_CERT,
} from './test-support.js';

const withPolicies = (policies: string[]) =>
  configDoc({ auth: { kubernetes: mountDoc({ roles: { nginx: roleDoc({ token_policies: policies }) } }) } });

describe('token_policies', () => {
  it.each([[['dev']], [['root-ca', 'uproot']], [['default', 'ops']], [[]]])('accepts %j', (policies) => {
    expect(problemsOf(withPolicies(policies))).toEqual([]);
    expect(kubernetesMount(parseDoc(withPolicies(policies)))?.roles.get('nginx')?.tokenPolicies).toEqual(
      policies,
    );
  });

  it.each([[['root']], [['dev', 'root']], [['Root']], [[' ROOT ']]])(
    'refuses %j: an auth method never issues a root token',
    (policies) => {
      expect(problemsOf(withPolicies(policies))).toEqual([
        expect.objectContaining({
          path: 'auth.kubernetes.roles.nginx.token_policies',
          message: 'auth methods cannot create root tokens',
        }),
      ]);
    },
  );
});

describe("the cluster's CA", () => {
  const garbage = '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n';
  const withCa = (over: Record<string, unknown>) => configDoc({ auth: { kubernetes: mountDoc(over) } });

  it('is parsed as a certificate, not taken for one by its PEM header', () => {
    expect(problemsOf(withCa({ kubernetes_ca_cert: garbage })).map((p) => p.path)).toEqual([
      'auth.kubernetes.kubernetes_ca_cert',
    ]);
    expect(problemsOf(withCa({ kubernetes_ca_cert: TEST_CERT }))).toEqual([]);
  });

  it('is reported at kubernetes_ca_cert_file, with the file, when it came from one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'authgate-ca-'));
    try {
      writeFileSync(join(dir, 'ca.pem'), garbage);
      const problems = problemsOf(withCa({ kubernetes_ca_cert_file: 'ca.pem' }), dir);
      expect(problems).toHaveLength(1);
      expect(problems[0]?.path).toBe('auth.kubernetes.kubernetes_ca_cert_file');
      expect(problems[0]?.message).toContain('ca.pem');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the CA a jwks mount fetches its keys under', () => {
  const jwksMountDoc = (over: Record<string, unknown>) =>
    configDoc({
      auth: {
        kubernetes: mountDoc({
          verification: 'jwks',
          token_reviewer_jwt_file: undefined,
          jwks: { oidc_discovery_url: 'https://oidc.example.com/id/1' },
          issuers: ['https://oidc.example.com/id/1'],
          ...over,
        }),
      },
    });
  const caOf = (doc: Record<string, unknown>, baseDir?: string) =>
    kubernetesMount(parseDoc(doc, baseDir))?.jwks?.caCert;

  it('is the system roots when no CA is set', () => {
    expect(caOf(jwksMountDoc({}))).toBeUndefined();
  });

  it("is the cluster's CA and the public roots when only kubernetes_ca_cert is set", () => {
    // An issuer on a public host (EKS, GKE) next to the cluster's own CA: either must do.
    const ca = caOf(jwksMountDoc({ kubernetes_ca_cert: TEST_CERT }));
    expect(ca?.startsWith(TEST_CERT.trimEnd())).toBe(true);
    expect(ca).toContain(rootCertificates[0]);
    expect(ca).toContain(rootCertificates.at(-1));
  });

  it('is jwks.ca_cert_file alone when it is set', () => {
    const dir = mkdtempSync(join(tmpdir(), 'authgate-jwks-ca-'));
    try {
      writeFileSync(join(dir, 'keys-ca.pem'), TEST_CERT);
      const doc = jwksMountDoc({
        kubernetes_ca_cert: TEST_CERT,
        jwks: { oidc_discovery_url: 'https://oidc.example.com/id/1', ca_cert_file: 'keys-ca.pem' },
      });
      expect(caOf(doc, dir)).toBe(TEST_CERT);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('jwks on a tokenreview mount (the signature prefilter)', () => {
  const ISSUER = 'https://oidc.example.com/id/1';
  const prefilterDoc = (jwks: Record<string, unknown>, over: Record<string, unknown> = {}) =>
    configDoc({ auth: { kubernetes: mountDoc({ issuers: [ISSUER], jwks, ...over }) } });

  it.each([
    [{ file: '/etc/authgate/jwks.json' }, { kind: 'file', path: '/etc/authgate/jwks.json' }],
    [
      { url: 'https://10.0.0.1:6443/openid/v1/jwks' },
      { kind: 'url', url: 'https://10.0.0.1:6443/openid/v1/jwks' },
    ],
    [{ oidc_discovery_url: ISSUER }, { kind: 'oidc-discovery', url: ISSUER }],
  ])('accepts %j, with the jwks defaults', (jwks, source) => {
    const doc = prefilterDoc(jwks);
    expect(problemsOf(doc)).toEqual([]);
    const mount = kubernetesMount(parseDoc(doc));
    expect(mount?.verification).toBe('tokenreview');
    expect(mount?.jwks).toMatchObject({ source, cooldownMs: 30_000, maxAgeMs: 600_000, timeoutMs: 5000 });
  });

  it('leaves a tokenreview mount without jwks with no key source', () => {
    expect(kubernetesMount(parseDoc(configDoc()))?.jwks).toBeUndefined();
  });

  it.each([
    [{}, 'auth.kubernetes.jwks', 'exactly one of file, url or oidc_discovery_url must be set'],
    [
      { file: '/etc/jwks.json', url: 'https://10.0.0.1:6443/openid/v1/jwks' },
      'auth.kubernetes.jwks',
      'exactly one of file, url or oidc_discovery_url must be set',
    ],
    [{ url: 'http://10.0.0.1/openid/v1/jwks' }, 'auth.kubernetes.jwks.url', expect.stringContaining('http')],
  ])('refuses the jwks block %j', (jwks, path, message) => {
    expect(problemsOf(prefilterDoc(jwks))).toEqual([expect.objectContaining({ path, message })]);
  });

  it('refuses jwks without issuers: the key set would shed the valid tokens of every other issuer', () => {
    expect(problemsOf(prefilterDoc({ oidc_discovery_url: ISSUER }, { issuers: [] }))).toEqual([
      expect.objectContaining({
        path: 'auth.kubernetes.issuers',
        message:
          'at least one issuer is required when jwks is set (the key set is trusted for these issuers only)',
      }),
    ]);
  });
});
