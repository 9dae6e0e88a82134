/**
 * What the HTTP layer hands to audit: one request as received and, later, the answer it got.
 * These hold secrets in plaintext (the client token, the login JWT, request and response data);
 * only the formatted entries (entry.ts), with every sensitive value HMAC'd, ever leave audit/.
 */

/** Vault's operation of a request: POST/PUT `update`, GET/HEAD `read`, DELETE `delete`, LIST `list`. */
export type AuditOperation = 'create' | 'read' | 'update' | 'delete' | 'list';

/** Where a path is mounted, as Vault's entries name it (`auth/kubernetes/`, `kubernetes`, `auth`). */
export type AuditMount = {
  point: string;
  type: string;
  class: 'auth' | 'secret' | '';
  /** The mount's accessor (`auth_kubernetes_…`), for the mounts that have one. */
  accessor?: string;
};

/** A request, before any device formats it. */
export type AuditRequest = {
  /** The request id, also the response envelope's `request_id`: it pairs the two entries. */
  id: string;
  operation: AuditOperation;
  /** The path without `/v1/` and without the query (`auth/kubernetes/login`). */
  path: string;
  /**
   * A secret the path ends with (the token of Vault's old `auth/token/lookup/<token>` form),
   * which entries write HMAC'd; undefined for any other path.
   */
  pathSecret?: string | undefined;
  mount: AuditMount;
  /** The token the request carried (`X-Vault-Token` or a bearer), if any. HMAC'd in entries. */
  clientToken: string | undefined;
  /**
   * Who the token belongs to, once the ACL check has read its record: a Vault `auth` block
   * (`accessor`, `display_name`, `entity_id`, `metadata`, `policies`, `token_policies`,
   * `lease_duration` and `issue_time_ms` of the token, `policy_results`), so that the entry of
   * a secret read names the workload — also when its policies refused the request. For the
   * admin token `display_name: root`, `policies: [root]`. Absent for a request with no token, or
   * one refused before its token was looked up (unknown, expired).
   */
  caller?: Record<string, unknown>;
  /** The body (or, for a read, the query). Every string in it is HMAC'd in entries. */
  data: Record<string, unknown> | undefined;
  /**
   * The error of the token check (Vault's CheckToken) when it refused the request: Vault writes
   * it in the request entry (`permission denied`). Undefined for any request that passed it.
   */
  checkError?: string;
  /** The client address (the proxy's forwarded one when the proxy is trusted). */
  remoteAddress: string;
  remotePort: number | undefined;
};

/** How a request ended, in authgate's words: what Vault's entries do not say. */
export type AuditOutcome = 'ok' | 'denied' | 'error';

/**
 * The workload of a login. `verified` says whether a verifier proved it (a successful login) or
 * it was only read from the unverified JWT of a refused one: a refused token may claim anything.
 */
export type AuditLoginSubject = {
  mount: string;
  /** A role of the mount; absent when the request named none or one that does not exist. */
  role?: string;
  namespace?: string;
  service_account?: string;
  pod?: string;
  verified: boolean;
};

/**
 * authgate's own block of a response entry (the top-level `authgate` field, after Vault's
 * fields): the outcome and, for a refusal, the precise internal reason the client never sees.
 */
export type AuthgateAuditBlock = {
  outcome: AuditOutcome;
  /** `ok`, or the internal reason (`namespace_not_bound`, `tokenreview_pod_not_found`, `missing_jwt`). */
  reason: string;
  /** A longer internal explanation when there is one (`lookup failed: …`); never a token. */
  detail?: string;
  /** The HTTP status the client got. */
  status: number;
  /** Login requests only. */
  login?: AuditLoginSubject;
};

/** The answer to a request, before any device formats it. */
export type AuditResponse = {
  /** The envelope's `auth` block (a login or renewal), with the token in plaintext. */
  auth: Record<string, unknown> | undefined;
  /**
   * The display name of the token in `auth` (`kubernetes-<namespace>-<service account>`), which
   * Vault's audit `auth` has and its HTTP answer does not.
   */
  authDisplayName?: string | undefined;
  /** The envelope's `data`. Every string in it is HMAC'd in entries. */
  data: Record<string, unknown> | undefined;
  warnings: string[] | undefined;
  /** The client-facing error messages, joined; undefined on success. */
  error: string | undefined;
  authgate: AuthgateAuditBlock;
};

/**
 * One audit entry as written: Vault's fields in Vault's order (`time, auth, error, request,
 * response, type`; `forwarded` is never set by authgate, so, as with Vault's omitempty, it is
 * absent), then authgate's block on response entries.
 */
export type AuditEntry = {
  time: string;
  auth: Record<string, unknown>;
  error?: string;
  request: Record<string, unknown>;
  response?: Record<string, unknown>;
  type: 'request' | 'response';
  authgate?: AuthgateAuditBlock;
};
