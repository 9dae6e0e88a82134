import type { LoginRecord, LoginSummary } from '../audit/index.js';

/** Columns of a login table: header, and how a record fills it. Absent values print as `-`. */
const LOGIN_COLUMNS: Array<[string, (r: LoginRecord) => string | undefined]> = [
  ['TIME', (r) => r.time],
  ['OUTCOME', (r) => r.outcome],
  ['REASON', (r) => r.reason],
  ['MOUNT', (r) => r.mount],
  ['ROLE', (r) => r.role],
  ['NAMESPACE', (r) => r.namespace],
  ['SERVICE ACCOUNT', (r) => r.service_account],
  ['POD', (r) => r.pod],
  ['REMOTE', (r) => r.remote_address],
];

/** Widths the rows of a followed table are padded to (rows are printed before the next is known). */
const FOLLOW_WIDTHS = [24, 7, 26, 10, 10, 12, 15, 12, 0];

const cell = (v: string | undefined): string => (v === undefined || v === '' ? '-' : v);

/** C0 and C1 controls, DEL, the line and paragraph separators, bidi overrides, and `\`. */
// eslint-disable-next-line no-control-regex -- the point: these are what it finds
const UNPRINTABLE = /[\\\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/gu;
const SHORT: Record<string, string> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/**
 * A cell as it may reach a terminal: the names of a refused login are what its unverified JWT
 * claimed, chosen by whoever sent it, so a line break in one would forge a row and an escape
 * sequence would drive the operator's terminal. Each such character is written as its JSON
 * escape (`\n`, `\u001b`), a backslash as `\\`; `--json` keeps the values as they are.
 */
const printable = (s: string): string =>
  s.replace(UNPRINTABLE, (c) => SHORT[c] ?? `\\u${(c.codePointAt(0) ?? 0).toString(16).padStart(4, '0')}`);

const line = (cells: string[], widths: number[]): string =>
  cells
    .map((c, i) => c.padEnd(widths[i] ?? 0))
    .join('  ')
    .trimEnd();

/** An aligned table: each column as wide as its widest cell, two spaces between columns. */
export const renderTable = (headers: string[], untrusted: string[][]): string => {
  const rows = untrusted.map((r) => r.map(printable));
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  return [headers, ...rows].map((r) => `${line(r, widths)}\n`).join('');
};

/** The cells of one login. */
const loginCells = (r: LoginRecord): string[] => LOGIN_COLUMNS.map(([, get]) => cell(get(r)));

/** Logins as an aligned table (`authgate audit query`). */
export const renderLogins = (records: LoginRecord[]): string =>
  renderTable(
    LOGIN_COLUMNS.map(([h]) => h),
    records.map(loginCells),
  );

/** The header of a followed login table (`authgate audit tail -f`). */
export const followHeader = (): string =>
  `${line(
    LOGIN_COLUMNS.map(([h]) => h),
    FOLLOW_WIDTHS,
  )}\n`;

/** One row of a followed login table, padded to fixed widths. */
export const followRow = (r: LoginRecord): string => `${line(loginCells(r).map(printable), FOLLOW_WIDTHS)}\n`;

/** A record as one JSON line (`--json`). */
export const jsonLine = (value: unknown): string => `${JSON.stringify(value)}\n`;

/** `authgate audit summary` as text: totals, logins per workload and outcome, top denial reasons. */
export const renderSummary = (s: LoginSummary, window: { since?: string; until?: string }): string => {
  const span = `${window.since ?? 'the beginning'} to ${window.until ?? 'now'}`;
  const parts = [
    `logins from ${span}: ${s.total} (ok ${s.outcomes.ok}, denied ${s.outcomes.denied}, error ${s.outcomes.error})\n`,
  ];
  if (s.identities.length > 0) {
    parts.push(
      '\n',
      renderTable(
        ['NAMESPACE', 'SERVICE ACCOUNT', 'ROLE', 'OK', 'DENIED', 'ERROR', 'TOTAL'],
        s.identities.map((c) => [
          c.namespace,
          c.service_account,
          c.role,
          String(c.ok),
          String(c.denied),
          String(c.error),
          String(c.total),
        ]),
      ),
    );
  }
  if (s.denial_reasons.length > 0) {
    parts.push(
      '\n',
      renderTable(
        ['DENIAL REASON', 'COUNT'],
        s.denial_reasons.map((d) => [d.reason, String(d.count)]),
      ),
    );
  }
  return parts.join('');
};
