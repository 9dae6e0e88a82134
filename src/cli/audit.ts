import { stat } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  collectLogins,
  fileEntries,
  followFile,
  followStream,
  matchesLogin,
  parseLoginFilter,
  recentStreamLogins,
  streamEntriesFor,
  summarizeLogins,
  toLoginRecord,
  type LoginFilter,
  type LoginRecord,
} from '../audit/index.js';
import { redactUrl, redisUrlProblem } from '../config/index.js';
import { isAuthgateError } from '../errors.js';
import { systemClock, type Clock } from '../lib/clock.js';
import { createKeys, createRedisStore, DEFAULT_KEY_PREFIX, type Store } from '../store/index.js';
import { followHeader, followRow, jsonLine, renderLogins, renderSummary } from './audit-output.js';
import {
  errorsText,
  fetchOrExplain,
  integerFlag,
  parseFlags,
  runCommand,
  UsageError,
  vaultAddressOf,
} from './command.js';
import { AUDIT_USAGE } from './usages.js';
import { trimTrailingSlashes } from '../lib/trim-slashes.js';

/** The streams and clock a run uses; injected by tests. */
export type AuditIo = {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  stdin: NodeJS.ReadableStream;
  clock?: Clock;
  /** Ends `tail -f`; default: SIGINT or SIGTERM. */
  signal?: AbortSignal;
};

const OPTIONS = {
  file: { type: 'string' },
  redis: { type: 'string' },
  'key-prefix': { type: 'string' },
  device: { type: 'string' },
  since: { type: 'string' },
  until: { type: 'string' },
  namespace: { type: 'string' },
  'service-account': { type: 'string' },
  role: { type: 'string' },
  mount: { type: 'string' },
  outcome: { type: 'string' },
  reason: { type: 'string' },
  hmac: { type: 'string' },
  limit: { type: 'string' },
  top: { type: 'string' },
  n: { type: 'string', short: 'n' },
  follow: { type: 'boolean', short: 'f' },
  json: { type: 'boolean' },
  address: { type: 'string' },
  'token-file': { type: 'string' },
} as const;

type Values = ReturnType<typeof parseFlags<typeof OPTIONS>>;
type Flag = keyof typeof OPTIONS;

const SOURCE_FLAGS: Flag[] = ['file', 'redis', 'key-prefix', 'device'];
const FILTER_FLAGS: Flag[] = [
  'since',
  'until',
  'namespace',
  'service-account',
  'role',
  'mount',
  'outcome',
  'reason',
  'hmac',
];

/**
 * The flags of each command, as AUDIT_USAGE lists them. One parser reads them all, so that a
 * mistake is named the same way whatever the command; a flag of another command (`query -n 5`,
 * `summary --limit 5`) is then refused here rather than silently ignored.
 */
const COMMAND_FLAGS: Record<string, ReadonlySet<Flag>> = {
  query: new Set([...SOURCE_FLAGS, ...FILTER_FLAGS, 'limit', 'json']),
  tail: new Set([...SOURCE_FLAGS, ...FILTER_FLAGS, 'n', 'follow', 'json']),
  summary: new Set([...SOURCE_FLAGS, ...FILTER_FLAGS, 'top', 'json']),
  hash: new Set(['device', 'address', 'token-file']),
};

/** @throws UsageError for the first flag given that `command` does not take, as the usage spells it. */
const checkFlagsOf = (command: string, v: Values): void => {
  const allowed = COMMAND_FLAGS[command];
  if (allowed === undefined) return;
  const flag = (Object.keys(v) as Flag[]).find((k) => k in OPTIONS && !allowed.has(k));
  if (flag === undefined) return;
  const spelt = flag === 'n' ? '-n' : flag === 'follow' ? '-f' : `--${flag}`;
  throw new UsageError(`audit ${command} does not take ${spelt}`);
};

const count = (value: string | undefined, flag: string, fallback: number): number =>
  value === undefined ? fallback : integerFlag(value, flag);

/** Where the entries come from: a file, or a redis device's stream (connected, ready). */
type Source = { kind: 'file'; path: string } | { kind: 'stream'; store: Store; key: string };

/**
 * A store on the Redis of `--redis`, once it answers. A URL that is not a Redis one is a usage
 * mistake; a Redis that cannot be reached is reported with the cause its client saw (refused,
 * unknown host, NOAUTH, WRONGPASS…), and its URL without the password.
 */
const connectRedis = async (url: string): Promise<Store> => {
  const problem = redisUrlProblem(url);
  if (problem !== undefined) throw new UsageError(`--redis: ${problem}`);
  // As redis-cli: the password from REDISCLI_AUTH, so that it need not be on the command line
  // (where `ps` shows it). A password in the URL wins. (Read once the URL is known to parse.)
  const fromEnv = new URL(url).password === '' ? process.env['REDISCLI_AUTH'] : undefined;
  // The store reports a failed connection with its cause once, by `store.unavailable`.
  let cause: string | undefined;
  const log = {
    info: () => undefined,
    warn: (fields: object) => {
      const f = fields as { event?: string; reason?: string };
      if (f.event === 'store.unavailable') cause ??= f.reason;
    },
  };
  const store = createRedisStore({ url, ...(fromEnv ? { password: fromEnv } : {}) }, { log });
  // The store fails fast while disconnected: wait for the first connection (a few seconds at
  // most) or for the failure of the first attempt.
  for (let i = 0; ; i++) {
    try {
      await store.ping();
      return store;
    } catch (err) {
      if (cause !== undefined || i >= 250) {
        await store.close();
        throw new Error(`cannot reach Redis at ${redactUrl(url)}: ${cause ?? (err as Error).message}`);
      }
      await sleep(20);
    }
  }
};

const sourceOf = async (v: Values): Promise<Source> => {
  if ((v.file === undefined) === (v.redis === undefined))
    throw new UsageError('give exactly one of --file PATH or --redis URL');
  if (v.file !== undefined) {
    // A stream's own flags would be ignored with a file: a usage mistake, not a silent no-op.
    const streamFlag = (['device', 'key-prefix'] as const).find((f) => v[f] !== undefined);
    if (streamFlag !== undefined)
      throw new UsageError(`--${streamFlag} reads a Redis stream: give it with --redis, not --file`);
    return { kind: 'file', path: v.file };
  }
  const keys = createKeys(v['key-prefix'] ?? DEFAULT_KEY_PREFIX);
  return {
    kind: 'stream',
    store: await connectRedis(v.redis as string),
    key: keys.auditStream(v.device ?? 'redis'),
  };
};

/** The filter flags; a bad one is a usage mistake, named as its flag (`--since`). */
const filterOf = (v: Values, nowMs: number, defaults: { since?: string } = {}): LoginFilter => {
  try {
    return parseLoginFilter(
      {
        since: v.since ?? defaults.since,
        until: v.until,
        namespace: v.namespace,
        service_account: v['service-account'],
        role: v.role,
        mount: v.mount,
        outcome: v.outcome,
        reason: v.reason,
        hmac: v.hmac,
      },
      nowMs,
      (field) => `--${field.replace('_', '-')}`,
    );
  } catch (err) {
    if (isAuthgateError(err) && err.status === 400) throw new UsageError(err.message);
    throw err;
  }
};

const allEntries = (source: Source, filter: LoginFilter) =>
  source.kind === 'file' ? fileEntries(source.path) : streamEntriesFor(source.store, source.key, filter);

const query = async (v: Values, source: Source, filter: LoginFilter, io: AuditIo): Promise<void> => {
  const limit = count(v.limit, '--limit', 0);
  const records =
    source.kind === 'stream' && limit > 0
      ? await recentStreamLogins(source.store, source.key, filter, limit)
      : await collectLogins(allEntries(source, filter), filter, limit);
  io.stdout.write(v.json === true ? records.map(jsonLine).join('') : renderLogins(records));
};

const summary = async (v: Values, source: Source, filter: LoginFilter, io: AuditIo): Promise<void> => {
  const s = await summarizeLogins(allEntries(source, filter), filter);
  const top = count(v.top, '--top', 10);
  const result = { ...s, denial_reasons: s.denial_reasons.slice(0, top) };
  const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());
  const window = {
    ...(filter.sinceMs === undefined ? {} : { since: iso(filter.sinceMs) }),
    ...(filter.untilMs === undefined ? {} : { until: iso(filter.untilMs) }),
  };
  io.stdout.write(v.json === true ? jsonLine({ ...window, ...result }) : renderSummary(result, window));
};

const tail = async (v: Values, source: Source, filter: LoginFilter, io: AuditIo): Promise<void> => {
  const n = count(v.n, '-n', 10);
  const print = (r: LoginRecord) => io.stdout.write(v.json === true ? jsonLine(r) : followRow(r));
  if (v.json !== true) io.stdout.write(followHeader());
  // What is there now, up to a point the follow then starts from: nothing is shown twice.
  let follow: (signal: AbortSignal) => Promise<void>;
  const onEntry = (entry: unknown) => {
    const r = toLoginRecord(entry);
    if (r !== undefined && matchesLogin(r, filter)) print(r);
  };
  if (source.kind === 'file') {
    const size = (await stat(source.path)).size;
    if (n > 0) for (const r of await collectLogins(fileEntries(source.path, size), filter, n)) print(r);
    follow = (signal) => followFile(source.path, size, onEntry, { signal });
  } else {
    const newest = await source.store.streamRange(source.key, { count: 1, reverse: true });
    const lastId = newest[0]?.id ?? '-';
    if (n > 0 && lastId !== '-') {
      for (const r of await recentStreamLogins(source.store, source.key, filter, n, lastId)) print(r);
    }
    follow = (signal) => followStream(source.store, source.key, lastId, onEntry, { signal });
  }
  if (v.follow !== true) return;
  let signal = io.signal;
  if (signal === undefined) {
    const ac = new AbortController();
    process.once('SIGINT', () => ac.abort());
    process.once('SIGTERM', () => ac.abort());
    signal = ac.signal;
  }
  await follow(signal);
};

/** Reads all of stdin, without the final newline. */
const readAll = async (stream: NodeJS.ReadableStream): Promise<string> => {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c as string));
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
};

/**
 * `authgate audit hash`: asks a running authgate for the HMAC one device writes for a value
 * (`POST /v1/sys/audit-hash/<device>`). The value is read from stdin so that a token never
 * appears in a command line or a shell history; the admin token comes from `--token-file` or
 * `VAULT_TOKEN`.
 */
const hash = async (v: Values, io: AuditIo): Promise<void> => {
  if (v.device === undefined) throw new UsageError('give the device with --device NAME');
  const address = trimTrailingSlashes(vaultAddressOf(v.address, process.env['VAULT_ADDR']));
  const token =
    v['token-file'] !== undefined ? readFileSync(v['token-file'], 'utf8').trim() : process.env['VAULT_TOKEN'];
  if (token === undefined || token === '')
    throw new UsageError('give the admin token with --token-file or VAULT_TOKEN');
  const input = await readAll(io.stdin);
  const res = await fetchOrExplain(
    `${address}/v1/sys/audit-hash/${encodeURIComponent(v.device)}`,
    {
      method: 'POST',
      headers: { 'x-vault-token': token, 'content-type': 'application/json' },
      body: JSON.stringify({ input }),
    },
    (cause) =>
      `cannot reach authgate at ${redactUrl(address)} (${cause}): give its address with --address URL or VAULT_ADDR, and check that it runs`,
  );
  const body = (await res.json()) as { hash?: string; errors?: string[] };
  if (!res.ok || typeof body.hash !== 'string') {
    throw new Error(`${res.status}: ${errorsText(body.errors) || 'no hash in the answer'}`);
  }
  io.stdout.write(`${body.hash}\n`);
};

/**
 * `authgate audit …`: the operator's view of who logged in. Resolves the exit code: 0, 1 when
 * the source cannot be read, 2 for a usage mistake (0 for `--help`).
 */
export const runAudit = async (argv: string[], io: AuditIo): Promise<number> => {
  const [command, ...rest] = argv;
  return runCommand(
    'authgate audit',
    AUDIT_USAGE,
    async () => {
      let source: Source | undefined;
      try {
        // `authgate audit --help`: flags where the command should be.
        const v = parseFlags(command?.startsWith('-') === true ? argv : rest, OPTIONS);
        if (command !== undefined) checkFlagsOf(command, v);
        const nowMs = (io.clock ?? systemClock).nowMs();
        switch (command) {
          // The filter is checked before the source is opened: a mistake costs no connection.
          case 'query': {
            const filter = filterOf(v, nowMs);
            source = await sourceOf(v);
            await query(v, source, filter, io);
            return 0;
          }
          case 'tail': {
            const filter = filterOf(v, nowMs);
            source = await sourceOf(v);
            await tail(v, source, filter, io);
            return 0;
          }
          case 'summary': {
            const filter = filterOf(v, nowMs, { since: '24h' });
            source = await sourceOf(v);
            await summary(v, source, filter, io);
            return 0;
          }
          case 'hash':
            await hash(v, io);
            return 0;
          default:
            throw new UsageError(
              command === undefined || command.startsWith('-')
                ? 'give a command'
                : `unknown command "${command}"`,
            );
        }
      } finally {
        if (source?.kind === 'stream') await source.store.close();
      }
    },
    io,
  );
};
