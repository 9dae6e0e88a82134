import { ConfigError, parseConfig } from './load.js';
import type { AuthgateConfig, KubernetesMountConfig } from './types.js';

/** A valid role as a document: bound to `test/nginx`, audience `vault`. */
export const roleDoc = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
  bound_service_account_names: ['nginx'],
  bound_service_account_namespaces: ['test'],
  audience: 'vault',
  ...over,
});

/** A valid tokenreview mount as a document, with one role `nginx`. */
export const mountDoc = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
  type: 'kubernetes',
  kubernetes_host: 'https://10.0.0.1:6443',
  verification: 'tokenreview',
  token_reviewer_jwt_file: '/var/run/secrets/token',
  roles: { nginx: roleDoc() },
  ...over,
});

/** A valid config document with the mount `kubernetes`. */
export const configDoc = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
  auth: { kubernetes: mountDoc() },
  ...over,
});

/** Parses a document (an object, written as JSON, which is YAML) with no environment overrides. */
export const parseDoc = (doc: Record<string, unknown> | string, baseDir?: string): AuthgateConfig =>
  parseConfig(typeof doc === 'string' ? doc : JSON.stringify(doc), {
    env: {},
    ...(baseDir === undefined ? {} : { baseDir }),
  });

/** The problems parsing reports (empty when the document is valid). Other errors are rethrown. */
export const problemsOf = (doc: Record<string, unknown> | string, baseDir?: string) => {
  try {
    parseDoc(doc, baseDir);
    return [];
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return err.problems;
  }
};

/**
 * A self-signed P-256 certificate (CN authgate-test-a, valid to 2126), for tests only. Made with
 * `openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 36500 -subj /CN=authgate-test-a`.
 */
export const TEST_CERT = `-----BEGIN CERTIFICATE-----
MIIBizCCATGgAwIBAgIUanBhRA+EJuVLoK/Qihz0pG/ynB0wCgYIKoZIzj0EAwIw
GjEYMBYGA1UEAwwPYXV0aGdhdGUtdGVzdC1hMCAXDTI2MTEyOTAwMjYyMFoYDzIx
MjYxMTA1MDAyNjIwWjAaMRgwFgYDVQQDDA9hdXRoZ2F0ZS10ZXN0LWEwWTATBgcq
hkjOPQIBBggqhkjOPQMBBwNCAAQQip7bAU8zyA7dMr2PGzN5YWoN3w8LW/y4848x
m/Il4zGH0Ze+LvYMS82LLMmxqO+II3BWF+9mNtzDRu+tLERDo1MwUTAdBgNVHQ4E
FgQUEcChs5p642GeWVn15cq/0wJ//RkwHwYDVR0jBBgwFoAUEcChs5p642GeWVn1
5cq/0wJ//RkwDwYDVR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNIADBFAiBU8rLj
WpqjLaY7as8BEt2eP01cOU5E0O3yXWGvmFlP/QIhAKIZJdfXRs0V+rDkMwrG6e1l
jNMY40+8fD3Q8BUrRfnT
-----END CERTIFICATE-----
`;
/** The private key of {@link TEST_CERT}, for tests only. */
export const TEST_KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg6f0sGK6b0DnaVs2a
lbsJJMzkBLeXPmkBFhxyJc9sKxmhRANCAAQQip7bAU8zyA7dMr2PGzN5YWoN3w8L
W/y4848xm/Il4zGH0Ze+LvYMS82LLMmxqO+II3BWF+9mNtzDRu+tLERD
-----END PRIVATE KEY-----
`;

/** The kubernetes mount at `path` of a parsed config (undefined when there is none, or it is of another type). */
export const kubernetesMount = (
  config: AuthgateConfig,
  path = 'kubernetes',
): KubernetesMountConfig | undefined => {
  const mount = config.mounts.get(path);
  return mount?.type === 'kubernetes' ? mount : undefined;
};
