import type { BatchOp, StreamEntry } from '../../src/store/index.js';
import {
  INTEGER,
  compareIds,
  fail,
  fromStart,
  invalidArguments,
  sameEntries,
  sameMembers,
  show,
  toEnd,
} from './store-checks.js';
import { boundId, kindOf, type Outcome, type StoreOp, type StreamRead } from './store-ops.js';

/*
 * A model of the Store interface (src/store/store.ts) as its documentation states it, for
 * test/store-model.test.ts. It checks each answer of one store and follows that store's state.
 *
 * Time is never known exactly: a call is made at some instant of an interval (the milliseconds
 * around a real call, or one instant of a fake clock), and an entry expires at some instant of
 * an interval. Where the intervals overlap, whether an entry is still there is unknown, and
 * either answer is right; the answer then says which it was, and the model keeps that.
 */

/** Some instant in [lo, hi], ms: when an entry stops being live, or when a call was made. */
export type Span = { lo: number; hi: number };
const FOREVER: Span = { lo: Infinity, hi: Infinity };
type Liveness = 'live' | 'dead' | 'unknown';

const liveness = (expiry: Span, at: Span): Liveness =>
  at.hi < expiry.lo ? 'live' : at.lo >= expiry.hi ? 'dead' : 'unknown';
const both = (a: Liveness, b: Liveness): Liveness =>
  a === 'dead' || b === 'dead' ? 'dead' : a === 'live' && b === 'live' ? 'live' : 'unknown';
const later = (a: Span, b: Span): Span => ({ lo: Math.max(a.lo, b.lo), hi: Math.max(a.hi, b.hi) });

type StringEntry = { value: string; expiry: Span };
/** `maybeGone`: every member left may have expired, and the store may have dropped the index. */
type IndexEntry = { expiry: Span; members: Map<string, Span>; maybeGone: boolean };
/** `firstHeld`: entries before it have been trimmed; `kept`: how many newest ones must be held. */
type StreamState = { ids: string[]; fields: Array<Record<string, string>>; firstHeld: number; kept: number };

/** Checks whether an entry was there (`observed`) against what the model expects; `observed` settles an unknown. */
const settle = (expected: Liveness, observed: boolean, what: string): boolean => {
  if (expected === 'live' && !observed) fail(`${what}: expected present, found absent`);
  if (expected === 'dead' && observed) fail(`${what}: expected absent, found present`);
  return observed;
};

export type ModelOptions = {
  /** How much later than asked an index member may expire (the memory store rounds up to the second). */
  memberLeewayMs: number;
};

export class StoreModel {
  readonly #strings = new Map<string, StringEntry>();
  readonly #sets = new Map<string, Set<string>>();
  readonly #indexes = new Map<string, IndexEntry>();
  readonly #streams = new Map<string, StreamState>();
  readonly #options: ModelOptions;

  constructor(options: ModelOptions) {
    this.#options = options;
  }

  /** The ids the store gave the entries of stream `key`, oldest first (trimmed ones included). */
  streamIds(key: string): readonly string[] {
    return this.#streams.get(key)?.ids ?? [];
  }

  /** Checks `outcome` of `op`, made at some instant of `at`, and follows the store's state. */
  check(op: StoreOp, outcome: Outcome, at: Span): void {
    const invalid = invalidArguments(op);
    if (invalid !== undefined) {
      if (!('error' in outcome) || !(outcome.error instanceof TypeError))
        fail(
          `${invalid}: expected a TypeError, got ${'error' in outcome ? String(outcome.error) : show(outcome.ok)}`,
        );
      return;
    }
    if (op.op === 'incrBy' && 'error' in outcome) return this.#incrByRefused(op.key, at);
    if ('error' in outcome) return fail(`threw ${String(outcome.error)}`);
    const r = outcome.ok;
    switch (op.op) {
      case 'get': {
        const e = this.#string(op.key, at, r !== undefined);
        if (r !== undefined && r !== e?.value) fail(`get: expected ${show(e?.value)}, got ${show(r)}`);
        return;
      }
      case 'set':
        return this.#set(op.key, op.value, op.options, r as boolean, at);
      case 'delete': {
        let certain = 0;
        let maybe = 0;
        for (const key of op.keys) {
          const l = this.#liveness(key, at);
          if (l === 'live') certain++;
          if (l === 'unknown') maybe++;
          this.#drop(key);
        }
        const n = r as number;
        if (n < certain || n > certain + maybe)
          fail(`delete: expected ${certain}${maybe > 0 ? `..${certain + maybe}` : ''}, got ${n}`);
        return;
      }
      case 'deleteIfEquals': {
        const e = this.#strings.get(op.key);
        const matches = e !== undefined && e.value === op.value;
        settle(matches ? liveness(e.expiry, at) : 'dead', r as boolean, 'deleteIfEquals');
        // Deleted now, or expired already.
        if (matches || (e !== undefined && liveness(e.expiry, at) === 'dead')) this.#strings.delete(op.key);
        return;
      }
      case 'incrBy':
        return this.#incrBy(op.key, op.delta, op.ttlMs, r as number, at);
      case 'ttlMs':
        return this.#ttl(op.key, r as number | undefined, at);
      case 'setAdd': {
        if (op.members.length === 0) return;
        const set = this.#sets.get(op.key) ?? new Set();
        for (const m of op.members) set.add(m);
        this.#sets.set(op.key, set);
        return;
      }
      case 'setRemove': {
        const set = this.#sets.get(op.key);
        for (const m of op.members) set?.delete(m);
        if (set?.size === 0) this.#sets.delete(op.key);
        return;
      }
      case 'setMembers':
        return sameMembers('setMembers', r as string[], [...(this.#sets.get(op.key) ?? [])], []);
      case 'indexMembers':
        return this.#indexMembers(op.key, r as string[], at);
      case 'indexRemove':
        return this.#indexRemove(op.key, op.members, at);
      case 'batch': {
        const results = r as boolean[];
        if (!Array.isArray(results) || results.length !== op.ops.length)
          fail(`batch: expected ${op.ops.length} results, got ${show(results)}`);
        op.ops.forEach((b, i) => this.#batchOp(b, results[i] as boolean, at, i));
        return;
      }
      case 'streamAdd':
        return this.#streamAdd(op.key, op.fields, op.maxLen, r as string);
      case 'streamRange':
        return this.#streamRange(op, r as StreamRead);
      case 'wait':
      case 'sweep':
        return;
    }
  }

  #expiry(ttlMs: number | undefined, at: Span, leewayMs = 0): Span {
    if (ttlMs === undefined) return FOREVER;
    const ms = Math.ceil(ttlMs);
    // A time near Number.MAX_SAFE_INTEGER is not kept to the millisecond.
    const eps = (at.hi + ms) * Number.EPSILON * 4;
    return { lo: at.lo + ms - eps, hi: at.hi + ms + leewayMs + eps };
  }

  /** The string entry at `key`, once the store has said whether it is there (`present`). */
  #string(key: string, at: Span, present: boolean): StringEntry | undefined {
    const e = this.#strings.get(key);
    const there = settle(e === undefined ? 'dead' : liveness(e.expiry, at), present, `string ${show(key)}`);
    if (!there) this.#strings.delete(key);
    return there ? e : undefined;
  }

  #set(
    key: string,
    value: string,
    options: { ttlMs?: number; mode?: string } | undefined,
    written: boolean,
    at: Span,
  ) {
    const e = this.#strings.get(key);
    const l = e === undefined ? 'dead' : liveness(e.expiry, at);
    const mode = options?.mode ?? 'always';
    if (mode === 'always') settle('live', written, 'set');
    if (mode === 'if-absent')
      settle(l === 'live' ? 'dead' : l === 'dead' ? 'live' : 'unknown', written, 'set if-absent');
    if (mode === 'if-present') {
      settle(l, written, 'set if-present');
      if (!written) this.#strings.delete(key);
    }
    if (written) this.#strings.set(key, { value, expiry: this.#expiry(options?.ttlMs, at) });
  }

  #incrBy(key: string, delta: number, ttlMs: number | undefined, got: number, at: Span) {
    const e = this.#strings.get(key);
    const l = e === undefined ? 'dead' : liveness(e.expiry, at);
    const created = { value: String(delta), expiry: this.#expiry(ttlMs, at) };
    const counted = e !== undefined && INTEGER.test(e.value) ? Number(e.value) + delta : undefined;
    if (l === 'dead' || (l === 'unknown' && got === delta && counted !== delta)) {
      if (got !== delta) fail(`incrBy: expected ${delta} (a new counter), got ${show(got)}`);
      this.#strings.set(key, created);
      return;
    }
    if (counted === undefined) fail(`incrBy: expected a refusal (value ${show(e?.value)}), got ${show(got)}`);
    if (got !== counted) fail(`incrBy: expected ${show(counted)}, got ${show(got)}`);
    const kept = e as StringEntry;
    // Unknown whether it counted on or began again: the expiry is one or the other.
    const expiry =
      l === 'live'
        ? kept.expiry
        : {
            lo: Math.min(kept.expiry.lo, created.expiry.lo),
            hi: Math.max(kept.expiry.hi, created.expiry.hi),
          };
    this.#strings.set(key, { value: String(got), expiry });
  }

  /** INCRBY refused: the key held something that is not an integer, and still does. */
  #incrByRefused(key: string, at: Span) {
    const e = this.#strings.get(key);
    const l = e === undefined ? 'dead' : liveness(e.expiry, at);
    if (l === 'dead' || INTEGER.test(e?.value ?? '0'))
      fail(`incrBy: refused, but ${show(key)} holds ${show(e?.value)}`);
  }

  #ttl(key: string, got: number | undefined, at: Span) {
    const kind = kindOf(key);
    if (kind === 'set' || kind === 'stream') {
      const there = kind === 'set' ? this.#sets.has(key) : this.#streams.has(key);
      settle(there ? 'live' : 'dead', got !== undefined, `ttlMs ${show(key)}`);
      if (there && got !== Infinity) fail(`ttlMs ${show(key)}: expected Infinity, got ${show(got)}`);
      return;
    }
    const expiry = kind === 'string' ? this.#strings.get(key)?.expiry : this.#indexes.get(key)?.expiry;
    if (!settle(this.#liveness(key, at), got !== undefined, `ttlMs ${show(key)}`)) return this.#drop(key);
    if (kind === 'index') (this.#indexes.get(key) as IndexEntry).maybeGone = false;
    const { lo, hi } = expiry as Span;
    if (lo === Infinity) {
      if (got !== Infinity) fail(`ttlMs ${show(key)}: expected Infinity, got ${show(got)}`);
      return;
    }
    // Redis counts a key live while its expiry is not past (PTTL 0), the memory store until it comes.
    const least = lo - 1 - at.hi;
    const most = hi - at.lo;
    if (!(typeof got === 'number' && got >= least && got <= most))
      fail(
        `ttlMs ${show(key)}: expected ${Math.max(0, Math.floor(least))}..${Math.ceil(most)}, got ${show(got)}`,
      );
  }

  #liveness(key: string, at: Span): Liveness {
    switch (kindOf(key)) {
      case 'string': {
        const e = this.#strings.get(key);
        return e === undefined ? 'dead' : liveness(e.expiry, at);
      }
      case 'set':
        return this.#sets.has(key) ? 'live' : 'dead';
      case 'stream':
        return this.#streams.has(key) ? 'live' : 'dead';
      case 'index': {
        const e = this.#indexes.get(key);
        if (e === undefined) return 'dead';
        const l = liveness(e.expiry, at);
        return l === 'live' && e.maybeGone ? 'unknown' : l;
      }
    }
  }

  #drop(key: string) {
    this.#strings.delete(key);
    this.#sets.delete(key);
    this.#indexes.delete(key);
    this.#streams.delete(key);
  }

  #batchOp(b: BatchOp, result: boolean, at: Span, i: number) {
    switch (b.op) {
      case 'set':
        return this.#set(b.key, b.value, b.options, result, at);
      case 'delete':
        settle(this.#liveness(b.key, at), result, `batch[${i}] delete`);
        return this.#drop(b.key);
      case 'indexAdd':
        if (result !== true) fail(`batch[${i}] indexAdd: expected true, got ${show(result)}`);
        return this.#indexAdd(b.key, b.members, b.ttlMs, at);
    }
  }

  #indexAdd(key: string, members: readonly string[], ttlMs: number, at: Span) {
    // No members, no index: it expires with its last member, and there is none.
    if (members.length === 0) return;
    const expiry = this.#expiry(ttlMs, at);
    const memberExpiry = this.#expiry(ttlMs, at, this.#options.memberLeewayMs);
    const l = this.#liveness(key, at);
    const e = this.#indexes.get(key);
    if (l === 'dead' || e === undefined) {
      this.#indexes.set(key, {
        expiry,
        members: new Map(members.map((m) => [m, memberExpiry])),
        maybeGone: false,
      });
      return;
    }
    // Unknown whether the index was still there: the new expiry, or the later of the two.
    e.expiry =
      l === 'live' ? later(e.expiry, expiry) : { lo: expiry.lo, hi: Math.max(e.expiry.hi, expiry.hi) };
    for (const m of members) {
      const old = e.members.get(m);
      e.members.set(
        m,
        old === undefined
          ? memberExpiry
          : l === 'live'
            ? later(old, memberExpiry)
            : { lo: memberExpiry.lo, hi: Math.max(old.hi, memberExpiry.hi) },
      );
    }
    e.maybeGone = false;
  }

  #indexMembers(key: string, got: string[], at: Span) {
    const e = this.#indexes.get(key);
    const l = this.#liveness(key, at);
    const must: string[] = [];
    const may: string[] = [];
    for (const [m, expiry] of e?.members ?? []) {
      const ml = both(l, liveness(expiry, at));
      if (ml === 'live') must.push(m);
      if (ml === 'unknown') may.push(m);
    }
    sameMembers(`indexMembers ${show(key)}`, got, must, may);
    if (e === undefined) return;
    if (l === 'dead') return this.#drop(key);
    // A member not listed has expired (or left with its index), though the store may still hold it.
    for (const m of may) {
      const x = e.members.get(m) as Span;
      if (!got.includes(m)) e.members.set(m, { lo: Math.min(x.lo, at.hi), hi: Math.min(x.hi, at.hi) });
    }
    if (got.length > 0) e.maybeGone = false;
  }

  #indexRemove(key: string, members: readonly string[], at: Span) {
    const e = this.#indexes.get(key);
    if (e === undefined) return;
    for (const m of members) e.members.delete(m);
    if (e.members.size === 0 || liveness(e.expiry, at) === 'dead') return this.#drop(key);
    // The store drops the index with the last member it holds; it may hold expired ones or not.
    if (![...e.members.values()].some((x) => liveness(x, at) === 'live')) e.maybeGone = true;
  }

  #streamAdd(key: string, fields: Record<string, string>, maxLen: number, id: string) {
    const s = this.#streams.get(key) ?? { ids: [], fields: [], firstHeld: 0, kept: 0 };
    const last = s.ids[s.ids.length - 1];
    if (typeof id !== 'string' || !/^\d+-\d+$/.test(id))
      fail(`streamAdd: expected an id <ms>-<seq>, got ${show(id)}`);
    if (last !== undefined && compareIds(last, id) >= 0) fail(`streamAdd: id ${id} does not follow ${last}`);
    s.ids.push(id);
    s.fields.push({ ...fields });
    s.kept = Math.min(maxLen, s.kept + 1);
    this.#streams.set(key, s);
  }

  #streamRange(op: Extract<StoreOp, { op: 'streamRange' }>, { held, page }: StreamRead) {
    const s = this.#streams.get(op.key);
    if (s === undefined) {
      if (held.length > 0 || page.length > 0)
        fail(`streamRange ${show(op.key)}: expected no entries, got ${show(held)}`);
      return;
    }
    // What the stream holds: the newest entries, at least as many as the last add's maxLen kept.
    const total = s.ids.length;
    const first = total - held.length;
    if (first < s.firstHeld || held.length < s.kept)
      fail(
        `streamRange ${show(op.key)}: holds ${held.length} of ${total} entries, expected ${s.kept}..${total - s.firstHeld}`,
      );
    const expected = s.ids.slice(first).map((id, i) => ({ id, fields: s.fields[first + i] }));
    sameEntries(`streamRange ${show(op.key)} (whole)`, held, expected as StreamEntry[]);
    s.firstHeld = first;
    const start = boundId(op.start, s.ids, false);
    const end = boundId(op.end, s.ids, true);
    const inRange = (id: string) => fromStart(id, start) && toEnd(id, end);
    const selected = held.filter((e) => inRange(e.id));
    if (op.reverse) selected.reverse();
    sameEntries(`streamRange ${show(op.key)} ${start}..${end}`, page, selected.slice(0, op.count));
  }
}
