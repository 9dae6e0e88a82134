/**
 * Who an ACL is for: a token's policies and the identity its templated paths draw on. Every
 * value comes from the token record (itself from a verified login), never from request input.
 */
export type AclSubject = {
  /** Policy names on the token, normalized (lowercase) as logins issue them. Unknown names grant nothing. */
  policies: readonly string[];
  /**
   * The token's metadata: `role`, `service_account_name`, `service_account_namespace`,
   * `service_account_uid`, `service_account_secret_name`, and `pod_name`, `pod_uid` when the
   * token was bound to a pod.
   */
  metadata: Readonly<Record<string, string>>;
  /** The role logged in with. */
  role: string;
  /** The auth mount, e.g. `kubernetes`. */
  mountPath: string;
  /** The auth mount's accessor, e.g. `auth_kubernetes_1a2b3c4d` (what `sys/auth` lists). */
  mountAccessor: string;
  entityId: string;
};
