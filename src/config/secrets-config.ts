import { TTL_BOUNDS, durationSeconds, type DurationBounds } from './durations.js';
import { readServerKey } from './files.js';
import { nestedMounts } from './mount-config.js';
import { hasSpaceOrControl, isLoopbackHost } from './urls.js';
import type { ConfigDocument } from './schema.js';
import type {
  IdentityConfig,
  IdentityKeyConfig,
  IdentityRoleConfig,
  KvMountConfig,
  PolicySourcesConfig,
  Problem,
  SecretsConfig,
} from './types.js';
import { trimTrailingSlashes } from '../lib/trim-slashes.js';

/** Defaults of secrets engines and identity tokens (Vault's where Vault has one). */
export const SECRETS_DEFAULTS = {
  kvMount: 'secret',
  issuer: 'http://127.0.0.1:8200',
  keyAlgorithm: 'ES256',
  rotationPeriodSeconds: 86_400,
  verificationTtlSeconds: 86_400,
  tokenTtlSeconds: 86_400,
} as const;

/** Rotation and verification windows: at least a minute, at most a year. */
const KEY_WINDOW_BOUNDS: DurationBounds = {
  minSeconds: 60,
  maxSeconds: 365 * 86_400,
  why: 'between 60s and 1 year',
};
const TOKEN_TTL_BOUNDS: DurationBounds = {
  minSeconds: 1,
  maxSeconds: TTL_BOUNDS.maxSeconds,
  why: 'at least 1s',
};

type FileResolver = (p: string | undefined) => string | undefined;

/** Normalizes `policies` and `policy_dir`: the documents stay unparsed for `src/policy`. */
export const normalizePolicySources = (doc: ConfigDocument, file: FileResolver): PolicySourcesConfig => ({
  inline: (doc.policies ?? {}) as Record<string, unknown>,
  dir: file(doc.policy_dir),
});

/** Normalizes `secrets`: the key file read now (≥ 32 bytes), KV mounts with Vault's defaults. */
export const normalizeSecrets = (
  doc: ConfigDocument['secrets'],
  problem: Problem,
  file: FileResolver,
): SecretsConfig => {
  const seconds = durationSeconds(problem);
  const keyFile = file(doc?.encryption_key_file);
  // Read as the server key is (trimmed), so that a trailing newline an editor adds is not key material.
  const encryptionKey =
    keyFile === undefined ? undefined : readServerKey(keyFile, 'secrets.encryption_key_file', problem);
  const previousEncryptionKeys = previousKeyFiles(doc, file).flatMap(([at, f]) => {
    const key = readServerKey(f, at, problem);
    return key === undefined ? [] : [key];
  });
  const kv = new Map<string, KvMountConfig>();
  const mounts = doc?.kv ?? { [SECRETS_DEFAULTS.kvMount]: {} };
  for (const [path, m] of Object.entries(mounts)) {
    if (
      path === 'auth' ||
      path === 'sys' ||
      path === 'identity' ||
      path.startsWith('auth/') ||
      path.startsWith('sys/') ||
      path.startsWith('identity/')
    ) {
      problem(`secrets.kv.${path}`, 'auth/, sys/ and identity/ are reserved paths');
    }
    kv.set(path, {
      path,
      maxVersions: m.max_versions ?? 0,
      casRequired: m.cas_required ?? false,
      deleteVersionAfterSeconds: seconds(
        m.delete_version_after,
        `secrets.kv.${path}.delete_version_after`,
        0,
      ),
    });
  }
  for (const [inner, outer] of nestedMounts(kv.keys()))
    problem(`secrets.kv.${inner}`, `is inside the mount ${outer}`);
  return { encryptionKey, previousEncryptionKeys, kv };
};

/** `secrets.previous_encryption_key_files`, each resolved, with the path a problem is reported at. */
export const previousKeyFiles = (
  doc: ConfigDocument['secrets'],
  file: FileResolver,
): Array<[at: string, file: string]> =>
  (doc?.previous_encryption_key_files ?? []).flatMap((f, i) => {
    const resolved = file(f);
    return resolved === undefined ? [] : [[`secrets.previous_encryption_key_files.${i}`, resolved]];
  });

/** Normalizes `identity`: the issuer URL checked, a `default` ES256 key always present, roles' keys resolved. */
export const normalizeIdentity = (
  doc: ConfigDocument['identity'],
  problem: Problem,
  warnings: string[],
): IdentityConfig => {
  const seconds = durationSeconds(problem);
  const issuer = trimTrailingSlashes(doc?.issuer ?? SECRETS_DEFAULTS.issuer);
  if (doc?.issuer !== undefined) checkIssuer(issuer, problem, warnings);
  const keys = new Map<string, IdentityKeyConfig>();
  const keyDocs: NonNullable<NonNullable<ConfigDocument['identity']>['keys']> = {
    default: {},
    ...(doc?.keys ?? {}),
  };
  for (const [name, k] of Object.entries(keyDocs)) {
    const at = `identity.keys.${name}`;
    const rotationPeriodSeconds = seconds(
      k.rotation_period,
      `${at}.rotation_period`,
      SECRETS_DEFAULTS.rotationPeriodSeconds,
      KEY_WINDOW_BOUNDS,
    );
    const verificationTtlSeconds = seconds(
      k.verification_ttl,
      `${at}.verification_ttl`,
      SECRETS_DEFAULTS.verificationTtlSeconds,
      KEY_WINDOW_BOUNDS,
    );
    // As Vault (identity_store_oidc.go, pathOIDCCreateUpdateKey): a ring keeps each retired key for
    // verification_ttl, so this bounds the published set to about ten retired keys per ring.
    if (verificationTtlSeconds > 10 * rotationPeriodSeconds) {
      problem(
        `${at}.verification_ttl`,
        `cannot be longer than 10x rotation_period (${10 * rotationPeriodSeconds}s)`,
      );
    }
    keys.set(name, {
      name,
      algorithm: k.algorithm ?? SECRETS_DEFAULTS.keyAlgorithm,
      rotationPeriodSeconds,
      verificationTtlSeconds,
    });
  }
  const roles = new Map<string, IdentityRoleConfig>();
  for (const [name, r] of Object.entries(doc?.roles ?? {})) {
    const at = `identity.roles.${name}`;
    const key = r.key ?? 'default';
    const keyConfig = keys.get(key);
    if (keyConfig === undefined) problem(`${at}.key`, `names no key in identity.keys: "${key}"`);
    const ttlSeconds = seconds(r.ttl, `${at}.ttl`, SECRETS_DEFAULTS.tokenTtlSeconds, TOKEN_TTL_BOUNDS);
    // As Vault: a token must never outlive the window in which its key stays published.
    if (keyConfig !== undefined && ttlSeconds > keyConfig.verificationTtlSeconds) {
      problem(
        `${at}.ttl`,
        `exceeds the verification_ttl of key "${key}" (${keyConfig.verificationTtlSeconds}s)`,
      );
    }
    roles.set(name, { name, key, audience: r.audience, ttlSeconds });
  }
  return { issuer, keys, roles };
};

/**
 * The issuer is a name, not a URL authgate fetches; but downstream services fetch the keys from
 * `<issuer>/v1/identity/oidc/.well-known/keys`, so plain HTTP off the machine is worth a warning.
 */
const checkIssuer = (issuer: string, problem: Problem, warnings: string[]): void => {
  if (hasSpaceOrControl(issuer)) {
    problem('identity.issuer', 'expected an http(s) URL without spaces or control characters');
    return;
  }
  let url: URL;
  try {
    url = new URL(issuer);
  } catch {
    problem('identity.issuer', 'expected an http(s) URL');
    return;
  }
  if (
    (url.protocol !== 'https:' && url.protocol !== 'http:') ||
    url.hostname === '' ||
    url.search !== '' ||
    url.hash !== ''
  ) {
    problem('identity.issuer', 'expected an http(s) URL without query or fragment');
    return;
  }
  if (url.protocol === 'http:' && !isLoopbackHost(url.hostname)) {
    warnings.push(
      `identity.issuer: plain HTTP (${url.host}): services that fetch the signing keys from it can be fed others`,
    );
  }
};
