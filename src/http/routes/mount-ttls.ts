/** Vault's system default and max lease TTL (768h): a mount that sets none has these. */
export const SYSTEM_LEASE_TTL_SECONDS = 768 * 3600;

/**
 * A mount's lease TTLs as its table entry keeps them (0 = none set), with the system's in place
 * of the zeros: what Vault's tune read and `sys/internal/ui/mounts/<path>` answer (the latter
 * since hashicorp/vault#23914), where `sys/mounts` and `sys/auth` show the zeros.
 */
export const ttlsInEffect = <T extends { default_lease_ttl: number; max_lease_ttl: number }>(
  config: T,
): T => ({
  ...config,
  default_lease_ttl: config.default_lease_ttl || SYSTEM_LEASE_TTL_SECONDS,
  max_lease_ttl: config.max_lease_ttl || SYSTEM_LEASE_TTL_SECONDS,
});
