import type { RoleConfig } from '../config/index.js';
import { loginDenied } from '../errors.js';
import { globListMatch } from '../lib/glob.js';
import { truncate } from '../lib/truncate.js';

/**
 * Vault's binding checks on the service account named by the token (vault-compat §1.3 steps 7
 * and 8), run on claims BEFORE any network call so that a workload outside the role never
 * reaches the API server. `"*"` alone means any; otherwise each entry is a glob where only `*`
 * is special. Throws `LOGIN_DENIED` (403) with Vault's messages.
 */
export const checkServiceAccountBinding = (
  role: Pick<RoleConfig, 'boundServiceAccountNames' | 'boundServiceAccountNamespaces'>,
  serviceAccountName: string,
  namespace: string,
): void => {
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
  if (!anyNamespace && !globListMatch(namespaces, namespace)) {
    throw loginDenied('namespace not authorized', 'namespace_not_bound', `namespace=${truncate(namespace)}`);
  }
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
