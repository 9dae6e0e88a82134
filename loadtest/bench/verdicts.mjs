/**
 * The targets of targets.mjs checked on the report's rows, and their verdicts as text lines (for
 * stdout) and markdown list items (for docs/benchmarks.md).
 */
import { fmt } from './report.mjs';

/**
 * @typedef {object} Verdict
 * @property {import('./targets.mjs').Target} target
 * @property {'PASS' | 'FAIL' | 'n/a'} result  n/a: a row it needs did not run, or has no such figure
 * @property {number} [ratio]  ratio targets: the compared figure, subject ÷ reference (by req/s, or
 *   by CPU per request with `by: 'cpu'`)
 * @property {number} [costRatio]  ratio targets by req/s: the reference's CPU s/1k ÷ the subject's,
 *   the same comparison by what a request costs the server, which the load generator and the rest
 *   of the machine disturb much less
 * @property {number} [value]  bound targets: the subject's figure
 * @property {number} [max]  bound targets: the bound, resolved for these options
 */

/** How a bound target's figure is written. */
const METRICS = {
  p99Ms: { label: 'p99', unit: ' ms', format: fmt.ms },
  tokenReviewsPer1k: { label: 'TokenReviews per 1 000 logins', unit: '', format: fmt.per1k },
  apiCallsPer1k: { label: 'API server calls per 1 000 requests', unit: '', format: fmt.per1k },
  durationSeconds: { label: 'last answer after', unit: ' s', format: (n) => n.toFixed(2) },
};

/**
 * @param {import('./targets.mjs').Target[]} targets
 * @param {import('./report.mjs').Row[]} rows
 * @param {import('./fixtures.mjs').BenchOptions} opts  for bounds that depend on them
 * @returns {Verdict[]}
 */
export const evaluateTargets = (targets, rows, opts) => {
  const byId = new Map(rows.map((r) => [r.id, r]));
  return targets.map((target) => {
    const subject = byId.get(target.subject);
    if ('metric' in target) {
      const value = subject?.[target.metric];
      const max = typeof target.max === 'function' ? target.max(opts) : target.max;
      if (typeof value !== 'number' || Number.isNaN(value)) return { target, result: 'n/a', max };
      return { target, value, max, result: value <= max ? 'PASS' : 'FAIL' };
    }
    const reference = byId.get(target.reference);
    if (subject === undefined || reference === undefined) return { target, result: 'n/a' };
    const costRatio = reference.cpuPer1kSeconds / subject.cpuPer1kSeconds;
    const ratio = target.by === 'cpu' ? costRatio : subject.rps / reference.rps;
    return {
      target,
      ratio,
      ...(target.by === 'cpu' ? {} : { costRatio }),
      result: ratio >= target.minRatio ? 'PASS' : 'FAIL',
    };
  });
};

/**
 * What was measured, in words; `code` wraps row ids (backticks in markdown).
 *
 * @param {Verdict} v
 * @param {(id: string) => string} code
 */
const measured = (v, code) => {
  const { target } = v;
  if (v.result === 'n/a') return 'not measured in this run';
  if ('metric' in target) {
    const m = METRICS[target.metric];
    return `${code(target.subject)} ${m.label} ${m.format(/** @type {number} */ (v.value))}${m.unit}, needs ≤ ${m.format(/** @type {number} */ (v.max))}${m.unit}`;
  }
  const ratio = /** @type {number} */ (v.ratio);
  if (target.by === 'cpu') {
    return `${code(target.reference)} CPU s/1k ÷ ${code(target.subject)} CPU s/1k = ${fmt.pct(ratio)}, needs ≥ ${fmt.pct(target.minRatio)}`;
  }
  return (
    `${code(target.subject)} / ${code(target.reference)} = ${fmt.pct(ratio)} of req/s, needs ≥ ${fmt.pct(target.minRatio)}; ` +
    `by CPU per request ${fmt.pct(/** @type {number} */ (v.costRatio))}`
  );
};

/**
 * The verdicts, one line each.
 *
 * @param {Verdict[]} verdicts
 */
export const formatVerdicts = (verdicts) =>
  verdicts
    .map((v) => {
      const kind = v.target.informational ? 'info  ' : 'target';
      return `${kind} ${v.result.padEnd(4)}  ${v.target.text}: ${measured(v, (id) => id)}`;
    })
    .join('\n');

/**
 * The verdicts as markdown list items.
 *
 * @param {Verdict[]} verdicts
 * @returns {string[]}
 */
export const verdictItems = (verdicts) =>
  verdicts.map((v) => {
    const label = v.target.informational ? `${v.result} (informational)` : `**${v.result}**`;
    return `- ${label} — ${v.target.text}: ${measured(v, (id) => `\`${id}\``)}.`;
  });
