/*
 * The roles and policies of `authgate dev`'s config (authgate.yaml form), which the tests and the
 * bench log in with too.
 */

/** The role `nginx` of the dev config, as a typical first setup writes it (authgate.yaml form). */
export const DEV_ROLE = {
  bound_service_account_names: ['nginx'],
  bound_service_account_namespaces: ['test'],
  audience: 'vault',
  token_policies: ['nginx'],
  token_ttl: '1h',
  token_max_ttl: '24h',
};

/**
 * The role `nginx` of the dev config's `jwt` mount (Vault's JWT method, as its docs set it up for
 * a cluster's service-account tokens): test/nginx by its subject, audience `vault`, and the
 * namespace, service account and pod copied into the token's metadata, so that the same
 * templated policy serves it as the kubernetes mounts' tokens.
 */
export const DEV_JWT_ROLE = {
  role_type: 'jwt',
  bound_audiences: ['vault'],
  user_claim: 'sub',
  bound_subject: 'system:serviceaccount:test:nginx',
  claim_mappings: {
    '/kubernetes.io/namespace': 'service_account_namespace',
    '/kubernetes.io/serviceaccount/name': 'service_account_name',
    '/kubernetes.io/pod/name': 'pod_name',
  },
  token_policies: ['nginx'],
  token_ttl: '1h',
  token_max_ttl: '24h',
};

/**
 * The role `nginx-batch` of the dev config: as `nginx`, issuing batch tokens (nothing stored at
 * login; docs/security.md "Batch tokens").
 */
export const DEV_BATCH_ROLE = { ...DEV_ROLE, token_type: 'batch' };

/**
 * The role `web-team` of the dev config: any service account of a namespace labelled `team: web`
 * (the dev cluster's `test` is), by Vault's namespace selector instead of a list of names.
 */
export const DEV_SELECTOR_ROLE = {
  bound_service_account_names: ['*'],
  bound_service_account_namespace_selector: { matchLabels: { team: 'web' } },
  audience: 'vault',
  token_policies: ['nginx'],
  token_ttl: '1h',
  token_max_ttl: '24h',
};

/**
 * The dev policies: each workload reads and lists its own namespace's secrets and signs identity
 * tokens for role `nginx`; load-test tokens read theirs the same way. One policy serves every
 * namespace: the path is templated from the token's identity.
 */
export const DEV_POLICIES = {
  nginx: {
    path: {
      'secret/data/{{identity.namespace}}/*': { capabilities: ['read', 'list'] },
      'secret/metadata/{{identity.namespace}}/*': { capabilities: ['read', 'list'] },
      'identity/oidc/token/nginx': { capabilities: ['read'] },
    },
  },
  load: {
    path: {
      'secret/data/{{identity.namespace}}/*': { capabilities: ['read'] },
    },
  },
};

/** Lifetime of the reviewer token that dev writes, and how often it rewrites it (80 %, as the kubelet). */
