import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Store } from '../store/index.js';
import {
  createTail,
  matchesLogin,
  parseEntryLine,
  toLoginRecord,
  type LoginFilter,
  type LoginRecord,
} from './query.js';
import { createLoginSummary, type LoginSummary } from './summary.js';

/**
 * Where audit entries are read from: a device's file, or a `redis` device's stream. Readers
 * yield parsed entries; the query functions of query.ts decide what they mean.
 */

/** Entries read per round trip from a stream. */
const PAGE = 500;
/**
 * Entries are appended in about the order of their `time` (replicas' clocks differ a little), so
 * a read in time order stops once it is this far past the filter's window, ms.
 */
const ORDER_MARGIN_MS = 60_000;

/**
 * The entries of an audit file, in order; lines that hold no entry (a torn last line) are
 * skipped. `endByte` (exclusive) stops the read at a size taken earlier, for `tail -f`.
 */
export async function* fileEntries(path: string, endByte?: number): AsyncGenerator<unknown> {
  if (endByte === 0) return;
  const input = createReadStream(path, endByte === undefined ? {} : { end: endByte - 1 });
  const lines = createInterface({ input, crlfDelay: Infinity });
  for await (const line of lines) {
    const entry = parseEntryLine(line);
    if (entry !== undefined) yield entry;
  }
}

/** Ids of a stream page, as `streamRange` takes them. */
type StreamBounds = { startId: string; endId: string };

/** The entry's `time` in ms, or undefined. */
const timeOf = (entry: unknown): number | undefined => {
  const t = (entry as { time?: unknown } | undefined)?.time;
  return typeof t === 'string' ? Date.parse(t) : undefined;
};

/**
 * The entries of a stream between `bounds`, oldest first (or newest first with `reverse`), read
 * in pages of {@link PAGE}; yields each entry with its id.
 */
export async function* streamEntries(
  store: Pick<Store, 'streamRange'>,
  key: string,
  bounds: StreamBounds,
  reverse = false,
): AsyncGenerator<{ id: string; entry: unknown }> {
  let { startId, endId } = bounds;
  for (;;) {
    const page = await store.streamRange(key, { startId, endId, count: PAGE, reverse });
    for (const row of page) yield { id: row.id, entry: parseEntryLine(row.fields['entry'] ?? '') };
    const last = page[page.length - 1];
    if (last === undefined || page.length < PAGE) return;
    if (reverse) endId = `(${last.id}`;
    else startId = `(${last.id}`;
  }
}

/**
 * The logins among `entries` that match `filter`, oldest first; with `limit` > 0 only the last
 * `limit` of them.
 */
export const collectLogins = async (
  entries: AsyncIterable<unknown>,
  filter: LoginFilter,
  limit: number,
): Promise<LoginRecord[]> => {
  const tail = createTail<LoginRecord>(limit);
  for await (const entry of entries) {
    const r = toLoginRecord(entry);
    if (r !== undefined && matchesLogin(r, filter)) tail.push(r);
  }
  return tail.items();
};

/** The summary of the logins among `entries` that match `filter`. */
export const summarizeLogins = async (
  entries: AsyncIterable<unknown>,
  filter: LoginFilter,
): Promise<LoginSummary> => {
  const summary = createLoginSummary();
  for await (const entry of entries) {
    const r = toLoginRecord(entry);
    if (r !== undefined && matchesLogin(r, filter)) summary.add(r);
  }
  return summary.result();
};

/**
 * The stream's entries, oldest first, up to the end of the filter's time window (the read stops
 * {@link ORDER_MARGIN_MS} past `untilMs`). Time filtering itself is the caller's.
 */
export async function* streamEntriesFor(
  store: Pick<Store, 'streamRange'>,
  key: string,
  filter: LoginFilter,
): AsyncGenerator<unknown> {
  for await (const row of streamEntries(store, key, { startId: '-', endId: '+' })) {
    const ms = timeOf(row.entry);
    if (filter.untilMs !== undefined && ms !== undefined && ms > filter.untilMs + ORDER_MARGIN_MS) return;
    yield row.entry;
  }
}

/**
 * The last `limit` logins (> 0) of a stream that match `filter`, oldest first. Reads backwards
 * from the newest entry and stops once it has `limit`, or is {@link ORDER_MARGIN_MS} before
 * `sinceMs`, so a query for recent logins costs a few pages however long the stream is.
 *
 * @param endId read nothing newer than this id (default: the newest).
 */
export const recentStreamLogins = async (
  store: Pick<Store, 'streamRange'>,
  key: string,
  filter: LoginFilter,
  limit: number,
  endId = '+',
): Promise<LoginRecord[]> => {
  const found: LoginRecord[] = [];
  for await (const { entry } of streamEntries(store, key, { startId: '-', endId }, true)) {
    const ms = timeOf(entry);
    if (filter.sinceMs !== undefined && ms !== undefined && ms < filter.sinceMs - ORDER_MARGIN_MS) break;
    const r = toLoginRecord(entry);
    if (r !== undefined && matchesLogin(r, filter)) found.push(r);
    if (found.length >= limit) break;
  }
  return found.reverse();
};
