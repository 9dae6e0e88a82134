import type { LoginRecord } from './query.js';
import type { AuditOutcome } from './types.js';

/** Logins of one workload (namespace, service account, role) by outcome. */
export type IdentityCounts = {
  namespace: string;
  service_account: string;
  role: string;
  ok: number;
  denied: number;
  error: number;
  total: number;
};

/** What `authgate audit summary` prints. Absent identity fields are `-`. */
export type LoginSummary = {
  total: number;
  outcomes: Record<AuditOutcome, number>;
  /** Most logins first; ties by namespace, service account, role. */
  identities: IdentityCounts[];
  /** The most frequent reasons of `denied` logins, most frequent first (ties by name). */
  denial_reasons: Array<{ reason: string; count: number }>;
};

/**
 * Counts login records as they stream by (a file or stream need not be held in memory): per
 * namespace / service account / role and outcome, and the reasons of refusals.
 */
export const createLoginSummary = () => {
  const outcomes: Record<AuditOutcome, number> = { ok: 0, denied: 0, error: 0 };
  const identities = new Map<string, IdentityCounts>();
  const reasons = new Map<string, number>();
  let total = 0;

  return {
    add: (r: LoginRecord): void => {
      total++;
      outcomes[r.outcome]++;
      const namespace = r.namespace ?? '-';
      const service_account = r.service_account ?? '-';
      const role = r.role ?? '-';
      const key = `${namespace}\n${service_account}\n${role}`;
      let counts = identities.get(key);
      if (counts === undefined) {
        counts = { namespace, service_account, role, ok: 0, denied: 0, error: 0, total: 0 };
        identities.set(key, counts);
      }
      counts[r.outcome]++;
      counts.total++;
      if (r.outcome === 'denied') reasons.set(r.reason, (reasons.get(r.reason) ?? 0) + 1);
    },
    /** The summary so far, with at most `topReasons` denial reasons (default 10). */
    result: (topReasons = 10): LoginSummary => ({
      total,
      outcomes: { ...outcomes },
      identities: [...identities.values()]
        .map((c) => ({ ...c }))
        .sort(
          (a, b) =>
            b.total - a.total ||
            a.namespace.localeCompare(b.namespace) ||
            a.service_account.localeCompare(b.service_account) ||
            a.role.localeCompare(b.role),
        ),
      denial_reasons: [...reasons]
        .map(([reason, count]) => ({ reason, count }))
        .sort((a, b) => b.count - a.count || a.reason.localeCompare(b.reason))
        .slice(0, topReasons),
    }),
  };
};
