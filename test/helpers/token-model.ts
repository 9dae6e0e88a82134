/*
 * What Vault would answer about a login token, for the model-based test of the token lifecycle
 * (test/token-model.test.ts). Written from Vault's source, not from authgate's:
 *
 * - sdk/framework/lease.go `CalculateTTL`: max TTL = min(mount max, role max, explicit max);
 *   periodic: TTL = period capped at that max, bounded only by issue + explicit max; otherwise
 *   TTL = increment, else role TTL, else mount default, capped at issue + max TTL; times
 *   truncated to whole seconds first; `humanDuration` in its warnings.
 * - vault/expiration.go `RenewToken` (renewal = CalculateTTL from the issue time, the role
 *   re-read by the plugin's pathLoginRenew; the answer's num_uses is the login's) and
 *   `leaseEntry.ttl()` (lookup `ttl` = ExpireTime − now rounded to the second, truncated).
 * - vault/request_handling.go `handleRequest`: every request made with a token spends a use
 *   before its ACL verdict; the last use revokes the token after the request is answered.
 * - vault/token_store.go: lookup reads the entry tainted (the last use shows num_uses −1),
 *   renew does not (the last use is `token not found`, 400).
 *
 * Where authgate deliberately differs, the model follows authgate (docs/configuration.md):
 * a lease never passes its hard limit by a sub-second (src/tokens/lease.ts), a use-limited
 * token never outlives its use counter (issue + max TTL; periodic: issue + explicit max, else the
 * mount's max lease TTL), and a token is dead at its expire_time itself.
 */

/** The mount's lease TTLs (seconds) given to the harness: small, so that roles hit them. */
export const MOUNT = { defaultLeaseTtl: 7200, maxLeaseTtl: 21600 } as const;

/** A role's token settings in seconds (0 = unset) and its policies. */
export type RoleSpec = {
  ttl: number;
  maxTtl: number;
  explicitMaxTtl: number;
  period: number;
  numUses: number;
  policies: string[];
  noDefaultPolicy: boolean;
};

const spec = (s: Partial<RoleSpec>): RoleSpec => ({
  ttl: 0,
  maxTtl: 0,
  explicitMaxTtl: 0,
  period: 0,
  numUses: 0,
  policies: ['app'],
  noDefaultPolicy: false,
  ...s,
});

/** The roles of the model run, each a corner of CalculateTTL or of use counting. */
export const ROLES: Record<string, RoleSpec> = {
  plain: spec({ ttl: 1200, maxTtl: 3600 }),
  defaults: spec({}),
  explicit: spec({ ttl: 1800, maxTtl: 7200, explicitMaxTtl: 2700 }),
  'explicit-over': spec({ ttl: 3600, explicitMaxTtl: 36000 }),
  'over-mount': spec({ ttl: 36000 }),
  periodic: spec({ period: 900 }),
  'periodic-explicit': spec({ period: 1200, explicitMaxTtl: 3000 }),
  'periodic-capped': spec({ period: 7200, maxTtl: 1800 }),
  once: spec({ ttl: 600, numUses: 1 }),
  uses: spec({ ttl: 600, maxTtl: 2400, numUses: 3 }),
  'uses-periodic': spec({ period: 600, numUses: 4 }),
  'self-only': spec({ ttl: 900, numUses: 4, policies: ['self'], noDefaultPolicy: true }),
  denied: spec({ ttl: 300, numUses: 2, noDefaultPolicy: true }),
};

/** `self` grants lookup-self (read) and renew-self, not revoke-self; `app` grants nothing here. */
export const POLICIES = {
  self: {
    path: {
      'auth/token/lookup-self': { capabilities: ['read'] },
      'auth/token/renew-self': { capabilities: ['update'] },
    },
  },
  app: { path: { 'secret/data/elsewhere/*': { capabilities: ['read'] } } },
};

/** The harness's `roles` entry of a spec: durations as seconds, unset ones left out. */
export const roleConfig = (s: RoleSpec): Record<string, unknown> => ({
  bound_service_account_names: ['nginx'],
  bound_service_account_namespaces: ['test'],
  audience: 'vault',
  token_policies: s.policies,
  ...(s.ttl > 0 ? { token_ttl: s.ttl } : {}),
  ...(s.maxTtl > 0 ? { token_max_ttl: s.maxTtl } : {}),
  ...(s.explicitMaxTtl > 0 ? { token_explicit_max_ttl: s.explicitMaxTtl } : {}),
  ...(s.period > 0 ? { token_period: s.period } : {}),
  ...(s.numUses > 0 ? { token_num_uses: s.numUses } : {}),
  ...(s.noDefaultPolicy ? { token_no_default_policy: true } : {}),
});

/** Vault's policyutil.SanitizePolicies: `default` added unless disabled, sorted, unique. */
export const policiesOf = (s: RoleSpec): string[] =>
  [...new Set([...s.policies, ...(s.noDefaultPolicy ? [] : ['default'])])].sort();

/** The request paths and capabilities the roles' policies grant (Vault's default policy's part). */
const GRANTS: Record<string, string[]> = {
  default: ['auth/token/lookup-self:read', 'auth/token/renew-self:update', 'auth/token/revoke-self:update'],
  self: ['auth/token/lookup-self:read', 'auth/token/renew-self:update'],
};

/** Whether a token of `role` may do `capability` on `path`. */
export const grants = (role: RoleSpec, path: string, capability: 'read' | 'update'): boolean =>
  policiesOf(role).some((p) => (GRANTS[p] ?? []).includes(`${path}:${capability}`));

/** Vault's `humanDuration` of whole seconds: Go's Duration.String without zero units. */
export const humanDuration = (seconds: number): string => {
  if (seconds === 0) return '0s';
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  let text = h > 0 ? `${h}h${m}m${s}s` : m > 0 ? `${m}m${s}s` : `${s}s`;
  if (text.endsWith('m0s')) text = text.slice(0, -2);
  const idx = text.indexOf('h0m');
  if (idx > 0) text = text.slice(0, idx + 1) + text.slice(idx + 3);
  return text;
};

const capped = (ttl: number, max: number) =>
  `TTL of "${humanDuration(ttl)}" exceeded the effective max_ttl of "${humanDuration(max)}"; TTL value is capped accordingly`;

/** A lease placed at login or renewal: expiry (ms), the `lease_duration` (s) and warnings. */
export type Lease = { expireMs: number; leaseTtl: number; warnings: string[] };

/**
 * CalculateTTL at `nowMs` for a token issued at `issueMs`, then placed as authgate places it
 * (never past the hard limit, nor past the use counter's end).
 * @returns the lease, or the error Vault gives when no time is left.
 */
export const placeLease = (
  role: RoleSpec,
  issueMs: number,
  nowMs: number,
  incrementS: number,
  usesNotAfterMs: number | null,
): Lease | { error: string } => {
  const nowS = Math.floor(nowMs / 1000);
  const startS = Math.floor(issueMs / 1000);
  let maxTtl: number = MOUNT.maxLeaseTtl;
  if (role.maxTtl > 0 && role.maxTtl < maxTtl) maxTtl = role.maxTtl;
  if (role.explicitMaxTtl > 0 && role.explicitMaxTtl < maxTtl) maxTtl = role.explicitMaxTtl;
  const warnings: string[] = [];
  let ttl: number;
  let maxValidS: number | null = null;
  if (role.period > 0) {
    ttl = role.period;
    if (ttl > maxTtl) {
      warnings.push(
        `period of "${humanDuration(ttl)}" exceeded the effective max_ttl of "${humanDuration(maxTtl)}"; period value is capped accordingly`,
      );
      ttl = maxTtl;
    }
    if (role.explicitMaxTtl > 0) maxValidS = startS + role.explicitMaxTtl;
  } else {
    ttl = incrementS > 0 ? incrementS : role.ttl > 0 ? role.ttl : MOUNT.defaultLeaseTtl;
    maxValidS = startS + maxTtl;
  }
  if (maxValidS !== null) {
    const left = maxValidS - nowS;
    if (left <= 0) return { error: 'past the max TTL, cannot renew' };
    if (left < ttl) {
      warnings.push(capped(ttl, left));
      ttl = left;
    }
  }
  let expireMs = Math.min(nowMs + ttl * 1000, maxValidS === null ? Infinity : maxValidS * 1000);
  if (usesNotAfterMs !== null && usesNotAfterMs < expireMs) {
    expireMs = usesNotAfterMs;
    warnings.push(capped(ttl, Math.max(0, Math.ceil((usesNotAfterMs - nowMs) / 1000))));
  }
  const leaseTtl = Math.min(ttl, Math.ceil((expireMs - nowMs) / 1000));
  return { expireMs, leaseTtl, warnings };
};

/**
 * A token's hard limit in whole seconds: issue + max TTL, or for a periodic token issue +
 * explicit max TTL (null without one: it lives as long as it is renewed).
 */
export const hardLimitS = (role: RoleSpec, issueMs: number): number | null => {
  const startS = Math.floor(issueMs / 1000);
  if (role.period > 0) return role.explicitMaxTtl > 0 ? startS + role.explicitMaxTtl : null;
  const maxTtl = Math.min(
    MOUNT.maxLeaseTtl,
    role.maxTtl > 0 ? role.maxTtl : Infinity,
    role.explicitMaxTtl > 0 ? role.explicitMaxTtl : Infinity,
  );
  return startS + maxTtl;
};

/**
 * authgate's end of a use-limited token's counter (ms), past which it is never renewed: its hard
 * limit, else issue + the mount's max lease TTL. Null for unlimited tokens.
 */
export const usesNotAfterOf = (role: RoleSpec, issueMs: number): number | null =>
  role.numUses === 0
    ? null
    : (hardLimitS(role, issueMs) ?? Math.floor(issueMs / 1000) + MOUNT.maxLeaseTtl) * 1000;

/** What the model knows of one issued token. */
export type ModelToken = {
  token: string;
  accessor: string;
  roleName: string;
  role: RoleSpec;
  issueMs: number;
  expireMs: number;
  creationTtl: number;
  lastRenewalMs: number | null;
  /** Uses left; 0 = unlimited. */
  usesLeft: number;
  usesNotAfterMs: number | null;
  /** The token's hard limit (issue + max TTL; periodic: + explicit max), ms; null = none. */
  notAfterMs: number | null;
  /** Revoked, or its last use spent. */
  gone: boolean;
};

export const isLive = (t: ModelToken, nowMs: number): boolean => !t.gone && t.expireMs > nowMs;

/**
 * The request spends a use of `t` (Vault's UseToken). Returns the `num_uses` a lookup made by
 * this request reports: uses left, −1 when this was the last (the token is then gone), 0 when
 * unlimited.
 */
export const spendUse = (t: ModelToken): number => {
  if (t.usesLeft === 0) return 0;
  t.usesLeft -= 1;
  if (t.usesLeft > 0) return t.usesLeft;
  t.gone = true;
  return -1;
};

/** Vault's lookup `ttl` (leaseEntry.ttl): ExpireTime − now rounded half up to the second, truncated. */
export const lookupTtl = (expireMs: number, nowMs: number): number =>
  // Go's int64() truncates toward zero: never below 0 for a live token (never −0 either).
  Math.max(0, Math.trunc((expireMs - Math.floor((nowMs + 500) / 1000) * 1000) / 1000));

/**
 * A time as Vault's JSON prints it: Go's time.Time MarshalJSON, RFC 3339 with the fraction's
 * trailing zeros dropped (RFC3339Nano): `…T00:00:00Z` on a whole second, `…T00:00:00.25Z`.
 */
export const goTime = (ms: number): string => {
  const whole = new Date(Math.floor(ms / 1000) * 1000).toISOString().slice(0, 19);
  const fraction = String(((ms % 1000) + 1000) % 1000)
    .padStart(3, '0')
    .replace(/0+$/, '');
  return `${whole}${fraction === '' ? '' : `.${fraction}`}Z`;
};

/** The `data` fields of a lookup answer the model predicts. */
export const lookupData = (t: ModelToken, nowMs: number, id: string, numUses: number) => ({
  accessor: t.accessor,
  creation_time: Math.floor(t.issueMs / 1000),
  creation_ttl: t.creationTtl,
  display_name: 'jwks-test-nginx',
  expire_time: goTime(t.expireMs),
  explicit_max_ttl: t.role.explicitMaxTtl,
  id,
  issue_time: goTime(t.issueMs),
  num_uses: numUses,
  orphan: true,
  path: 'auth/jwks/login',
  policies: policiesOf(t.role),
  renewable: true,
  ttl: lookupTtl(t.expireMs, nowMs),
  type: 'service',
  ...(t.role.period > 0 ? { period: t.role.period } : {}),
  ...(t.lastRenewalMs === null
    ? {}
    : {
        last_renewal_time: Math.floor(t.lastRenewalMs / 1000),
        last_renewal: goTime(t.lastRenewalMs),
      }),
});

/** The `auth` fields of a login or renewal answer the model predicts. */
export const authData = (t: ModelToken, clientToken: string, leaseTtl: number) => ({
  client_token: clientToken,
  accessor: t.accessor,
  policies: policiesOf(t.role),
  token_policies: policiesOf(t.role),
  lease_duration: leaseTtl,
  renewable: true,
  token_type: 'service',
  orphan: true,
  // As issued: Vault answers a renewal with the login's auth, whose count never changes.
  num_uses: t.role.numUses,
});
