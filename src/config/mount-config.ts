import { rootCertificates } from 'node:tls';
import { invalidCidrs } from '../lib/cidr.js';
import { LEEWAY_BOUNDS, TIMEOUT_BOUNDS, durationSeconds } from './durations.js';
import { checkCaText, readCaBundle } from './files.js';
import type { KubernetesMountDocument, TokenRoleDocument } from './schema.js';
import type { JwksConfig, KubernetesMountConfig, Problem, RoleConfig, TokenRoleConfig } from './types.js';
import { normalizeNamespaceSelector } from './namespace-selector.js';
import { checkTrustUrl } from './urls.js';
import { trimTrailingSlashes } from '../lib/trim-slashes.js';

const DAY768 = 768 * 3600;

/** Defaults of a kubernetes mount, in the units the normalized config uses. */
export const MOUNT_DEFAULTS = {
  leewaySeconds: 60,
  namespaceCacheTtlSeconds: 30,
  tokenReview: {
    cacheTtlSeconds: 60,
    cacheMaxEntries: 100_000,
    maxConcurrent: 32,
    maxQueue: 1000,
    timeoutMs: 5000,
  },
  jwks: { cooldownMs: 30_000, maxAgeMs: 600_000, timeoutMs: 5000 },
} as const;

/**
 * Each mount path of `paths` that lies inside another (`team/config` inside `team`), with that
 * other: `[inner, outer]`. Mounts may not nest, as in Vault ("path is already in use at",
 * vault/auth.go and vault/mount.go): the outer mount's routes would shadow the inner one's.
 */
export const nestedMounts = (paths: Iterable<string>): Array<[string, string]> => {
  const all = [...paths];
  return all.flatMap((inner) =>
    all.filter((outer) => inner.startsWith(`${outer}/`)).map((outer): [string, string] => [inner, outer]),
  );
};

/** A mount's lease TTLs (`default_lease_ttl`, `max_lease_ttl`), in effect and as set. */
export const normalizeMountTtls = (
  m: { default_lease_ttl?: string | number | undefined; max_lease_ttl?: string | number | undefined },
  at: string,
  problem: Problem,
): Pick<
  KubernetesMountConfig,
  'defaultLeaseTtlSeconds' | 'maxLeaseTtlSeconds' | 'tunedDefaultLeaseTtlSeconds' | 'tunedMaxLeaseTtlSeconds'
> => {
  const seconds = durationSeconds(problem);
  const defaultLease = seconds(m.default_lease_ttl, `${at}.default_lease_ttl`, DAY768);
  const maxLease = seconds(m.max_lease_ttl, `${at}.max_lease_ttl`, DAY768);
  if (defaultLease > maxLease) problem(`${at}.default_lease_ttl`, 'cannot be greater than max_lease_ttl');
  return {
    defaultLeaseTtlSeconds: defaultLease,
    maxLeaseTtlSeconds: maxLease,
    tunedDefaultLeaseTtlSeconds: m.default_lease_ttl === undefined ? 0 : defaultLease,
    tunedMaxLeaseTtlSeconds: m.max_lease_ttl === undefined ? 0 : maxLease,
  };
};

/**
 * The `token_*` settings of a role of either type, with Vault's tokenutil rules (TTL ordering,
 * no `root`, what a batch token cannot be) checked against the mount's max lease TTL.
 */
export const normalizeTokenRole = (
  r: TokenRoleDocument,
  rp: string,
  maxLease: number,
  problem: Problem,
  warnings: string[],
): Omit<TokenRoleConfig, 'name'> => {
  const seconds = durationSeconds(problem);
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
  const policies = r.token_policies ?? [];
  // Vault refuses this at login (request_handling.go); refusing it at start is earlier and louder.
  if (policies.some((p) => p.trim().toLowerCase() === 'root'))
    problem(`${rp}.token_policies`, 'auth methods cannot create root tokens');
  // Vault's tokenutil refuses these at role write: a batch token is never renewed nor counted.
  if (r.token_type === 'batch' && period > 0)
    problem(
      `${rp}.token_type`,
      "'token_type' cannot be 'batch' or 'default_batch' when set to generate periodic tokens",
    );
  if (r.token_type === 'batch' && (r.token_num_uses ?? 0) > 0) {
    problem(
      `${rp}.token_type`,
      "'token_type' cannot be 'batch' or 'default_batch' when set to generate tokens with limited use count",
    );
  }
  const cidrs = r.token_bound_cidrs ?? [];
  for (const bad of invalidCidrs(cidrs)) problem(`${rp}.token_bound_cidrs`, `invalid CIDR "${bad}"`);
  return {
    tokenPolicies: policies,
    tokenTtlSeconds: ttl,
    tokenMaxTtlSeconds: maxTtl,
    tokenExplicitMaxTtlSeconds: seconds(r.token_explicit_max_ttl, `${rp}.token_explicit_max_ttl`, 0),
    tokenNumUses: r.token_num_uses ?? 0,
    tokenBoundCidrs: cidrs,
    tokenNoDefaultPolicy: r.token_no_default_policy === true,
    tokenPeriodSeconds: period,
    tokenType: r.token_type ?? 'default',
  };
};

/**
 * Normalizes one `auth.<mount>` of type kubernetes: defaults, durations in seconds, files read,
 * and the cross-field rules a schema cannot say (TTL ordering, audience required, one JWKS source).
 */
export const normalizeMount = (
  mountPath: string,
  m: KubernetesMountDocument,
  at: string,
  problem: Problem,
  file: (p: string | undefined) => string | undefined,
  warnings: string[],
): KubernetesMountConfig => {
  const seconds = durationSeconds(problem);
  const ttls = normalizeMountTtls(m, at, problem);
  const maxLease = ttls.maxLeaseTtlSeconds;

  if (m.kubernetes_ca_cert !== undefined && m.kubernetes_ca_cert_file !== undefined) {
    problem(at, 'give kubernetes_ca_cert or kubernetes_ca_cert_file, not both');
  }
  // Parsed as a certificate, as every other CA of the file: a PEM header around garbage would
  // load, and Node would then trust nothing, failing every TokenReview at run time.
  const caFile = file(m.kubernetes_ca_cert_file);
  const caCert =
    caFile !== undefined
      ? readCaBundle(caFile, `${at}.kubernetes_ca_cert_file`, problem)
      : m.kubernetes_ca_cert === undefined
        ? undefined
        : checkCaText(m.kubernetes_ca_cert, `${at}.kubernetes_ca_cert`, problem);
  if (m.verification === 'tokenreview' && m.kubernetes_host === undefined) {
    problem(`${at}.kubernetes_host`, 'is required when verification is "tokenreview" (no host provided)');
  }
  const allowInsecureHttp = m.allow_insecure_http === true;
  // Checked whatever the verification: a JWKS mount also presents its reviewer token to this host.
  if (m.kubernetes_host !== undefined)
    checkTrustUrl(m.kubernetes_host, `${at}.kubernetes_host`, allowInsecureHttp, problem, warnings);

  let jwks: JwksConfig | undefined;
  // A jwks mode mount proves tokens with these keys; a tokenreview mount, with them set, first
  // sheds tokens whose signature they refute (the review stays the proof of what passes).
  if (m.verification === 'jwks' || m.jwks !== undefined) {
    const j = m.jwks ?? {};
    const sources = [j.file, j.url, j.oidc_discovery_url].filter((s) => s !== undefined);
    const jwksMode = m.verification === 'jwks';
    if (sources.length !== 1) {
      problem(
        `${at}.jwks`,
        `exactly one of file, url or oidc_discovery_url must be set${jwksMode ? ' when verification is "jwks"' : ''}`,
      );
    }
    // The issuer is what ties a key set to a cluster. On a tokenreview mount without one, tokens
    // of every issuer reach the prefilter, and one issuer's keys would shed the others' tokens.
    if ((m.issuers ?? []).length === 0)
      problem(
        `${at}.issuers`,
        jwksMode
          ? 'at least one issuer is required when verification is "jwks"'
          : 'at least one issuer is required when jwks is set (the key set is trusted for these issuers only)',
      );
    const jwksCaFile = file(j.ca_cert_file);
    // Checked now, as store.redis.tls.ca_file is: else every fetch fails TLS as if the issuer's
    // certificate were wrong.
    const jwksCa =
      jwksCaFile === undefined ? undefined : readCaBundle(jwksCaFile, `${at}.jwks.ca_cert_file`, problem);
    for (const [key, url] of [
      ['url', j.url],
      ['oidc_discovery_url', j.oidc_discovery_url],
    ] as const) {
      if (url !== undefined) checkTrustUrl(url, `${at}.jwks.${key}`, allowInsecureHttp, problem, warnings);
    }
    const source: JwksConfig['source'] =
      j.file !== undefined
        ? { kind: 'file', path: file(j.file) ?? j.file }
        : j.url !== undefined
          ? { kind: 'url', url: j.url }
          : { kind: 'oidc-discovery', url: j.oidc_discovery_url ?? '' };
    jwks = {
      source,
      // Without a CA of its own, the key set is trusted under the cluster's CA (the API server's
      // own discovery endpoints) or a public one (an issuer such as EKS's or GKE's, whose
      // `jwks_uri` is on a public host), as a client with the system roots would be: the cluster's
      // CA alone would make every such fetch fail, and a distroless image has no CA file to name.
      caCert:
        jwksCa ?? (caCert === undefined ? undefined : [caCert.trimEnd(), ...rootCertificates].join('\n')),
      cooldownMs: seconds(j.cooldown, `${at}.jwks.cooldown`, MOUNT_DEFAULTS.jwks.cooldownMs / 1000) * 1000,
      maxAgeMs: seconds(j.max_age, `${at}.jwks.max_age`, MOUNT_DEFAULTS.jwks.maxAgeMs / 1000) * 1000,
      timeoutMs:
        seconds(j.timeout, `${at}.jwks.timeout`, MOUNT_DEFAULTS.jwks.timeoutMs / 1000, TIMEOUT_BOUNDS) * 1000,
    };
  }

  const tr = m.tokenreview ?? {};
  const tokenReview = {
    cacheTtlSeconds: seconds(
      tr.cache_ttl,
      `${at}.tokenreview.cache_ttl`,
      MOUNT_DEFAULTS.tokenReview.cacheTtlSeconds,
    ),
    cacheMaxEntries: tr.cache_max_entries ?? MOUNT_DEFAULTS.tokenReview.cacheMaxEntries,
    maxConcurrent: tr.max_concurrent ?? MOUNT_DEFAULTS.tokenReview.maxConcurrent,
    maxQueue: tr.max_queue ?? MOUNT_DEFAULTS.tokenReview.maxQueue,
    timeoutMs:
      seconds(
        tr.timeout,
        `${at}.tokenreview.timeout`,
        MOUNT_DEFAULTS.tokenReview.timeoutMs / 1000,
        TIMEOUT_BOUNDS,
      ) * 1000,
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
    const nss = r.bound_service_account_namespaces ?? [];
    if (nss.length > 1 && nss.includes('*'))
      problem(`${rp}.bound_service_account_namespaces`, 'can not mix "*" with values');
    const selectorAt = `${rp}.bound_service_account_namespace_selector`;
    const selectorValue = r.bound_service_account_namespace_selector;
    const selector = normalizeNamespaceSelector(selectorValue, selectorAt, problem);
    if (nss.length === 0 && selectorValue === undefined) {
      problem(
        `${rp}.bound_service_account_namespaces`,
        '"bound_service_account_namespaces" can not be empty if "bound_service_account_namespace_selector" is not set',
      );
    }
    // Vault reads the labels with its token reviewer JWT and fails each login without one; here the
    // mount cannot serve such a role at all, so it is refused at start.
    if (
      selectorValue !== undefined &&
      (m.kubernetes_host === undefined || m.token_reviewer_jwt_file === undefined)
    ) {
      problem(
        selectorAt,
        "needs the mount's kubernetes_host and token_reviewer_jwt_file: a namespace's labels are read from the API server with the token reviewer JWT",
      );
    }
    if (r.audience === undefined && r.allow_missing_audience !== true) {
      problem(
        `${rp}.audience`,
        'is required: without it a token minted for any audience could log in (set allow_missing_audience: true to accept that)',
      );
    }
    if (r.audience === undefined && r.allow_missing_audience === true) {
      warnings.push(`${rp}: no audience; tokens minted for any audience can log in with this role`);
    }
    const token = normalizeTokenRole(r, rp, maxLease, problem, warnings);
    roles.set(lower, {
      name: lower,
      ...token,
      boundServiceAccountNames: names,
      boundServiceAccountNamespaces: nss,
      boundServiceAccountNamespaceSelector: selector,
      audience: r.audience,
      allowMissingAudience: r.allow_missing_audience === true,
      aliasNameSource: r.alias_name_source ?? 'serviceaccount_uid',
    });
  }
  return {
    path: mountPath,
    type: 'kubernetes',
    description: m.description ?? '',
    kubernetesHost: m.kubernetes_host === undefined ? undefined : trimTrailingSlashes(m.kubernetes_host),
    kubernetesCaCert: caCert,
    tokenReviewerJwtFile: file(m.token_reviewer_jwt_file),
    allowInsecureHttp,
    verification: m.verification,
    jwks,
    tokenReview,
    issuers: m.issuers ?? [],
    allowedAlgorithms: m.allowed_algorithms ?? ['RS256', 'ES256'],
    leewaySeconds: seconds(m.leeway, `${at}.leeway`, MOUNT_DEFAULTS.leewaySeconds, LEEWAY_BOUNDS),
    namespaceCacheTtlSeconds: seconds(
      m.namespace_cache_ttl,
      `${at}.namespace_cache_ttl`,
      MOUNT_DEFAULTS.namespaceCacheTtlSeconds,
    ),
    ...ttls,
    roles,
  };
};
