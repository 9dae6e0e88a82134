import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { Ajv } from 'ajv';
import { invalidCidrs } from '../lib/cidr.js';
import { normalizeAudit } from './audit-config.js';
import {
  normalizeIdentity,
  normalizePolicySources,
  normalizeSecrets,
  previousKeyFiles,
} from './secrets-config.js';
import {
  LISTENER_TLS_FIELDS,
  readAdminToken,
  readCertAndKey,
  readServerKey,
  secretFileWarnings,
} from './files.js';
import { MOUNT_DEFAULTS, nestedMounts, normalizeMount } from './mount-config.js';
import { normalizeStore } from './store-config.js';
import { IDENTITY_KEY_ALGORITHMS, JWT_SIGNING_ALGORITHMS, SIGNING_ALGORITHMS } from './algorithms.js';
import { ConfigSchema, type ConfigDocument } from './schema.js';
import type { AuthgateConfig, AuthMountConfig } from './types.js';
import { normalizeJwtMount } from './jwt-mount-config.js';
import { printable } from '../lib/printable.js';
import { durationSeconds, RATE_INTERVAL_BOUNDS, TIMEOUT_BOUNDS } from './durations.js';
import { lineOfPath } from './yaml-lines.js';
import { readYaml } from './yaml-document.js';

/** One problem in a config, with its path in the document (`auth.kubernetes.roles.nginx.token_ttl`). */
export type ConfigProblem = { path: string; message: string; line?: number };

/** Thrown when a config has problems; `problems` lists every one, not just the first. */
export class ConfigError extends Error {
  constructor(
    readonly source: string,
    readonly problems: ConfigProblem[],
  ) {
    super(
      `invalid configuration in ${printable(source)}:\n` +
        problems
          .map(
            (p) =>
              `  - ${printable(p.path) || '(root)'}${p.line === undefined ? '' : ` (line ${p.line})`}: ${printable(p.message)}`,
          )
          .join('\n'),
    );
    this.name = 'ConfigError';
  }
}

/**
 * Defaults of the normalized config: `address` `127.0.0.1`, `port` 8200, `maxRequestBytes`
 * 1 MiB − 1, `requestTimeoutMs` 30 s, and a kubernetes mount's (`leewaySeconds` 60, `tokenReview`, `jwks`; see
 * `MOUNT_DEFAULTS`), in the units their names say.
 */
export const DEFAULTS = {
  address: '127.0.0.1',
  port: 8200,
  maxRequestBytes: 1024 * 1024 - 1,
  requestTimeoutMs: 30_000,
  ...MOUNT_DEFAULTS,
} as const;

type Env = Record<string, string | undefined>;

/**
 * Applies `AUTHGATE_*` environment overrides to a parsed document (before validation, so that a
 * bad override is reported like a bad file value). A section the file gives as something other
 * than a mapping is left as it is, for the schema to report. Returns the paths set from the
 * environment, each with its variable, so that a problem with one names the variable.
 */
const applyEnv = (doc: Record<string, unknown>, env: Env): Map<string, string> => {
  const from = new Map<string, string>();
  /** The mapping at `doc[name]`, created when absent; undefined when the file has another value there. */
  const section = (name: string): Record<string, unknown> | undefined => {
    doc[name] ??= {};
    const value = doc[name];
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  };
  const put = (target: Record<string, unknown> | undefined, path: string, key: string, variable: string) => {
    const value = env[variable];
    if (!value || target === undefined) return;
    target[key] = variable === 'AUTHGATE_PORT' && /^\d+$/.test(value) ? Number(value) : value;
    from.set(path, variable);
  };
  if (env['AUTHGATE_LISTEN_ADDRESS'] || env['AUTHGATE_PORT']) {
    const listener = section('listener');
    put(listener, 'listener.address', 'address', 'AUTHGATE_LISTEN_ADDRESS');
    put(listener, 'listener.port', 'port', 'AUTHGATE_PORT');
  }
  if (env['AUTHGATE_LOG_LEVEL']) put(section('log'), 'log.level', 'level', 'AUTHGATE_LOG_LEVEL');
  put(doc, 'admin_token_file', 'admin_token_file', 'AUTHGATE_ADMIN_TOKEN_FILE');
  put(doc, 'server_key_file', 'server_key_file', 'AUTHGATE_SERVER_KEY_FILE');
  const redisUrl = env['AUTHGATE_REDIS_URL'];
  const store = redisUrl ? section('store') : undefined;
  if (redisUrl && store !== undefined) {
    // The URL picks standalone Redis, whatever mode the file names.
    store['type'] = 'redis';
    const redis = store['redis'];
    const kept = { ...(typeof redis === 'object' && redis !== null && !Array.isArray(redis) ? redis : {}) };
    for (const mode of [
      'sentinels',
      'sentinel_name',
      'sentinel_username',
      'sentinel_password_file',
      'cluster_nodes',
    ])
      delete (kept as Record<string, unknown>)[mode];
    store['redis'] = { ...kept, url: redisUrl };
    from.set('store.redis.url', 'AUTHGATE_REDIS_URL');
  }
  return from;
};

// Ajv with allErrors reports every problem; TypeBox's own checker stops at the first per branch.
// verbose: a `propertyNames` error then carries its schema, whose description says the naming rule.
const validateDocument = new Ajv({
  allErrors: true,
  strict: false,
  verbose: true,
  discriminator: true,
}).compile(ConfigSchema);

/** The top-level sections the schema knows. */
const TOP_LEVEL_SECTIONS: Record<string, unknown> = ConfigSchema.properties;

const pointerToPath = (pointer: string): string =>
  pointer
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .join('.');

/**
 * Parses, validates and normalizes a config document. `baseDir` resolves relative file paths.
 * Throws {@link ConfigError} listing every problem.
 */
/** The largest configuration file read (a real one is a few KiB; policies may live in policy_dir). */
export const MAX_CONFIG_BYTES = 1024 * 1024;

export const parseConfig = (
  text: string,
  options: { source?: string; baseDir?: string; env?: Env } = {},
): AuthgateConfig => {
  const source = options.source ?? 'authgate.yaml';
  const baseDir = options.baseDir ?? process.cwd();
  // Checked before parsing: the YAML library's duplicate-key check is quadratic in a mapping's
  // size (40 000 keys took 19 s), and a reload parses on the event loop.
  if (Buffer.byteLength(text) > MAX_CONFIG_BYTES) {
    throw new ConfigError(source, [
      {
        path: '',
        message: `the file is larger than ${MAX_CONFIG_BYTES / 1024} KiB: is it the configuration?`,
      },
    ]);
  }
  const { value, doc: yamlDoc, lineCounter, problems: yamlProblems } = readYaml(text);
  if (yamlProblems.length > 0) throw new ConfigError(source, yamlProblems);
  const raw: unknown = value ?? {};
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ConfigError(source, [{ path: '', message: 'expected a mapping at the top level' }]);
  }
  const keys = Object.keys(raw);
  if (keys.length > 0 && !keys.some((k) => Object.hasOwn(TOP_LEVEL_SECTIONS, k))) {
    // Another kind of file (a key file, /etc/shadow, an env file) given by mistake: its keys are
    // its contents, and an error that listed them as unknown fields would print them to the log.
    throw new ConfigError(source, [
      {
        path: '',
        message: `not an authgate configuration: none of its ${keys.length} top-level keys is a section of authgate.yaml (${Object.keys(TOP_LEVEL_SECTIONS).join(', ')}); they are not repeated here`,
      },
    ]);
  }
  const fromEnv = applyEnv(raw as Record<string, unknown>, options.env ?? process.env);

  const problems: ConfigProblem[] = [];
  const problem = (path: string, message: string) => {
    // A value the environment set is not in the file: name the variable, not a line.
    const variable = fromEnv.get(path);
    if (variable !== undefined) {
      problems.push({ path: `${path} (from ${variable})`, message });
      return;
    }
    const line = lineOfPath(yamlDoc, lineCounter, path);
    problems.push({ path, message, ...(line === undefined ? {} : { line }) });
  };

  validateDocument(raw);
  // Group by path: a union reports one error per branch plus `anyOf`; one line per path is enough.
  const byPath = new Map<string, string>();
  for (const e of validateDocument.errors ?? []) {
    const path = pointerToPath(e.instancePath);
    if (e.propertyName !== undefined) {
      // The failing keyword inside `propertyNames`; the `propertyNames` error itself follows.
      continue;
    } else if (e.keyword === 'propertyNames') {
      const name = (e.params as { propertyName?: string }).propertyName ?? '';
      const rule = (e.schema as { description?: string } | undefined)?.description;
      problem(path ? `${path}.${name}` : name, rule ?? 'is not a valid name');
    } else if (e.keyword === 'additionalProperties') {
      const k = (e.params as { additionalProperty?: string }).additionalProperty ?? '';
      problem(path ? `${path}.${k}` : k, 'unknown field');
    } else if (e.keyword === 'required') {
      const k = (e.params as { missingProperty?: string }).missingProperty ?? '';
      problem(path ? `${path}.${k}` : k, 'is required');
    } else if (e.keyword === 'discriminator') {
      // A mount's `type` that names no kind of mount (one that is missing is `required`'s).
      if ((e.params as { tagValue?: unknown }).tagValue !== undefined)
        byPath.set(`${path}.type`, describeExpected(`${path}.type`) ?? 'names no kind of mount');
    } else if (e.keyword === 'anyOf' || e.schemaPath.includes('/anyOf/')) {
      byPath.set(path, describeExpected(path) ?? 'has an unexpected value');
    } else if (e.keyword === 'pattern') {
      // A pattern says nothing to a reader: the field's own words, where it has them.
      byPath.set(path, describeExpected(path) ?? e.message ?? 'is invalid');
    } else if (!byPath.has(path)) {
      byPath.set(path, e.message ?? 'is invalid');
    }
  }
  for (const [path, message] of byPath) problem(path, message);
  if (problems.length > 0) throw new ConfigError(source, dedupe(problems));

  const doc = raw as ConfigDocument;
  const file = (p: string | undefined) =>
    p === undefined ? undefined : isAbsolute(p) ? p : resolve(baseDir, p);
  const warnings: string[] = [];
  const mounts = new Map<string, AuthMountConfig>();
  for (const [path, m] of Object.entries(doc.auth)) {
    const at = `auth.${path}`;
    mounts.set(
      path,
      m.type === 'jwt'
        ? normalizeJwtMount(path, m, at, problem, warnings)
        : normalizeMount(path, m, at, problem, file, warnings),
    );
  }
  if (mounts.size === 0) problem('auth', 'at least one auth mount is required');
  for (const [inner, outer] of nestedMounts(mounts.keys()))
    problem(`auth.${inner}`, `is inside the mount ${outer}`);
  for (const path of mounts.keys()) {
    if (path === 'token' || path.startsWith('token/'))
      problem(
        `auth.${path}`,
        'auth/token/ is the token store, which authgate serves itself; name the mount otherwise',
      );
  }

  const listener = doc.listener ?? {};
  if ((listener.tls_cert_file === undefined) !== (listener.tls_key_file === undefined)) {
    problem('listener', 'tls_cert_file and tls_key_file must be given together');
  }
  const trustedProxies = listener.trusted_proxies ?? [];
  for (const bad of invalidCidrs(trustedProxies))
    problem('listener.trusted_proxies', `invalid CIDR "${bad}"`);
  const store = normalizeStore(doc.store, problem, file);
  const audit = normalizeAudit(doc.audit, problem, file);
  const policies = normalizePolicySources(doc, file);
  const secrets = normalizeSecrets(doc.secrets, problem, file);
  const identity = normalizeIdentity(doc.identity, problem, warnings);
  if (store.type === 'redis' && doc.server_key_file === undefined) {
    problem(
      'server_key_file',
      'is required with the redis store: every replica must HMAC tokens with the same key',
    );
  }
  // Files are read now, so that a missing or short one is a config problem with its path (exit
  // 78) rather than a crash at the first request or at listen.
  const certFile = file(listener.tls_cert_file);
  const keyFile = file(listener.tls_key_file);
  const pair =
    certFile !== undefined && keyFile !== undefined
      ? readCertAndKey(certFile, keyFile, LISTENER_TLS_FIELDS, problem)
      : undefined;
  const tls =
    pair && certFile !== undefined && keyFile !== undefined ? { ...pair, certFile, keyFile } : undefined;
  const serverKeyFile = file(doc.server_key_file);
  const serverKey =
    serverKeyFile === undefined ? undefined : readServerKey(serverKeyFile, 'server_key_file', problem);
  const adminTokenFile = file(doc.admin_token_file);
  const adminToken =
    adminTokenFile === undefined ? undefined : readAdminToken(adminTokenFile, 'admin_token_file', problem);
  const requestTimeoutMs =
    durationSeconds(problem)(
      listener.request_timeout,
      'listener.request_timeout',
      DEFAULTS.requestTimeoutMs / 1000,
      TIMEOUT_BOUNDS,
    ) * 1000;
  const rateLimit = listener.login_rate_limit;
  const loginRateLimit =
    rateLimit === undefined
      ? undefined
      : {
          rate: rateLimit.rate,
          intervalMs:
            durationSeconds(problem)(
              rateLimit.interval,
              'listener.login_rate_limit.interval',
              1,
              RATE_INTERVAL_BOUNDS,
            ) * 1000,
        };
  if (problems.length > 0) throw new ConfigError(source, dedupe(problems));

  if (certFile === undefined) warnings.push('listener has no TLS: tokens travel in clear text');
  warnings.push(
    ...secretFileWarnings([
      ['server_key_file', serverKeyFile],
      ['admin_token_file', adminTokenFile],
      ['listener.tls_key_file', keyFile],
      ['secrets.encryption_key_file', file(doc.secrets?.encryption_key_file)],
      ...previousKeyFiles(doc.secrets, file),
    ]),
  );
  return {
    listener: {
      address: listener.address ?? DEFAULTS.address,
      port: listener.port ?? DEFAULTS.port,
      tls,
      maxRequestBytes: listener.max_request_bytes ?? DEFAULTS.maxRequestBytes,
      requestTimeoutMs,
      trustedProxies,
      loginRateLimit,
    },
    log: { level: doc.log?.level ?? 'info' },
    telemetry: { metrics: doc.telemetry?.metrics ?? true },
    store,
    serverKey,
    adminToken,
    mounts,
    audit,
    policies,
    secrets,
    identity,
    warnings,
  } as AuthgateConfig;
};

const EXPECTED: Array<[RegExp, string]> = [
  [/\.verification$/, 'expected "tokenreview" or "jwks"'],
  [/^store\.type$/, 'expected "memory" or "redis"'],
  [/^audit\.[^.]+\.type$/, 'expected "file", "stdout" or "redis"'],
  [/^auth\.[^.]+\.type$/, 'expected "kubernetes" or "jwt"'],
  [/\.allowed_algorithms\.\d+$/, `expected one of ${SIGNING_ALGORITHMS.join(', ')} (never none or HS*)`],
  [/\.jwt_supported_algs\.\d+$/, `expected one of ${JWT_SIGNING_ALGORITHMS.join(', ')} (never none or HS*)`],
  [/^listener\.address$/, 'expected an IP address or a host name'],
  [/\.alias_name_source$/, 'expected "serviceaccount_uid" or "serviceaccount_name"'],
  [/\.token_type$/, 'expected "service", "batch" or "default"'],
  [/^identity\.keys\.[^.]+\.algorithm$/, `expected one of ${IDENTITY_KEY_ALGORITHMS.join(', ')}`],
  [/^log\.level$/, 'expected one of fatal, error, warn, info, debug, trace, silent'],
  [
    /(ttl|period|leeway|cooldown|max_age|timeout)$/,
    'expected a duration: seconds, or a string like "90s", "1h"',
  ],
];
const describeExpected = (path: string): string | undefined => EXPECTED.find(([re]) => re.test(path))?.[1];

const dedupe = (problems: ConfigProblem[]): ConfigProblem[] => {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const k = `${p.path}\u0000${p.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
};

/**
 * Reads the config from `path` (or `AUTHGATE_CONFIG`). Relative file paths in it are resolved
 * against the file's directory. Throws {@link ConfigError}.
 */
export const loadConfigFile = (path: string, env: Env = process.env): AuthgateConfig => {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(path, [{ path: '', message: `cannot read the file: ${(err as Error).message}` }]);
  }
  return parseConfig(text, { source: path, baseDir: dirname(resolve(path)), env });
};
