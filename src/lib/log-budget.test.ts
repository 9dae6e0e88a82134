import { afterEach, describe, expect, it, vi } from 'vitest';
import { createLogBudget } from './log-budget.js';

describe('log budget', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('lets the first lines of each second through and summarizes the rest once the second is over', () => {
    vi.useFakeTimers();
    let now = 1_000_000;
    const summaries: unknown[] = [];
    const budget = createLogBudget({
      perSecond: 3,
      nowMs: () => now,
      onSuppressed: (s) => summaries.push(s),
    });
    const taken = ['a', 'a', 'b', 'a', 'b', 'b', 'c'].map((reason) => budget.take(reason));
    expect(taken).toEqual([true, true, true, false, false, false, false]);
    expect(summaries).toEqual([]);
    now += 1000;
    vi.advanceTimersByTime(1000);
    expect(summaries).toEqual([{ suppressed: 4, reasons: { a: 1, b: 2, c: 1 } }]);
    // A new second: a fresh budget, and nothing to report while it is not exceeded.
    expect(budget.take('a')).toBe(true);
    now += 5000;
    vi.advanceTimersByTime(5000);
    expect(summaries).toHaveLength(1);
  });

  it('reports what is pending when flushed', () => {
    const summaries: unknown[] = [];
    const budget = createLogBudget({ perSecond: 0, nowMs: () => 0, onSuppressed: (s) => summaries.push(s) });
    expect(budget.take('x')).toBe(false);
    budget.flush();
    budget.flush();
    expect(summaries).toEqual([{ suppressed: 1, reasons: { x: 1 } }]);
  });
});
