import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { configDoc, TEST_CERT, TEST_KEY } from '../../src/config/test-support.js';

/*
 * The valid authgate.yaml documents test/config-fuzz.test.ts starts from (test/helpers/fuzz-config.ts
 * mutates them), and the files they name.
 */

/** Secrets the files hold: no message may quote one. */
export const FILE_SECRETS = {
  serverKey: 'server-key-0123456789-abcdefghijklmnopqrstuvwxyz',
  adminToken: 'agadmin.fuzz-admin-token-0123456789',
  encryptionKey: 'encryption-key-0123456789-abcdefghijklmnopqrstuv',
  reviewerToken: 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJyZXZpZXdlciJ9.c2lnbmF0dXJl',
  redisPassword: 'redis-password-0123456789',
} as const;

/** The body of the TLS private key: it must never be quoted either. */
export const KEY_BODY = TEST_KEY.split('\n')[1] ?? '';

/** Writes every file the base documents name under `dir` (relative names in the documents). */
export const writeConfigFiles = (dir: string): void => {
  const files: Record<string, string> = {
    'server.key': FILE_SECRETS.serverKey,
    'admin-token': `${FILE_SECRETS.adminToken}\n`,
    'encryption.key': FILE_SECRETS.encryptionKey,
    'reviewer-token': FILE_SECRETS.reviewerToken,
    'redis-password': FILE_SECRETS.redisPassword,
    'tls.crt': TEST_CERT,
    'tls.key': TEST_KEY,
    'ca.crt': TEST_CERT,
    'jwks.json': JSON.stringify({ keys: [] }),
  };
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text, { mode: 0o600 });
  mkdirSync(join(dir, 'policies'), { recursive: true });
  writeFileSync(join(dir, 'policies', 'readers.hcl'), 'path "secret/data/*" { capabilities = ["read"] }\n');
};

/** The names of the files {@link writeConfigFiles} writes, and others a file field may be pointed at. */
export const FILE_NAMES = [
  ...['server.key', 'admin-token', 'encryption.key', 'reviewer-token', 'redis-password'],
  ...['tls.crt', 'tls.key', 'ca.crt', 'jwks.json', 'policies', 'missing', '/dev/null', '.', ''],
];

const ROLE = {
  bound_service_account_names: ['nginx', 'web-*'],
  bound_service_account_namespaces: ['test'],
  audience: 'vault',
  alias_name_source: 'serviceaccount_name',
  token_policies: ['readers', 'inline'],
  token_ttl: '1h',
  token_max_ttl: 86400,
  token_explicit_max_ttl: '48h',
  token_period: '30m',
  token_num_uses: 10,
  token_bound_cidrs: ['10.0.0.0/8', 'fd00::/8'],
  token_no_default_policy: false,
  token_type: 'default',
};

/** Every section and field, with the files of {@link writeConfigFiles}. */
const FULL = {
  listener: {
    address: '127.0.0.1',
    port: 8200,
    tls_cert_file: 'tls.crt',
    tls_key_file: 'tls.key',
    max_request_bytes: 65536,
    request_timeout: '30s',
    trusted_proxies: ['127.0.0.0/8'],
  },
  log: { level: 'info' },
  telemetry: { metrics: true },
  store: { type: 'memory', key_prefix: 'ag:' },
  server_key_file: 'server.key',
  admin_token_file: 'admin-token',
  policies: {
    inline: {
      name: 'inline',
      path: { 'secret/data/{{identity.namespace}}/*': { capabilities: ['read', 'list'], comment: 'own' } },
    },
  },
  policy_dir: 'policies',
  secrets: {
    encryption_key_file: 'encryption.key',
    kv: {
      secret: {},
      'team/payments': { max_versions: 5, cas_required: true, delete_version_after: '720h' },
    },
  },
  identity: {
    issuer: 'https://authgate.example.com',
    keys: { default: { algorithm: 'ES256', rotation_period: '24h', verification_ttl: '24h' } },
    roles: { payments: { key: 'default', audience: 'payments-api', ttl: '1h' } },
  },
  audit: {
    file: { type: 'file', path: 'audit.log', hmac_accessor: true, prefix: 'AUDIT ', timeout: '2s' },
    out: { type: 'stdout', timeout: 5 },
    stream: { type: 'redis', max_len: 1000 },
  },
  auth: {
    kubernetes: {
      type: 'kubernetes',
      description: 'the cluster',
      kubernetes_host: 'https://10.0.0.1:6443',
      kubernetes_ca_cert_file: 'ca.crt',
      token_reviewer_jwt_file: 'reviewer-token',
      verification: 'tokenreview',
      issuers: ['https://kubernetes.default.svc.cluster.local'],
      allowed_algorithms: ['RS256', 'ES256'],
      leeway: '60s',
      default_lease_ttl: '768h',
      max_lease_ttl: '768h',
      tokenreview: {
        cache_ttl: '60s',
        cache_max_entries: 1000,
        max_concurrent: 32,
        max_queue: 100,
        timeout: '5s',
      },
      roles: { nginx: ROLE, 'web.frontend': { ...ROLE, token_period: 0 } },
    },
    'team/k8s-jwks': {
      type: 'kubernetes',
      kubernetes_host: 'http://127.0.0.1:6443',
      verification: 'jwks',
      jwks: { file: 'jwks.json', ca_cert_file: 'ca.crt', cooldown: '30s', max_age: '10m', timeout: '5s' },
      issuers: ['https://issuer.example.com'],
      allow_insecure_http: false,
      roles: { nginx: { ...ROLE, allow_missing_audience: true } },
    },
  },
};

/** The Redis store with every field of its own. */
const REDIS = {
  ...configDoc(),
  server_key_file: 'server.key',
  store: {
    type: 'redis',
    key_prefix: 'ag:fuzz:',
    redis: {
      url: 'rediss://redis.example.com:6380/0',
      username: 'authgate',
      password_file: 'redis-password',
      tls: { ca_file: 'ca.crt', cert_file: 'tls.crt', key_file: 'tls.key' },
      command_timeout: '1s',
      connect_timeout: 2,
    },
  },
};

const SENTINELS = {
  ...configDoc(),
  server_key_file: 'server.key',
  store: {
    type: 'redis',
    redis: { sentinels: [{ host: 'sentinel-0', port: 26379 }], sentinel_name: 'mymaster' },
  },
};

/**
 * The documents a run starts from: valid with the files of {@link writeConfigFiles} (deploy's
 * base names files under /etc that are not there, so it is refused for those alone).
 */
export const BASE_DOCS: ReadonlyArray<{ name: string; doc: Record<string, unknown> }> = [
  { name: 'minimal (test-support)', doc: configDoc() },
  { name: 'every field', doc: FULL },
  { name: 'redis store', doc: REDIS },
  { name: 'redis sentinels', doc: SENTINELS },
  {
    name: 'deploy/base',
    doc: parse(
      readFileSync(join(import.meta.dirname, '..', '..', 'deploy', 'base', 'authgate.yaml'), 'utf8'),
    ) as Record<string, unknown>,
  },
];
