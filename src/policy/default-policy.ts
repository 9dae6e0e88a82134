import { PolicyLoadError } from './errors.js';
import { compileHclPolicy } from './parse.js';
import type { CompiledPolicy } from './policy.js';

/**
 * The built-in `default` policy: the token-self part of Vault's default policy
 * (`defaultPolicy` in vault/policy_store.go), in Vault's words. Vault's other entries
 * (cubbyhole, response wrapping, `sys/tools`, `sys/leases/lookup`, identity OIDC provider,
 * control groups) are left out: authgate has no such endpoints. A `default` policy in the
 * sources replaces this one.
 */
export const DEFAULT_POLICY_TEXT = `# Allow tokens to look up their own properties
path "auth/token/lookup-self" {
    capabilities = ["read"]
}

# Allow tokens to renew themselves
path "auth/token/renew-self" {
    capabilities = ["update"]
}

# Allow tokens to revoke themselves
path "auth/token/revoke-self" {
    capabilities = ["update"]
}

# Allow a token to look up its own capabilities on a path
path "sys/capabilities-self" {
    capabilities = ["update"]
}

# Allow a token to renew a lease via lease_id in the request body; old path for
# old clients, new path for newer
path "sys/renew" {
    capabilities = ["update"]
}
path "sys/leases/renew" {
    capabilities = ["update"]
}
`;

const compileDefault = (): CompiledPolicy => {
  const problems: string[] = [];
  const compiled = compileHclPolicy({ name: 'default', source: 'built-in' }, DEFAULT_POLICY_TEXT, problems);
  if (compiled === undefined) throw new PolicyLoadError(problems); // a bug: the text above is fixed
  return compiled;
};

/** The built-in `default` policy, compiled once. */
export const BUILT_IN_DEFAULT: CompiledPolicy = compileDefault();
