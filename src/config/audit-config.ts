import { TIMEOUT_BOUNDS, durationSeconds } from './durations.js';
import type { ConfigDocument } from './schema.js';
import type { AuditDeviceConfig, Problem } from './types.js';

/** Defaults of an audit device: a 2 s bounded wait; a stream of at least 100 000 entries. */
export const AUDIT_DEFAULTS = { timeoutSeconds: 2, maxLen: 100_000 } as const;

/**
 * Normalizes `audit`: each device's options checked against its type (`path` is required for
 * `file` and means nothing elsewhere; `max_len` is for `redis`, `prefix` for line devices). The
 * file is not opened here: a device that cannot write is a runtime failure (logged, and
 * fail-closed if no other device can write), as in Vault, not a reason to refuse to start.
 */
export const normalizeAudit = (
  doc: ConfigDocument['audit'],
  problem: Problem,
  file: (p: string | undefined) => string | undefined,
): AuditDeviceConfig[] => {
  const seconds = durationSeconds(problem);
  return Object.entries(doc ?? {}).map(([name, d]) => {
    const at = `audit.${name}`;
    if (d.type === 'file' && d.path === undefined) problem(`${at}.path`, 'is required for a file device');
    if (d.type !== 'file' && d.path !== undefined) problem(`${at}.path`, 'is only used by a file device');
    if (d.type !== 'redis' && d.max_len !== undefined)
      problem(`${at}.max_len`, 'is only used by a redis device');
    if (d.type === 'redis' && d.prefix !== undefined)
      problem(`${at}.prefix`, 'is only used by file and stdout devices');
    return {
      name,
      type: d.type,
      path: d.type === 'file' ? file(d.path) : undefined,
      hmacAccessor: d.hmac_accessor ?? true,
      prefix: d.prefix ?? '',
      timeoutMs: seconds(d.timeout, `${at}.timeout`, AUDIT_DEFAULTS.timeoutSeconds, TIMEOUT_BOUNDS) * 1000,
      maxLen: d.max_len ?? AUDIT_DEFAULTS.maxLen,
    };
  });
};
