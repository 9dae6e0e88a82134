import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable, Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAudit } from '../src/cli/audit.js';
import { createKeys, createRedisStore, type Store } from '../src/store/index.js';
import { auditFile } from './helpers/audit.js';
import {
  at,
  fixtureHash,
  fixtureJwt,
  T0,
  writeFixtureFile,
  writeFixtureStream,
} from './helpers/audit-fixture.js';
import { freePort, startRedis, type RedisServer } from './helpers/redis-server.js';

let redis: RedisServer;
let store: Store;
const file = auditFile('fixture');
const prefixed = auditFile('fixture-prefixed');

beforeAll(async () => {
  writeFixtureFile(file);
  writeFixtureFile(prefixed, 'authgate-audit: ');
  redis = await startRedis();
  store = createRedisStore({ url: redis.url }, { log: { info: () => undefined, warn: () => undefined } });
  await new Promise((r) => setTimeout(r, 100));
  // A device named `archive`, under another key prefix: what --key-prefix and --device select.
  await writeFixtureStream(store, createKeys('team:').auditStream('archive'));
});
afterAll(async () => {
  await store?.close();
  await redis?.stop();
});

/**
 * Runs `authgate audit …` in process; "now" is one hour after the fixture's last login. Its
 * stdin stays open unless `input` is given.
 */
const auditWith = async (input: string | undefined, argv: string[]) => {
  let out = '';
  let err = '';
  const sink = (add: (s: string) => void) =>
    new Writable({
      write(chunk: Buffer, _enc, done) {
        add(chunk.toString());
        done();
      },
    });
  const code = await runAudit(argv, {
    stdout: sink((s) => (out += s)),
    stderr: sink((s) => (err += s)),
    stdin: input === undefined ? new PassThrough() : Readable.from([input]),
    clock: { nowMs: () => T0 + 115 * 60_000 },
  });
  return { code, out, err };
};
const audit = (...argv: string[]) => auditWith(undefined, argv);

const SOURCES: Array<[string, string[]]> = [
  ['a file', ['--file', file]],
  ['a file with a prefix', ['--file', prefixed]],
  ['a Redis stream', ['--redis', '', '--key-prefix', 'team:', '--device', 'archive']],
];
const source = (s: string[]) => s.map((a) => (a === '' ? redis.url : a));

/** The request ids of `--json` output. */
const ids = (out: string) =>
  out
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => (JSON.parse(l) as { request_id: string }).request_id.replace('fixture-', ''));

describe.each(SOURCES)('authgate audit query over %s', (_what, src) => {
  const query = async (...filters: string[]) => {
    const r = await audit('query', ...source(src), ...filters, '--json');
    expect(r).toMatchObject({ code: 0, err: '' });
    return ids(r.out);
  };

  it.each([
    [[], ['1', '2', '3', '4', '5', '6', '7', '8', '9', '10', '11', '12']],
    [
      ['--namespace', 'test'],
      ['1', '2', '4', '5', '9', '10', '12'],
    ],
    [
      ['--service-account', 'nginx', '--outcome', 'ok'],
      ['1', '2', '10'],
    ],
    [
      ['--outcome', 'denied'],
      ['3', '4', '5', '7', '9', '11'],
    ],
    [
      ['--outcome', 'error'],
      ['8', '12'],
    ],
    [
      ['--reason', 'namespace_not_bound'],
      ['3', '11'],
    ],
    [
      ['--role', 'web'],
      ['6', '7'],
    ],
    [['--mount', 'jwks', '--outcome', 'ok'], ['6']],
    [
      ['--since', at(30), '--until', at(45)],
      ['7', '8', '9', '10'],
    ],
    [['--since', '1h'], ['12']],
    [
      ['--limit', '2'],
      ['11', '12'],
    ],
    [['--outcome', 'denied', '--limit', '1'], ['11']],
    [['--hmac', fixtureHash(fixtureJwt(5))], ['5']],
    [['--hmac', fixtureHash('fixture-token-6')], ['6']],
  ])('with %j finds logins %j', async (filters, expected) => {
    expect(await query(...filters)).toEqual(expected);
  });

  it('prints an aligned table', async () => {
    const r = await audit('query', ...source(src), '--reason', 'namespace_not_bound');
    expect(r.code).toBe(0);
    const lines = r.out.trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(
      /^TIME {22}OUTCOME {2}REASON {15}MOUNT {7}ROLE {3}NAMESPACE {2}SERVICE ACCOUNT {2}POD {2}REMOTE$/,
    );
    expect(lines[1]).toBe(
      `${at(10)}  denied   namespace_not_bound  kubernetes  nginx  other      nginx            -    10.0.0.3`,
    );
    // Every column starts at the same offset on every line.
    const starts = (l: string) => [...l.matchAll(/(?<= {2})\S/g)].map((m) => m.index);
    expect(starts(lines[1] ?? '')).toEqual(starts(lines[2] ?? ''));
  });

  it('summarizes logins per workload and outcome, with the top denial reasons', async () => {
    const r = await audit('summary', ...source(src), '--since', at(-1), '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toEqual({
      since: at(-1),
      total: 12,
      outcomes: { ok: 4, denied: 6, error: 2 },
      identities: [
        { namespace: 'test', service_account: 'nginx', role: 'nginx', ok: 3, denied: 1, error: 1, total: 5 },
        { namespace: 'other', service_account: 'nginx', role: 'nginx', ok: 0, denied: 2, error: 0, total: 2 },
        {
          namespace: 'team-a',
          service_account: 'web-frontend',
          role: 'web',
          ok: 1,
          denied: 1,
          error: 0,
          total: 2,
        },
        { namespace: '-', service_account: '-', role: 'nginx', ok: 0, denied: 0, error: 1, total: 1 },
        { namespace: 'test', service_account: 'api', role: 'nginx', ok: 0, denied: 1, error: 0, total: 1 },
        { namespace: 'test', service_account: 'nginx', role: '-', ok: 0, denied: 1, error: 0, total: 1 },
      ],
      denial_reasons: [
        { reason: 'namespace_not_bound', count: 2 },
        { reason: 'expired', count: 1 },
        { reason: 'role_not_found', count: 1 },
        { reason: 'service_account_not_bound', count: 1 },
        { reason: 'tokenreview_pod_not_found', count: 1 },
      ],
    });
  });

  it('summarizes the last 24 hours by default, and a window when asked, as text', async () => {
    const all = await audit('summary', ...source(src));
    expect(all.out).toMatch(/: 12 \(ok 4, denied 6, error 2\)\n/);
    const window = await audit('summary', ...source(src), '--since', at(20), '--until', at(30), '--top', '1');
    expect(window.out).toBe(
      [
        `logins from ${at(20)} to ${at(30)}: 3 (ok 1, denied 2, error 0)`,
        '',
        'NAMESPACE  SERVICE ACCOUNT  ROLE   OK  DENIED  ERROR  TOTAL',
        'team-a     web-frontend     web    1   1       0      2',
        'test       nginx            nginx  0   1       0      1',
        '',
        'DENIAL REASON  COUNT',
        'expired        1',
        '',
      ].join('\n'),
    );
  });

  it('prints the last logins with tail', async () => {
    const r = await audit('tail', ...source(src), '-n', '3', '--json');
    expect(r.code).toBe(0);
    expect(ids(r.out)).toEqual(['10', '11', '12']);
  });
});

describe('authgate audit usage', () => {
  it.each([
    [['query'], 'give exactly one of --file PATH or --redis URL'],
    [['query', '--file', 'x', '--redis', 'redis://h'], 'give exactly one of --file PATH or --redis URL'],
    [['query', '--file', 'x', '--outcome', 'fine'], 'invalid --outcome: expected ok, denied or error'],
    [['query', '--file', 'x', '--limit', 'ten'], '--limit: must be a whole number'],
    [
      ['query', '--file', 'x', '--since', '99999999999d'],
      'invalid --since: 99999999999d goes back further than a date can',
    ],
    [
      ['summary', '--file', 'x', '--until', 'later'],
      'invalid --until: expected an RFC 3339 time or a duration like "1h"',
    ],
    [['query', '--redis', 'http://x'], '--redis: expected a redis:// or rediss:// URL'],
    [
      ['query', '--redis', 'redis://:pw@ho st:6379'],
      '--redis: expected a URL without spaces or control characters',
    ],
    [['--json'], 'give a command'],
    [['query', '--file', 'x', '--colour'], "Unknown option '--colour'"],
    [['query', '--file', 'x', '-n', '3'], 'audit query does not take -n'],
    [['query', '--file', 'x', '--top', '3'], 'audit query does not take --top'],
    [['summary', '--file', 'x', '--limit', '3'], 'audit summary does not take --limit'],
    [['tail', '--file', 'x', '--limit', '3'], 'audit tail does not take --limit'],
    [['query', '--file', 'x', '--follow'], 'audit query does not take -f'],
    [['hash', '--device', 'file', '--file', 'x'], 'audit hash does not take --file'],
    [['frobnicate'], 'unknown command "frobnicate"'],
    // A stream's flags with a file would be ignored: refused instead.
    [
      ['query', '--file', 'x', '--device', 'd'],
      '--device reads a Redis stream: give it with --redis, not --file',
    ],
    [['tail', '--file', 'x', '--key-prefix', 'zz:'], '--key-prefix reads a Redis stream'],
  ])('refuses %j with exit code 2 and the usage', async (argv, message) => {
    const r = await audit(...argv);
    expect(r.code).toBe(2);
    expect(r.err).toContain(message);
    expect(r.err).toContain('authgate audit query');
  });

  it('fails with exit code 1 when the file cannot be read', async () => {
    const r = await audit('query', '--file', '/nonexistent/audit.log');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/ENOENT/);
  });
});

describe('authgate audit against a Redis it cannot use', () => {
  const password = 'hunter2-audit';
  let locked: RedisServer;
  beforeAll(async () => {
    locked = await startRedis({ password });
  });
  afterAll(async () => {
    await locked?.stop();
  });

  it('says why, with the URL but never its password (exit 1)', async () => {
    const port = await freePort();
    const cases: Array<[string, string, RegExp]> = [
      [`redis://:${password}@127.0.0.1:${port}`, `redis://***@127.0.0.1:${port}`, /ECONNREFUSED/],
      [`redis://127.0.0.1:${locked.port}`, `redis://127.0.0.1:${locked.port}`, /NOAUTH/],
      [
        `redis://:not-${password}@127.0.0.1:${locked.port}`,
        `redis://***@127.0.0.1:${locked.port}`,
        /WRONGPASS/,
      ],
    ];
    for (const [url, shown, cause] of cases) {
      const r = await audit('query', '--redis', url);
      expect(r.code).toBe(1);
      expect(r.err).toContain(`authgate audit: cannot reach Redis at ${shown}: `);
      expect(r.err).toMatch(cause);
      expect(r.err).not.toContain(password);
      expect(r.err).not.toContain('enableOfflineQueue');
    }
  });

  it('reads the stream with the password', async () => {
    const r = await audit('query', '--redis', locked.url, '--json');
    expect(r).toMatchObject({ code: 0, out: '' });
  });

  it('takes the password from REDISCLI_AUTH, as redis-cli does, when the URL has none', async () => {
    // So that an operator's password need not be on the command line, where `ps` shows it.
    process.env['REDISCLI_AUTH'] = password;
    try {
      const bare = await audit('query', '--redis', `redis://127.0.0.1:${locked.port}`, '--json');
      expect(bare).toMatchObject({ code: 0, out: '' });
      // One in the URL wins.
      const wrong = await audit('query', '--redis', `redis://:not-${password}@127.0.0.1:${locked.port}`);
      expect(wrong.code).toBe(1);
      expect(wrong.err).toMatch(/WRONGPASS/);
    } finally {
      delete process.env['REDISCLI_AUTH'];
    }
  });
});

describe('authgate audit hash against an address where nothing answers', () => {
  it('says what could not be reached, why, and what to do (exit 1)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'authgate-audit-hash-'));
    try {
      const tokenFile = join(dir, 'admin-token');
      writeFileSync(tokenFile, 'agadmin.unused');
      const address = `http://127.0.0.1:${await freePort()}`;
      const argv = ['hash', '--device', 'file', '--address', address, '--token-file', tokenFile];
      const r = await auditWith('ags.some-token\n', argv);
      expect(r.code).toBe(1);
      expect(r.err).toContain(`authgate audit: cannot reach authgate at ${address} (connect ECONNREFUSED`);
      expect(r.err).toContain('--address URL or VAULT_ADDR');
      expect(r.err).not.toContain('fetch failed');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
