import type { StreamEntry } from '../../src/store/index.js';
import type { StoreOp } from './store-ops.js';

/*
 * The interface's rules that test/helpers/store-model.ts checks answers by: which arguments are
 * valid, how stream ids compare, and how a mismatch is told.
 */

/** The interface's valid arguments (anything else is a caller's mistake: TypeError). */
const validTtl = (ttlMs: number | undefined) =>
  ttlMs === undefined || (ttlMs > 0 && ttlMs <= Number.MAX_SAFE_INTEGER);
const validCount = (n: number) => Number.isSafeInteger(n) && n >= 1;
/** What Redis's INCRBY reads as an integer: decimal digits, no sign but `-`, no leading zero. */
export const INTEGER = /^(0|-?[1-9][0-9]*)$/;

class Mismatch extends Error {
  override name = 'Mismatch';
}
export const fail = (message: string): never => {
  throw new Mismatch(message);
};
export const show = (v: unknown): string =>
  typeof v === 'number'
    ? String(v)
    : (JSON.stringify(v, (_, x) => (typeof x === 'number' && !Number.isFinite(x) ? String(x) : x))?.slice(
        0,
        300,
      ) ?? 'undefined');

/** What is wrong with `op`'s arguments by the interface's documentation, or undefined. */
export const invalidArguments = (op: StoreOp): string | undefined => {
  const ttls: Array<number | undefined> = [];
  if (op.op === 'set') ttls.push(op.options?.ttlMs);
  if (op.op === 'incrBy') {
    ttls.push(op.ttlMs);
    if (!Number.isSafeInteger(op.delta)) return `incrBy by ${op.delta}`;
  }
  if (op.op === 'batch')
    for (const b of op.ops)
      ttls.push(b.op === 'set' ? b.options?.ttlMs : b.op === 'indexAdd' ? b.ttlMs : undefined);
  const bad = ttls.findIndex((t) => !validTtl(t));
  if (bad >= 0) return `${op.op} with ttlMs ${String(ttls[bad])}`;
  if (op.op === 'streamAdd' && Object.keys(op.fields).length === 0) return 'streamAdd of no fields';
  if (op.op === 'streamAdd' && !validCount(op.maxLen)) return `streamAdd with maxLen ${op.maxLen}`;
  if (op.op === 'streamRange' && !validCount(op.count)) return `streamRange of count ${op.count}`;
  return undefined;
};

const parseId = (id: string): [number, number] => {
  const [ms, seq] = id.split('-');
  return [Number(ms), Number(seq)];
};
export const compareIds = (a: string, b: string): number => {
  const [am, as] = parseId(a);
  const [bm, bs] = parseId(b);
  return am === bm ? as - bs : am - bm;
};
/** Whether `id` is at or after a start bound (`-`, an id, or `(` and an id: exclusive). */
export const fromStart = (id: string, bound: string): boolean =>
  bound === '-' || (bound.startsWith('(') ? compareIds(id, bound.slice(1)) > 0 : compareIds(id, bound) >= 0);
/** Whether `id` is at or before an end bound (`+`, an id, or `(` and an id: exclusive). */
export const toEnd = (id: string, bound: string): boolean =>
  bound === '+' || (bound.startsWith('(') ? compareIds(id, bound.slice(1)) < 0 : compareIds(id, bound) <= 0);

export const sameMembers = (what: string, got: string[], must: string[], may: string[]) => {
  if (!Array.isArray(got)) fail(`${what}: expected an array, got ${show(got)}`);
  if (new Set(got).size !== got.length) fail(`${what}: a member twice in ${show(got)}`);
  const missing = must.filter((m) => !got.includes(m));
  const extra = got.filter((m) => !must.includes(m) && !may.includes(m));
  if (missing.length > 0 || extra.length > 0)
    fail(`${what}: missing ${show(missing)}, unexpected ${show(extra)} (got ${show(got)})`);
};

export const sameEntries = (what: string, got: StreamEntry[], expected: StreamEntry[]) => {
  const flat = (entries: StreamEntry[]) => entries.map((e) => [e.id, Object.entries(e.fields)]);
  if (JSON.stringify(flat(got)) !== JSON.stringify(flat(expected)))
    fail(`${what}: expected ${show(flat(expected))}, got ${show(flat(got))}`);
};
