import { open, stat, type FileHandle } from 'node:fs/promises';
import { StringDecoder } from 'node:string_decoder';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Store } from '../store/index.js';
import { parseEntryLine } from './query.js';
import { streamEntries } from './sources.js';

/** How to follow: until `signal` aborts, checking every `pollMs`. */
export type FollowOptions = { signal: AbortSignal; pollMs?: number };

const pause = (ms: number, signal: AbortSignal) => sleep(ms, undefined, { signal }).catch(() => undefined);

/**
 * Follows an audit file from byte `fromByte` as `tail -F` does: each complete new line's entry
 * is passed to `onEntry`. When the file is moved away (logrotate) or truncated, the rest of the
 * old file is read first, then the new file at the same path from its start. A path that does
 * not exist (between a move and the first new line) is waited for. Resolves when `signal` aborts.
 */
export const followFile = async (
  path: string,
  fromByte: number,
  onEntry: (entry: unknown) => void,
  { signal, pollMs = 250 }: FollowOptions,
): Promise<void> => {
  let fh: FileHandle | undefined;
  let ino: number | undefined;
  let pos = fromByte;
  let partial = '';
  const buffer = Buffer.alloc(64 * 1024);
  // Kept across reads: a character whose bytes a read splits is decoded whole at the next.
  let decoder = new StringDecoder('utf8');

  /** Reads what the open file has past `pos` and emits its complete lines. */
  const readNew = async () => {
    if (fh === undefined) return;
    for (;;) {
      const { bytesRead } = await fh.read(buffer, 0, buffer.length, pos);
      if (bytesRead === 0) return;
      pos += bytesRead;
      const lines = (partial + decoder.write(buffer.subarray(0, bytesRead))).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        const entry = parseEntryLine(line);
        if (entry !== undefined) onEntry(entry);
      }
    }
  };

  try {
    while (!signal.aborted) {
      const st = await stat(path).catch(() => undefined);
      if (st !== undefined && (st.ino !== ino || st.size < pos)) {
        // A new file at the path: finish the old one, then start the new one from its beginning.
        await readNew();
        await fh?.close();
        fh = await open(path, 'r');
        if (ino !== undefined) pos = 0;
        ino = st.ino;
        partial = '';
        decoder = new StringDecoder('utf8');
      }
      await readNew();
      await pause(pollMs, signal);
    }
  } finally {
    await fh?.close();
  }
};

/**
 * Follows a `redis` device's stream: every entry added after `afterId` is passed to `onEntry`,
 * polling every `pollMs`. Resolves when `signal` aborts; rejects when the store fails.
 */
export const followStream = async (
  store: Pick<Store, 'streamRange'>,
  key: string,
  afterId: string,
  onEntry: (entry: unknown) => void,
  { signal, pollMs = 1000 }: FollowOptions,
): Promise<void> => {
  let last = afterId;
  while (!signal.aborted) {
    for await (const row of streamEntries(store, key, {
      startId: last === '-' ? '-' : `(${last}`,
      endId: '+',
    })) {
      last = row.id;
      if (row.entry !== undefined) onEntry(row.entry);
    }
    await pause(pollMs, signal);
  }
};
