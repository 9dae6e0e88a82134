import type { MountCommon, RoleConfig, TokenRoleConfig } from '../config/index.js';
import type { IssueInput } from '../tokens/index.js';
import { loginDenied } from '../errors.js';
import { globListMatch } from '../lib/glob.js';
import { labelsMatch } from '../lib/label-selector.js';
import { truncate } from '../lib/truncate.js';

/**
 * Vault's binding checks on the service account named by the token (vault-compat §1.3 steps 7
 * and 8), run on claims BEFORE any network call so that a workload outside the role never
 * reaches the API server. `"*"` alone means any; otherwise each entry is a glob where only `*`
 * is special. Throws `LOGIN_DENIED` (403) with Vault's messages.
 *
 * Returns true when the namespace list admits the namespace, false when only the role's
 * namespace selector still can: the caller then runs {@link checkNamespaceSelector} once the
 * token is verified.
 */
export const checkServiceAccountBinding = (
  role: Pick<
    RoleConfig,
    'boundServiceAccountNames' | 'boundServiceAccountNamespaces' | 'boundServiceAccountNamespaceSelector'
  >,
  serviceAccountName: string,
  namespace: string,
): boolean => {
  const names = role.boundServiceAccountNames;
  const anyName = names.length === 1 && names[0] === '*';
  if (!anyName && !globListMatch(names, serviceAccountName)) {
    throw loginDenied(
      'service account name not authorized',
      'service_account_not_bound',
      `sa=${truncate(serviceAccountName)}`,
    );
  }
  const namespaces = role.boundServiceAccountNamespaces;
  // Exactly `['*']`, as for names: config refuses `*` mixed with values, and a list that merely
  // starts with `*` (or a string whose first character is `*`) must never mean "any namespace".
  const anyNamespace = namespaces.length === 1 && namespaces[0] === '*';
  if (anyNamespace || globListMatch(namespaces, namespace)) return true;
  if (role.boundServiceAccountNamespaceSelector !== undefined) return false;
  throw loginDenied('namespace not authorized', 'namespace_not_bound', `namespace=${truncate(namespace)}`);
};

/**
 * Vault's namespace selector (`bound_service_account_namespace_selector`, ORed with the namespace
 * list): the labels of `namespace`, as `labelsOf` reads them from the API server, must match the
 * role's selector. Run only for a verified token, unlike Vault, which reads the labels before the
 * TokenReview: the namespace named by a token nobody has proven must not make authgate call the
 * API server (a forged token's refusal then says `permission denied`; a genuine token's, Vault's
 * `namespace not authorized`).
 *
 * Throws `LOGIN_DENIED` `namespace not authorized` when the namespace does not exist or its labels
 * do not match; whatever `labelsOf` rejects with (503 when the API server cannot be reached: fail
 * closed). Throws `TypeError` when the role has no selector or no reader is given (config
 * refuses a selector on a mount that cannot read namespaces).
 */
export const checkNamespaceSelector = async (
  role: Pick<RoleConfig, 'boundServiceAccountNamespaceSelector'>,
  namespace: string,
  reader: { labelsOf(namespace: string): Promise<Readonly<Record<string, string>> | undefined> } | undefined,
): Promise<void> => {
  const selector = role.boundServiceAccountNamespaceSelector;
  if (selector === undefined || reader === undefined)
    throw new TypeError(
      'checkNamespaceSelector: the role has no selector or the mount cannot read namespaces',
    );
  const labels = await reader.labelsOf(namespace);
  if (labels === undefined)
    throw loginDenied('namespace not authorized', 'namespace_not_found', `namespace=${truncate(namespace)}`);
  if (!labelsMatch(selector.selector, labels))
    throw loginDenied(
      'namespace not authorized',
      'namespace_not_selected',
      `namespace=${truncate(namespace)}`,
    );
};

/**
 * Vault's `policyutil.SanitizePolicies`: trimmed, lower-cased, de-duplicated, `default` added
 * when `addDefault`, sorted.
 *
 * Throws `TypeError` when the result would hold `root` (in any case or spacing): config refuses
 * `token_policies: [root]` (`auth methods cannot create root tokens`), so reaching here with it
 * is a bug, and failing the login closed is safer than silently issuing a token whose policies
 * differ from the role's, which filtering would do.
 */
export const sanitizePolicies = (policies: readonly string[], addDefault: boolean): string[] => {
  const set = new Set(policies.map((p) => p.trim().toLowerCase()).filter((p) => p !== ''));
  if (set.has('root')) throw new TypeError('auth methods cannot create root tokens');
  if (addDefault) set.add('default');
  return [...set].sort();
};

/** What a login's token is, besides what the role and the mount set: who it names and where it is listed. */
export type LoginTokenFacts = Pick<IssueInput, 'metadata' | 'displayName' | 'entityId'> &
  Required<Pick<IssueInput, 'indexes'>>;

/**
 * The token a login issues under `role` of the mount at `mountPath` (either type): the role's
 * policies (`default` added unless `token_no_default_policy`), TTLs, uses, CIDRs and type, the
 * mount's lease TTLs, and `facts`, what the login proved.
 */
export const loginIssueInput = (
  mountPath: string,
  mount: Pick<MountCommon<TokenRoleConfig>, 'defaultLeaseTtlSeconds' | 'maxLeaseTtlSeconds'>,
  role: TokenRoleConfig,
  facts: LoginTokenFacts,
): IssueInput => ({
  policies: sanitizePolicies(role.tokenPolicies, !role.tokenNoDefaultPolicy),
  metadata: facts.metadata,
  displayName: facts.displayName,
  path: `auth/${mountPath}/login`,
  entityId: facts.entityId,
  role: role.name,
  mountPath,
  ttlSeconds: role.tokenTtlSeconds,
  maxTtlSeconds: role.tokenMaxTtlSeconds,
  explicitMaxTtlSeconds: role.tokenExplicitMaxTtlSeconds,
  periodSeconds: role.tokenPeriodSeconds,
  numUses: role.tokenNumUses,
  boundCidrs: role.tokenBoundCidrs,
  mount: {
    defaultLeaseTtlSeconds: mount.defaultLeaseTtlSeconds,
    maxLeaseTtlSeconds: mount.maxLeaseTtlSeconds,
  },
  indexes: facts.indexes,
  ...(role.tokenType === 'batch' ? { type: 'batch' as const } : {}),
});
