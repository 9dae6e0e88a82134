/**
 * A budget of log lines per second for one kind of event, so that a flood of them — a client
 * retrying a bad token in a loop, a scan with garbage tokens — cannot become a flood of log lines
 * as well. Writing one costs more than refusing the login it reports (pino's redaction and JSON,
 * about 15 µs against a refusal's 100): under a flood, logging was most of the work.
 *
 * Lines past the budget are not written but counted by reason; when the second is over, one
 * summary reports how many were left out. The audit devices, not the log, are the record of
 * every login: they are not budgeted.
 */
export type LogBudget = {
  /** True when the line may be written; false when it is over the budget (it is then counted). */
  take(reason: string): boolean;
  /** Writes the pending summary now, if any (at shutdown). */
  flush(): void;
};

export type LogBudgetOptions = {
  /** Lines written per second, at most. */
  perSecond: number;
  nowMs: () => number;
  /** Called once per second that left lines out: how many, by reason. */
  onSuppressed: (summary: { suppressed: number; reasons: Record<string, number> }) => void;
};

export const createLogBudget = ({ perSecond, nowMs, onSuppressed }: LogBudgetOptions): LogBudget => {
  let windowStartMs = -Infinity;
  let used = 0;
  let reasons = new Map<string, number>();
  let timer: NodeJS.Timeout | undefined;

  const flush = () => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    if (reasons.size === 0) return;
    const counted = reasons;
    reasons = new Map();
    let suppressed = 0;
    for (const n of counted.values()) suppressed += n;
    onSuppressed({ suppressed, reasons: Object.fromEntries(counted) });
  };

  return {
    take: (reason) => {
      const now = nowMs();
      if (now - windowStartMs >= 1000) {
        flush();
        windowStartMs = now;
        used = 0;
      }
      if (used < perSecond) {
        used++;
        return true;
      }
      reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
      if (timer === undefined) {
        timer = setTimeout(flush, Math.max(0, windowStartMs + 1000 - now));
        timer.unref();
      }
      return false;
    },
    flush,
  };
};
