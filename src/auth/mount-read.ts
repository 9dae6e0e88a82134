import {
  redactUrl,
  type KubernetesMountConfig,
  type RoleConfig,
  type TokenRoleConfig,
} from '../config/index.js';
import { vaultCidrText } from '../lib/cidr.js';

/**
 * What `GET auth/<mount>/role/<name>` answers in `data`, as Vault's kubernetes auth plugin
 * (`pathRoleRead`, with `tokenutil.PopulateTokenData` for the `token_*` fields): durations in
 * whole seconds, `token_policies` and `token_bound_cidrs` as lists (empty, never null; a
 * one-address block as its address, {@link vaultCidrText}),
 * `token_type` as configured (`default` when the config file leaves it out, as Vault's read of a
 * role written without one), `audience` only when the role has one, and the namespace selector
 * always: its text as configured (a mapping as JSON), `""` when the role has none.
 *
 * Vault also echoes the deprecated `policies`, `bound_cidrs`, `ttl`, `max_ttl`, `period` and
 * `num_uses`, but only for a role written with those old names; authgate.yaml takes only the
 * `token_*` names, so, like a Vault role written with them, a read never has the old ones.
 * Nothing in a role is secret.
 */
export const roleReadData = (role: RoleConfig): Record<string, unknown> => ({
  ...tokenFieldsOf(role),
  bound_service_account_names: [...role.boundServiceAccountNames],
  bound_service_account_namespaces: [...role.boundServiceAccountNamespaces],
  bound_service_account_namespace_selector: role.boundServiceAccountNamespaceSelector?.text ?? '',
  ...(role.audience === undefined ? {} : { audience: role.audience }),
  alias_name_source: role.aliasNameSource,
});

/** The `token_*` fields of a role read, either type (Vault's `tokenutil.PopulateTokenData`). */
export const tokenFieldsOf = (role: TokenRoleConfig): Record<string, unknown> => ({
  token_bound_cidrs: role.tokenBoundCidrs.map(vaultCidrText),
  token_explicit_max_ttl: role.tokenExplicitMaxTtlSeconds,
  token_max_ttl: role.tokenMaxTtlSeconds,
  token_no_default_policy: role.tokenNoDefaultPolicy,
  token_num_uses: role.tokenNumUses,
  token_period: role.tokenPeriodSeconds,
  token_policies: [...role.tokenPolicies],
  token_ttl: role.tokenTtlSeconds,
  token_type: role.tokenType,
});

/**
 * What `GET auth/<mount>/config` answers in `data`: the eight keys of Vault's kubernetes plugin
 * (`pathConfigRead`), mapped from the mount's section of authgate.yaml, and authgate's own
 * settings under the one key `authgate`, a name Vault never answers.
 *
 * - `kubernetes_host`, `kubernetes_ca_cert`: as configured, `""` when not (a jwks mount needs
 *   no host; no CA means the system roots, as Vault's with `disable_local_ca_jwt`). A CA
 *   certificate is public; a URL's user and password, should one hold any, are shown as `***`.
 * - `token_reviewer_jwt_set`: whether `token_reviewer_jwt_file` is configured. Never the token,
 *   nor the file's path: as Vault, which answers only whether one is set.
 * - `pem_keys`: `[]` (authgate verifies signatures with a JWKS, in `authgate.jwks`).
 * - `issuer`, `disable_iss_validation`: Vault's one deprecated issuer. authgate checks a list:
 *   validation is off only when the list is empty (a tokenreview mount that accepts any `iss`);
 *   `issuer` is the list's only entry, `""` when it has several (all in `authgate.issuers`).
 * - `disable_local_ca_jwt`: true, since authgate never reads the pod's own CA and token files
 *   (`/var/run/secrets/kubernetes.io/serviceaccount/`); `use_annotations_as_alias_metadata`: false.
 * - `authgate`: verification mode, issuers, algorithms, leeway, and the JWKS and TokenReview
 *   bounds, durations in whole seconds. No secret (and no file path) is in it.
 */
export const configReadData = (mount: KubernetesMountConfig): Record<string, unknown> => ({
  kubernetes_host: mount.kubernetesHost === undefined ? '' : redactUrl(mount.kubernetesHost),
  kubernetes_ca_cert: mount.kubernetesCaCert ?? '',
  pem_keys: [],
  issuer: mount.issuers.length === 1 ? mount.issuers[0] : '',
  disable_iss_validation: mount.issuers.length === 0,
  disable_local_ca_jwt: true,
  token_reviewer_jwt_set: mount.tokenReviewerJwtFile !== undefined,
  use_annotations_as_alias_metadata: false,
  authgate: {
    verification: mount.verification,
    issuers: [...mount.issuers],
    allowed_algorithms: [...mount.allowedAlgorithms],
    leeway: mount.leewaySeconds,
    namespace_cache_ttl: mount.namespaceCacheTtlSeconds,
    allow_insecure_http: mount.allowInsecureHttp === true,
    jwks: mount.jwks === undefined ? null : jwksView(mount.jwks),
    tokenreview:
      mount.verification === 'tokenreview'
        ? {
            cache_ttl: mount.tokenReview.cacheTtlSeconds,
            cache_max_entries: mount.tokenReview.cacheMaxEntries,
            max_concurrent: mount.tokenReview.maxConcurrent,
            max_queue: mount.tokenReview.maxQueue,
            timeout: mount.tokenReview.timeoutMs / 1000,
          }
        : null,
  },
});

/** Where a jwks mount's keys come from; a local file is named only as such, without its path. */
const jwksView = (jwks: NonNullable<KubernetesMountConfig['jwks']>): Record<string, unknown> => ({
  source: jwks.source.kind,
  ...(jwks.source.kind === 'file' || jwks.source.kind === 'keys' ? {} : { url: redactUrl(jwks.source.url) }),
  ca_cert_set: jwks.caCert !== undefined,
  cooldown: jwks.cooldownMs / 1000,
  max_age: jwks.maxAgeMs / 1000,
  timeout: jwks.timeoutMs / 1000,
});
