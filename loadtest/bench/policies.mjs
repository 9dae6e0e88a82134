/**
 * The policy set of the KV scenarios: `count` policies as HCL files, as a platform team with many
 * tenants would have them (each a handful of fixed and templated rules over its own prefixes),
 * none of them on the tokens of the scenario except through the dev policy `nginx`. What they cost
 * is what any loaded-but-unused policy costs: memory, load time, and nothing per request unless
 * the lookup scanned every policy.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Writes `count` policy files into `dir` and returns `dir`.
 *
 * @param {string} dir
 * @param {number} count
 */
export const writeBenchPolicies = (dir, count) => {
  mkdirSync(dir, { recursive: true });
  for (let i = 0; i < count; i++) {
    writeFileSync(
      join(dir, `tenant-${i}.hcl`),
      [
        `path "secret/data/tenant-${i}/*" { capabilities = ["read", "list"] }`,
        `path "secret/metadata/tenant-${i}/*" { capabilities = ["list"] }`,
        `path "secret/data/tenant-${i}/{{identity.namespace}}/+/config" { capabilities = ["read"] }`,
        `path "secret/data/shared/tenant-${i}" { capabilities = ["read"] }`,
        `path "secret/data/tenant-${i}/admin/*" { capabilities = ["deny"] }`,
        `path "identity/oidc/token/tenant-${i}" { capabilities = ["read"] }`,
        '',
      ].join('\n'),
    );
  }
  return dir;
};
