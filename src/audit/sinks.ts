import { open, type FileHandle } from 'node:fs/promises';
import type { Store } from '../store/index.js';

/**
 * Where a device puts its serialized entries. `write` resolves once the entry is handed to the
 * OS (file, stdout) or stored (stream), and rejects when it cannot be: that is what makes a
 * device count as failed.
 */
export type AuditSink = {
  write(json: string): Promise<void>;
  /** Reopens the destination (a file moved away by logrotate). No-op where meaningless. */
  reopen(): Promise<void>;
  close(): Promise<void>;
};

type Pending = { text: string; resolve: () => void; reject: (err: unknown) => void };

/**
 * A JSON-lines file, opened for append (created with mode 0600: entries are HMAC'd, but they
 * still say who logged in from where). Lines written while a write is in flight are batched into
 * the next single write, so one append serves many concurrent requests. After an error the file
 * is closed and reopened at the next write (a directory or a full disk keeps failing, a passing
 * fault heals); a failed write may have left part of a line, so the next one that succeeds starts
 * with a newline when the file does not end with one. `reopen()` closes the file after the writes in flight and opens the path again,
 * so lines after a logrotate `move` + SIGHUP go to a new file at the original path.
 */
export const createFileSink = (path: string, prefix: string): AuditSink => {
  let handle: FileHandle | undefined;
  let queue: Pending[] = [];
  let reopenWaiters: Array<() => void> = [];
  let running: Promise<void> | undefined;
  /** A write failed: it may have left part of its lines (a full disk), with no newline. */
  let torn = false;

  /** A newline when the file does not end with one (what a failed write may have left). */
  const mend = async (h: FileHandle): Promise<string> => {
    const { size } = await h.stat();
    if (size === 0) return '';
    const last = Buffer.alloc(1);
    const read = await h.read(last, 0, 1, size - 1);
    return read.bytesRead === 1 && last[0] !== 0x0a ? '\n' : '';
  };

  const drop = async () => {
    const h = handle;
    handle = undefined;
    await h?.close().catch(() => undefined);
  };

  const drain = async (): Promise<void> => {
    while (queue.length > 0 || reopenWaiters.length > 0) {
      if (reopenWaiters.length > 0) {
        const waiters = reopenWaiters;
        reopenWaiters = [];
        await drop();
        for (const w of waiters) w();
        continue;
      }
      const batch = queue;
      queue = [];
      try {
        // Appending, and readable for `mend`.
        handle ??= await open(path, 'a+', 0o600);
        // The next entry starts a line of its own, so that it is not lost in a torn one's.
        const lead = torn ? await mend(handle) : '';
        await handle.appendFile(lead + batch.map((p) => p.text).join(''));
        torn = false;
        for (const p of batch) p.resolve();
      } catch (err) {
        torn = true;
        await drop();
        for (const p of batch) p.reject(err);
      }
    }
  };
  const kick = (): void => {
    running ??= drain().finally(() => {
      running = undefined;
      // A write queued after the loop's last check but before this callback ran.
      if (queue.length > 0 || reopenWaiters.length > 0) kick();
    });
  };

  return {
    write: (json) =>
      new Promise<void>((resolve, reject) => {
        queue.push({ text: `${prefix}${json}\n`, resolve, reject });
        kick();
      }),
    reopen: () =>
      new Promise<void>((resolve) => {
        reopenWaiters.push(resolve);
        kick();
      }),
    close: async () => {
      while (running !== undefined) await running;
      await drop();
    },
  };
};

/**
 * A writable stream (stdout), one line per entry. A write error rejects that write; the stream's
 * `error` event is listened to, so that a closed stdout fails the device instead of the process.
 */
export const createStreamSink = (stream: NodeJS.WritableStream, prefix: string): AuditSink => {
  const ignore = () => undefined;
  stream.on('error', ignore);
  return {
    write: (json) =>
      new Promise<void>((resolve, reject) => {
        stream.write(`${prefix}${json}\n`, (err) => (err ? reject(err) : resolve()));
      }),
    reopen: async () => undefined,
    // The stream (stdout) outlives the device: its listener goes with the device.
    close: async () => {
      stream.off('error', ignore);
    },
  };
};

/**
 * The longest entry a stream keeps as it is, in characters. The stream is bounded in entries
 * (`max_len`), not in bytes, and lives in Redis's memory (or the process's): entries a client
 * makes large (a path of 16 KiB, a body whose `data` fills its 64 KiB budget) would let a flood
 * of them, with no token, take Redis to its `maxmemory`, where every write fails. A login's
 * entries are about 1–2 KB; so `max_len` × 4 KiB is the most a stream can hold.
 */
export const STREAM_ENTRY_MAX_CHARS = 4096;
/** What a cut entry keeps of a long string. */
export const STREAM_CUT_CHARS = 512;

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const cutText = (v: unknown): unknown =>
  typeof v === 'string' && v.length > STREAM_CUT_CHARS ? `${v.slice(0, STREAM_CUT_CHARS)}…` : v;

/**
 * `json` as the stream keeps it: as it is up to {@link STREAM_ENTRY_MAX_CHARS}; past that, its
 * long strings cut to {@link STREAM_CUT_CHARS} (path, error, detail), its large `data` blocks left out, and
 * `authgate.cut: true`; should that not do, only what says who asked what, when, and how it
 * ended. The file and stdout devices keep every entry whole.
 */
export const fitForStream = (json: string): string => {
  if (json.length <= STREAM_ENTRY_MAX_CHARS) return json;
  const entry = JSON.parse(json) as Record<string, unknown>;
  /** Cuts the strings of `part` (one level), and leaves out a large `data`. */
  const cutPart = (part: unknown): void => {
    if (!isObject(part)) return;
    for (const [k, v] of Object.entries(part)) {
      if (k === 'data' && JSON.stringify(v).length > STREAM_CUT_CHARS) part[k] = '[left out of the stream]';
      else part[k] = cutText(v);
    }
  };
  cutPart(entry['request']);
  cutPart(entry['response']);
  const authgate = isObject(entry['authgate']) ? entry['authgate'] : {};
  // A refused login's subject is what its JWT claimed: as long as the client made it.
  cutPart(authgate);
  cutPart(authgate['login']);
  entry['authgate'] = { ...authgate, cut: true };
  if (entry['error'] !== undefined) entry['error'] = cutText(entry['error']);
  const cut = JSON.stringify(entry);
  if (cut.length <= STREAM_ENTRY_MAX_CHARS) return cut;
  const request = isObject(entry['request']) ? entry['request'] : {};
  return JSON.stringify({
    time: entry['time'],
    type: entry['type'],
    ...(entry['error'] === undefined ? {} : { error: entry['error'] }),
    request: {
      id: request['id'],
      operation: request['operation'],
      path: request['path'],
      remote_address: request['remote_address'],
    },
    authgate: {
      outcome: authgate['outcome'],
      reason: authgate['reason'],
      status: authgate['status'],
      cut: true,
    },
  });
};

/**
 * A bounded stream in the store (`XADD key MAXLEN ~ maxLen`), one field `entry` per entry: what
 * `GET /v1/sys/audit/logins` and `authgate audit --redis` read. Rejects while the store is down.
 * An entry past {@link STREAM_ENTRY_MAX_CHARS} is kept cut ({@link fitForStream}).
 */
export const createStoreStreamSink = (
  store: Pick<Store, 'streamAdd'>,
  key: string,
  maxLen: number,
): AuditSink => ({
  write: async (json) => {
    await store.streamAdd(key, { entry: fitForStream(json) }, { maxLen });
  },
  reopen: async () => undefined,
  close: async () => undefined,
});
