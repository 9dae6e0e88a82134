import type { Logger } from 'pino';
import type { Clock } from '../lib/clock.js';
import type { Keys, Store } from '../store/index.js';
import type { RevocationIndex, TokenRecord } from './record.js';
import type { MountTtls } from './ttl.js';
import type { AuthBlock } from './vault-shapes.js';

export type TokenServiceDeps = {
  store: Pick<
    Store,
    | 'get'
    | 'set'
    | 'delete'
    | 'incrBy'
    | 'batch'
    | 'setMembers'
    | 'setRemove'
    | 'indexMembers'
    | 'indexRemove'
    | 'raiseTo'
    | 'scanPrefix'
    | 'confirmReplicated'
    | 'writeEpoch'
  >;
  keys: Pick<
    Keys,
    'token' | 'tokenUses' | 'accessor' | 'index' | 'legacyIndex' | 'batchRevoked' | 'storeBorn'
  >;
  clock: Clock;
  /**
   * HMAC-SHA256 key under which tokens and accessors are stored, and from which the key of the
   * records' MACs is derived; at least 32 bytes.
   */
  serverKey: Buffer;
  /**
   * Where a token entry found tampered with is reported (`tokens.record_tampered`, an error):
   * default nowhere.
   */
  log?: Pick<Logger, 'error'>;
  /**
   * The most live tokens `listAccessors` lists (`LIST auth/token/accessors`); past it the listing
   * is refused (400). A whole number ≥ 1; default 100 000 (`MAX_LISTED_TOKENS`).
   */
  maxListedTokens?: number;
  /** Source of randomness; default `crypto.randomBytes`. Injected for tests only. */
  randomBytes?: (n: number) => Buffer;
};

/** What an auth method hands over after a successful login. Durations are whole seconds. */
export type IssueInput = {
  /** Token policies, `default` already included unless the role disabled it. */
  policies: string[];
  metadata: Record<string, string>;
  /** Already prefixed with the mount (`kubernetes-<ns>-<sa>`). */
  displayName: string;
  /** Creation path, e.g. `auth/kubernetes/login`. */
  path: string;
  entityId: string;
  role: string;
  mountPath: string;
  /** Role `token_ttl`; 0 = mount default. */
  ttlSeconds: number;
  /** Role `token_max_ttl`; 0 = mount max. */
  maxTtlSeconds: number;
  /** Role `token_explicit_max_ttl`; 0 = none. Never re-read at renewal. */
  explicitMaxTtlSeconds: number;
  /** Role `token_period`; 0 = not periodic. */
  periodSeconds: number;
  /** Role `token_num_uses`; 0 = unlimited. */
  numUses: number;
  /** Role `token_bound_cidrs`; empty = anywhere. */
  boundCidrs: string[];
  mount: MountTtls;
  /** Revocation indexes to list the token in (operator revocation by role, SA, pod). */
  indexes?: RevocationIndex[];
  /** `false` for a token that may never be renewed (`auth/token/create` `renewable: false`); default renewable. */
  renewable?: false;
  /**
   * `batch` for a batch token (the role's `token_type: batch`): not stored, never renewable,
   * revocable only through its indexes. Requires `periodSeconds` and `numUses` 0. Default service.
   */
  type?: 'batch';
};

/** A freshly issued token. `clientToken` is returned once and never stored. */
export type IssuedToken = {
  clientToken: string;
  /** `""` for a batch token, which has none. */
  accessor: string;
  /** The stored record (`numUses` = uses granted). Shape it with `authBlock`. */
  record: TokenRecord;
  /** Vault's TTL-capping warnings, for the login response's `warnings`. */
  warnings: string[];
};

/** The role's current token settings, re-read at renewal (Vault's `pathLoginRenew`). */
export type RenewRefresh = (record: TokenRecord) => Promise<{
  ttlSeconds: number;
  maxTtlSeconds: number;
  periodSeconds: number;
  /** The mount's current lease TTLs; default: those stored at issue. */
  mount?: MountTtls;
}>;

/** A renewal of a token an operator names (`auth/token/renew`, `…/renew-accessor`). */
export type TargetRenewOptions = {
  /** Requested TTL in seconds; 0 (default) = the role TTL. Ignored for periodic tokens. */
  incrementSeconds?: number;
  /** Re-reads the role; throws (e.g. `role <r> does not exist during renewal`) to refuse. */
  refresh?: RenewRefresh;
};

/** A renewal of the request's own token (renew-self). */
export type RenewOptions = TargetRenewOptions & {
  /** The peer address, for the token's bound CIDRs. */
  remoteAddress: string | undefined;
  /**
   * The `numUses` that `authenticate` returned for this very request, when the caller has
   * authenticated it (bound CIDRs checked, its use spent): renew then spends none itself.
   * Absent: renewal is a request made with the token, so renew runs authenticate's check itself
   * (bound CIDRs, one use).
   */
  usesLeft?: number;
};

/** A renewal's answer: Vault's `auth` block, and its capping warnings (Vault's CalculateTTL). */
export type RenewResult = {
  auth: AuthBlock;
  warnings: string[];
  /** The renewed token's display name, which Vault's audit `auth` has and its HTTP answer does not. */
  displayName: string;
};
