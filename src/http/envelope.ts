/**
 * Vault's response envelope (`logical.HTTPResponse`): every successful JSON answer has these
 * keys, so clients that read `data` or `auth` find them where Vault puts them.
 */
export type VaultEnvelope = {
  request_id: string;
  lease_id: string;
  renewable: boolean;
  lease_duration: number;
  data: Record<string, unknown> | null;
  wrap_info: null;
  warnings: string[] | null;
  auth: Record<string, unknown> | null;
  mount_type: string;
};

export const envelope = (
  requestId: string,
  parts: {
    data?: Record<string, unknown> | null;
    auth?: Record<string, unknown> | null;
    mountType?: string;
    warnings?: string[];
  },
): VaultEnvelope => ({
  request_id: requestId,
  lease_id: '',
  renewable: false,
  lease_duration: 0,
  data: parts.data ?? null,
  wrap_info: null,
  warnings: parts.warnings && parts.warnings.length > 0 ? parts.warnings : null,
  auth: parts.auth ?? null,
  mount_type: parts.mountType ?? '',
});

/** Vault's envelope of a `sys/` answer: its mount is the system backend (`mount_type: system`). */
export const sysEnvelope = (requestId: string, data: Record<string, unknown>): VaultEnvelope =>
  envelope(requestId, { data, mountType: 'system' });
