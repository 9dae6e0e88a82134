import { open, type FileHandle } from 'node:fs/promises';
import type { Store } from '../store/index.js';
import { HASHED_WHOLE_KEY, HMAC_PREFIX, SEARCHED_DATA_FIELDS } from './hash.js';

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
    const { size, ino } = await h.stat();
    if (size === 0) return '';
    // Read apart: an append-only file may be writable and not readable (mode 0200), and the
    // device must keep writing to it. Unreadable, a newline is written all the same: at worst a
    // blank line, which every reader skips.
    try {
      const reader = await open(path, 'r');
      try {
        // Another file at the path (rotated away, not yet reopened): this one's end is unknown.
        if ((await reader.stat()).ino !== ino) return '\n';
        const last = Buffer.alloc(1);
        const read = await reader.read(last, 0, 1, size - 1);
        return read.bytesRead === 1 && last[0] === 0x0a ? '' : '\n';
      } finally {
        await reader.close();
      }
    } catch {
      return '\n';
    }
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
        handle ??= await open(path, 'a', 0o600);
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
const cutTo = (v: string, chars: number): string => (v.length > chars ? `${v.slice(0, chars)}…` : v);
const cutText = (v: unknown): unknown => (typeof v === 'string' ? cutTo(v, STREAM_CUT_CHARS) : v);

/** What a cut `data` block keeps: the fields entries are searched by (HMACs, 76 characters each). */
const KEPT_DATA_FIELDS = [...SEARCHED_DATA_FIELDS, HASHED_WHOLE_KEY];
/** What a cut `auth` block keeps: the HMACs a login is found by (`audit query --hmac`). */
const KEPT_AUTH_FIELDS = ['client_token', 'accessor'] as const;

/** The fields of `block` named in `names` that are short strings (the HMACs), or undefined. */
const keptFields = (block: unknown, names: readonly string[]): Record<string, string> | undefined => {
  if (!isObject(block)) return undefined;
  const out: Record<string, string> = {};
  for (const name of names) {
    const v = block[name];
    if (typeof v === 'string' && v.length <= STREAM_CUT_CHARS) out[name] = v;
  }
  return Object.keys(out).length > 0 ? out : undefined;
};

/** Cuts the strings of `part` (one level), and keeps of a large `data` only {@link KEPT_DATA_FIELDS}. */
const cutPart = (part: unknown): void => {
  if (!isObject(part)) return;
  for (const [k, v] of Object.entries(part)) {
    if (k === 'data' && JSON.stringify(v).length > STREAM_CUT_CHARS)
      part[k] = keptFields(v, KEPT_DATA_FIELDS) ?? '[left out of the stream]';
    else part[k] = cutText(v);
  }
};

/**
 * `json` as the stream keeps it: as it is up to {@link STREAM_ENTRY_MAX_CHARS} bytes; past that,
 * its long strings cut to {@link STREAM_CUT_CHARS} (path, error, detail, a refused login's claimed
 * names), of a large `data` block only the fields a login is found by (`role`, the `jwt`'s HMAC),
 * and `authgate.cut: true`; should that not do, only who asked what, when, how it ended, and the
 * HMACs the login is found by. A login padded with junk fields is still found by its JWT's HMAC.
 * The file and stdout devices keep every entry whole.
 */
export const fitForStream = (json: string): string => {
  const fits = (text: string): boolean => Buffer.byteLength(text) <= STREAM_ENTRY_MAX_CHARS;
  if (fits(json)) return json;
  const entry = JSON.parse(json) as Record<string, unknown>;
  cutPart(entry['request']);
  cutPart(entry['response']);
  const authgate = isObject(entry['authgate']) ? entry['authgate'] : {};
  // A refused login's subject is what its JWT claimed: as long as the client made it.
  cutPart(authgate);
  cutPart(authgate['login']);
  entry['authgate'] = { ...authgate, cut: true };
  if (entry['error'] !== undefined) entry['error'] = cutText(entry['error']);
  const cut = JSON.stringify(entry);
  if (fits(cut)) return cut;
  const request = isObject(entry['request']) ? entry['request'] : {};
  const login = isObject(authgate['login']) ? authgate['login'] : undefined;
  const auth = keptFields(entry['auth'], KEPT_AUTH_FIELDS);
  const data = isObject(request['data']) ? request['data'] : undefined;
  const least = {
    time: entry['time'],
    ...(auth === undefined ? {} : { auth }),
    ...(entry['error'] === undefined ? {} : { error: entry['error'] }),
    request: {
      id: request['id'],
      ...(data === undefined ? {} : { data }),
      operation: request['operation'],
      path: request['path'],
      remote_address: request['remote_address'],
    },
    type: entry['type'],
    authgate: {
      outcome: authgate['outcome'],
      reason: authgate['reason'],
      status: authgate['status'],
      ...(login === undefined ? {} : { login }),
      cut: true,
    },
  };
  const text = JSON.stringify(least);
  if (fits(text)) return text;
  // Whatever the client claimed and sent: every string to a few dozen characters but an HMAC
  // (what the entry is found by: exactly `hmac-sha256:` and 64 hex digits); the client-keyed
  // `data` block, then the claimed login names, go if that is still too long.
  const short = (value: object): string =>
    JSON.stringify(value, (_k, v: unknown) =>
      typeof v === 'string' && !FULL_HMAC.test(v) ? cutTo(v, 64) : v,
    );
  const cut1 = short(least);
  if (fits(cut1)) return cut1;
  const requestWithoutData = without(least.request, 'data');
  const cut2 = short({ ...least, request: requestWithoutData });
  if (fits(cut2)) return cut2;
  const authgateWithoutLogin = without(least.authgate, 'login');
  const cut3 = short({ ...least, request: requestWithoutData, authgate: authgateWithoutLogin });
  // Every string left is an HMAC or at most 64 characters (6 bytes each, escaped), in fixed keys.
  return fits(cut3) ? cut3 : short({ time: least.time, type: least.type, authgate: { cut: true } });
};

/** `o` without its member `key`. */
const without = (o: Record<string, unknown>, key: string): Record<string, unknown> =>
  Object.fromEntries(Object.entries(o).filter(([k]) => k !== key));

/** An HMAC as the entry writes it: what a cut never shortens. */
const FULL_HMAC = new RegExp(`^${HMAC_PREFIX}[0-9a-f]{64}$`);

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
