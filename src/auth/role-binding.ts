import type { RoleConfig } from '../config/index.js';
import { loginDenied } from '../errors.js';
import { globListMatch } from '../lib/glob.js';

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
      `sa=${serviceAccountName}`,
    );
  }
  const namespaces = role.boundServiceAccountNamespaces;
  const anyNamespace = namespaces[0] === '*';
  if (!anyNamespace && !globListMatch(namespaces, namespace)) {
    throw loginDenied('namespace not authorized', 'namespace_not_bound', `namespace=${namespace}`);
  }
};

/** Vault's `policyutil.SanitizePolicies`: trimmed, lower-cased, de-duplicated, `default` added unless refused, sorted. */
export const sanitizePolicies = (policies: readonly string[], addDefault: boolean): string[] => {
  const set = new Set(policies.map((p) => p.trim().toLowerCase()).filter((p) => p !== ''));
  if (addDefault && !set.has('root')) set.add('default');
  return [...set].sort();
};
