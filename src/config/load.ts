import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { Ajv } from 'ajv';
import { LineCounter, parseDocument } from 'yaml';
import { invalidCidrs } from '../lib/cidr.js';
import { parseDurationSeconds } from '../lib/duration.js';
import { DEFAULT_KEY_PREFIX } from '../store/keys.js';
import {
  ConfigSchema,
  SIGNING_ALGORITHMS,
  type ConfigDocument,
  type KubernetesMountDocument,
} from './schema.js';
import type { AuthgateConfig, JwksConfig, KubernetesMountConfig, RoleConfig } from './types.js';

/** One problem in a config, with its path in the document (`auth.kubernetes.roles.nginx.token_ttl`). */
export type ConfigProblem = { path: string; message: string; line?: number };

/** Thrown when a config has problems; `problems` lists every one, not just the first. */
export class ConfigError extends Error {
  constructor(
    readonly source: string,
    readonly problems: ConfigProblem[],
  ) {
    super(
      `invalid configuration in ${source}:\n` +
        problems
          .map(
            (p) =>
              `  - ${p.path || '(root)'}${p.line === undefined ? '' : ` (line ${p.line})`}: ${p.message}`,
          )
          .join('\n'),
    );
    this.name = 'ConfigError';
  }
}

const DAY768 = 768 * 3600;
export const DEFAULTS = {
  address: '127.0.0.1',
  port: 8200,
  maxRequestBytes: 1024 * 1024 - 1,
  leewaySeconds: 60,
  tokenReview: {
    cacheTtlSeconds: 60,
    cacheMaxEntries: 100_000,
    maxConcurrent: 32,
    maxQueue: 1000,
    timeoutMs: 5000,
  },
  jwks: { cooldownMs: 30_000, maxAgeMs: 600_000, timeoutMs: 5000 },
} as const;

type Env = Record<string, string | undefined>;

/**
 * Applies `AUTHGATE_*` environment overrides to a parsed document (before validation, so that a
 * bad override is reported like a bad file value).
 */
const applyEnv = (doc: Record<string, unknown>, env: Env): void => {
  const listener = (doc['listener'] ??= {}) as Record<string, unknown>;
  if (env['AUTHGATE_LISTEN_ADDRESS']) listener['address'] = env['AUTHGATE_LISTEN_ADDRESS'];
  if (env['AUTHGATE_PORT'])
    listener['port'] = /^\d+$/.test(env['AUTHGATE_PORT'])
      ? Number(env['AUTHGATE_PORT'])
      : env['AUTHGATE_PORT'];
  if (env['AUTHGATE_LOG_LEVEL'])
    ((doc['log'] ??= {}) as Record<string, unknown>)['level'] = env['AUTHGATE_LOG_LEVEL'];
  if (env['AUTHGATE_ADMIN_TOKEN_FILE']) doc['admin_token_file'] = env['AUTHGATE_ADMIN_TOKEN_FILE'];
  if (env['AUTHGATE_SERVER_KEY_FILE']) doc['server_key_file'] = env['AUTHGATE_SERVER_KEY_FILE'];
};

// Ajv with allErrors reports every problem; TypeBox's own checker stops at the first per branch.
const validateDocument = new Ajv({ allErrors: true, strict: false }).compile(ConfigSchema);

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
export const parseConfig = (
  text: string,
  options: { source?: string; baseDir?: string; env?: Env } = {},
): AuthgateConfig => {
  const source = options.source ?? 'authgate.yaml';
  const baseDir = options.baseDir ?? process.cwd();
  const lineCounter = new LineCounter();
  const yamlDoc = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
  if (yamlDoc.errors.length > 0) {
    throw new ConfigError(
      source,
      yamlDoc.errors.map((e) => ({
        path: '',
        message: e.message.split('\n')[0] ?? e.message,
        ...(e.linePos?.[0] ? { line: e.linePos[0].line } : {}),
      })),
    );
  }
  const raw: unknown = yamlDoc.toJS() ?? {};
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ConfigError(source, [{ path: '', message: 'expected a mapping at the top level' }]);
  }
  applyEnv(raw as Record<string, unknown>, options.env ?? process.env);

  const lineOf = (path: string): number | undefined => {
    const keys = path === '' ? [] : path.split('.');
    const node = yamlDoc.getIn(keys, true) as { range?: [number, number, number] } | undefined;
    return node?.range ? lineCounter.linePos(node.range[0]).line : undefined;
  };
  const problems: ConfigProblem[] = [];
  const problem = (path: string, message: string) => {
    const line = lineOf(path);
    problems.push({ path, message, ...(line === undefined ? {} : { line }) });
  };

  validateDocument(raw);
  // Group by path: a union reports one error per branch plus `anyOf`; one line per path is enough.
  const byPath = new Map<string, string>();
  for (const e of validateDocument.errors ?? []) {
    const path = pointerToPath(e.instancePath);
    if (e.keyword === 'additionalProperties') {
      const k = (e.params as { additionalProperty?: string }).additionalProperty ?? '';
      problem(path ? `${path}.${k}` : k, 'unknown field');
    } else if (e.keyword === 'required') {
      const k = (e.params as { missingProperty?: string }).missingProperty ?? '';
      problem(path ? `${path}.${k}` : k, 'is required');
    } else if (e.keyword === 'anyOf' || e.schemaPath.includes('/anyOf/')) {
      byPath.set(path, describeExpected(path) ?? 'has an unexpected value');
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
  const mounts = new Map<string, KubernetesMountConfig>();
  for (const [path, m] of Object.entries(doc.auth)) {
    mounts.set(path, normalizeMount(path, m, `auth.${path}`, problem, file, warnings));
  }
  if (mounts.size === 0) problem('auth', 'at least one auth mount is required');

  const listener = doc.listener ?? {};
  if ((listener.tls_cert_file === undefined) !== (listener.tls_key_file === undefined)) {
    problem('listener', 'tls_cert_file and tls_key_file must be given together');
  }
  const trustedProxies = listener.trusted_proxies ?? [];
  for (const bad of invalidCidrs(trustedProxies))
    problem('listener.trusted_proxies', `invalid CIDR "${bad}"`);
  if (problems.length > 0) throw new ConfigError(source, dedupe(problems));

  const certFile = file(listener.tls_cert_file);
  const keyFile = file(listener.tls_key_file);
  if (certFile === undefined) warnings.push('listener has no TLS: tokens travel in clear text');
  return {
    listener: {
      address: listener.address ?? DEFAULTS.address,
      port: listener.port ?? DEFAULTS.port,
      tls: certFile !== undefined && keyFile !== undefined ? { certFile, keyFile } : undefined,
      maxRequestBytes: listener.max_request_bytes ?? DEFAULTS.maxRequestBytes,
      trustedProxies,
    },
    log: { level: doc.log?.level ?? 'info' },
    store: { type: 'memory', keyPrefix: doc.store?.key_prefix ?? DEFAULT_KEY_PREFIX },
    serverKeyFile: file(doc.server_key_file),
    adminTokenFile: file(doc.admin_token_file),
    mounts,
    warnings,
  } as AuthgateConfig;
};

const EXPECTED: Array<[RegExp, string]> = [
  [/\.verification$/, 'expected "tokenreview" or "jwks"'],
  [/\.type$/, 'expected a known type ("kubernetes" for auth mounts, "memory" for the store)'],
  [/\.allowed_algorithms\.\d+$/, `expected one of ${SIGNING_ALGORITHMS.join(', ')} (never none or HS*)`],
  [/\.alias_name_source$/, 'expected "serviceaccount_uid" or "serviceaccount_name"'],
  [/\.token_type$/, 'expected "service" or "default" (batch tokens are not supported yet)'],
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

const normalizeMount = (
  mountPath: string,
  m: KubernetesMountDocument,
  at: string,
  problem: (path: string, message: string) => void,
  file: (p: string | undefined) => string | undefined,
  warnings: string[],
): KubernetesMountConfig => {
  const seconds = (value: string | number | undefined, path: string, fallback: number): number => {
    if (value === undefined) return fallback;
    try {
      return parseDurationSeconds(value);
    } catch {
      problem(
        path,
        `expected a duration: seconds, or a string like "90s", "1h"; got ${JSON.stringify(value)}`,
      );
      return fallback;
    }
  };
  const defaultLease = seconds(m.default_lease_ttl, `${at}.default_lease_ttl`, DAY768);
  const maxLease = seconds(m.max_lease_ttl, `${at}.max_lease_ttl`, DAY768);
  if (defaultLease > maxLease) problem(`${at}.default_lease_ttl`, 'cannot be greater than max_lease_ttl');

  if (m.kubernetes_ca_cert !== undefined && m.kubernetes_ca_cert_file !== undefined) {
    problem(at, 'give kubernetes_ca_cert or kubernetes_ca_cert_file, not both');
  }
  let caCert = m.kubernetes_ca_cert;
  const caFile = file(m.kubernetes_ca_cert_file);
  if (caFile !== undefined) {
    try {
      caCert = readFileSync(caFile, 'utf8');
    } catch (err) {
      problem(`${at}.kubernetes_ca_cert_file`, `cannot read ${caFile}: ${(err as Error).message}`);
    }
  }
  if (caCert !== undefined && !caCert.includes('-----BEGIN CERTIFICATE-----')) {
    problem(`${at}.kubernetes_ca_cert`, 'The provided CA PEM data contains no valid certificates');
  }
  if (m.verification === 'tokenreview' && m.kubernetes_host === undefined) {
    problem(`${at}.kubernetes_host`, 'is required when verification is "tokenreview" (no host provided)');
  }
  if (m.kubernetes_host !== undefined && !/^https?:\/\/[^/]/.test(m.kubernetes_host)) {
    problem(`${at}.kubernetes_host`, 'expected an http(s) URL');
  }

  let jwks: JwksConfig | undefined;
  if (m.verification === 'jwks') {
    const j = m.jwks ?? {};
    const sources = [j.file, j.url, j.oidc_discovery_url].filter((s) => s !== undefined);
    if (sources.length !== 1) {
      problem(
        `${at}.jwks`,
        'exactly one of file, url or oidc_discovery_url must be set when verification is "jwks"',
      );
    }
    if ((m.issuers ?? []).length === 0)
      problem(`${at}.issuers`, 'at least one issuer is required when verification is "jwks"');
    let jwksCa: string | undefined;
    const jwksCaFile = file(j.ca_cert_file);
    if (jwksCaFile !== undefined) {
      try {
        jwksCa = readFileSync(jwksCaFile, 'utf8');
      } catch (err) {
        problem(`${at}.jwks.ca_cert_file`, `cannot read ${jwksCaFile}: ${(err as Error).message}`);
      }
    }
    for (const [key, url] of [
      ['url', j.url],
      ['oidc_discovery_url', j.oidc_discovery_url],
    ] as const) {
      if (url !== undefined && !/^https?:\/\/[^/]/.test(url))
        problem(`${at}.jwks.${key}`, 'expected an http(s) URL');
    }
    const source: JwksConfig['source'] =
      j.file !== undefined
        ? { kind: 'file', path: file(j.file) ?? j.file }
        : j.url !== undefined
          ? { kind: 'url', url: j.url }
          : { kind: 'oidc-discovery', url: j.oidc_discovery_url ?? '' };
    jwks = {
      source,
      caCert: jwksCa ?? caCert,
      cooldownMs: seconds(j.cooldown, `${at}.jwks.cooldown`, DEFAULTS.jwks.cooldownMs / 1000) * 1000,
      maxAgeMs: seconds(j.max_age, `${at}.jwks.max_age`, DEFAULTS.jwks.maxAgeMs / 1000) * 1000,
      timeoutMs: seconds(j.timeout, `${at}.jwks.timeout`, DEFAULTS.jwks.timeoutMs / 1000) * 1000,
    };
  } else if (m.jwks !== undefined) {
    problem(`${at}.jwks`, 'is only used when verification is "jwks"');
  }

  const tr = m.tokenreview ?? {};
  const tokenReview = {
    cacheTtlSeconds: seconds(
      tr.cache_ttl,
      `${at}.tokenreview.cache_ttl`,
      DEFAULTS.tokenReview.cacheTtlSeconds,
    ),
    cacheMaxEntries: tr.cache_max_entries ?? DEFAULTS.tokenReview.cacheMaxEntries,
    maxConcurrent: tr.max_concurrent ?? DEFAULTS.tokenReview.maxConcurrent,
    maxQueue: tr.max_queue ?? DEFAULTS.tokenReview.maxQueue,
    timeoutMs: seconds(tr.timeout, `${at}.tokenreview.timeout`, DEFAULTS.tokenReview.timeoutMs / 1000) * 1000,
  };
  if (m.verification === 'tokenreview' && m.token_reviewer_jwt_file === undefined) {
    warnings.push(
      `auth.${mountPath}: no token_reviewer_jwt_file; each login's own JWT is the TokenReview bearer, so every workload needs system:auth-delegator`,
    );
  }
  const roles = new Map<string, RoleConfig>();
  for (const [name, r] of Object.entries(m.roles)) {
    const rp = `${at}.roles.${name}`;
    const lower = name.toLowerCase();
    if (roles.has(lower)) problem(rp, 'role names are case-insensitive; another role has the same name');
    const names = r.bound_service_account_names;
    if (names.length > 1 && names.includes('*'))
      problem(`${rp}.bound_service_account_names`, 'can not mix "*" with values');
    const nss = r.bound_service_account_namespaces;
    if (nss.length > 1 && nss.includes('*'))
      problem(`${rp}.bound_service_account_namespaces`, 'can not mix "*" with values');
    if (r.audience === undefined && r.allow_missing_audience !== true) {
      problem(
        `${rp}.audience`,
        'is required: without it a token minted for any audience could log in (set allow_missing_audience: true to accept that)',
      );
    }
    if (r.audience === undefined && r.allow_missing_audience === true) {
      warnings.push(`${rp}: no audience; tokens minted for any audience can log in with this role`);
    }
    const ttl = seconds(r.token_ttl, `${rp}.token_ttl`, 0);
    const maxTtl = seconds(r.token_max_ttl, `${rp}.token_max_ttl`, 0);
    const period = seconds(r.token_period, `${rp}.token_period`, 0);
    if (maxTtl > 0 && ttl > maxTtl)
      problem(`${rp}.token_ttl`, "'token_ttl' cannot be greater than 'token_max_ttl'");
    if (period > maxLease) {
      problem(
        `${rp}.token_period`,
        `token period of ${period}s is greater than the backend's maximum lease TTL (${maxLease}s)`,
      );
    }
    if (maxTtl > maxLease) {
      warnings.push(
        `${rp}: token_max_ttl is greater than the mount's max_lease_ttl; issued tokens' max TTL will be truncated`,
      );
    }
    const cidrs = r.token_bound_cidrs ?? [];
    for (const bad of invalidCidrs(cidrs)) problem(`${rp}.token_bound_cidrs`, `invalid CIDR "${bad}"`);
    roles.set(lower, {
      name: lower,
      boundServiceAccountNames: names,
      boundServiceAccountNamespaces: nss,
      audience: r.audience,
      allowMissingAudience: r.allow_missing_audience === true,
      aliasNameSource: r.alias_name_source ?? 'serviceaccount_uid',
      tokenPolicies: r.token_policies ?? [],
      tokenTtlSeconds: ttl,
      tokenMaxTtlSeconds: maxTtl,
      tokenExplicitMaxTtlSeconds: seconds(r.token_explicit_max_ttl, `${rp}.token_explicit_max_ttl`, 0),
      tokenNumUses: r.token_num_uses ?? 0,
      tokenBoundCidrs: cidrs,
      tokenNoDefaultPolicy: r.token_no_default_policy === true,
      tokenPeriodSeconds: period,
      tokenType: 'service',
    });
  }
  return {
    path: mountPath,
    type: 'kubernetes',
    description: m.description ?? '',
    kubernetesHost: m.kubernetes_host?.replace(/\/+$/, ''),
    kubernetesCaCert: caCert,
    tokenReviewerJwtFile: file(m.token_reviewer_jwt_file),
    verification: m.verification,
    jwks,
    tokenReview,
    issuers: m.issuers ?? [],
    allowedAlgorithms: m.allowed_algorithms ?? ['RS256', 'ES256'],
    leewaySeconds: seconds(m.leeway, `${at}.leeway`, DEFAULTS.leewaySeconds),
    defaultLeaseTtlSeconds: defaultLease,
    maxLeaseTtlSeconds: maxLease,
    roles,
  };
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
