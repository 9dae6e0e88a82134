import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { createFakeClock } from '../lib/clock.js';
import { createMemoryStore } from '../store/index.js';
import {
  createFileSink,
  createStoreStreamSink,
  createStreamSink,
  STREAM_CUT_CHARS,
  STREAM_ENTRY_MAX_CHARS,
} from './sinks.js';

const dir = mkdtempSync(join(tmpdir(), 'authgate-sinks-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const lines = (path: string) =>
  readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l !== '');

describe('the file sink', () => {
  it('appends one line per entry, in order, to a file only its owner can read', async () => {
    const path = join(dir, 'a.log');
    const sink = createFileSink(path, '');
    await Promise.all(Array.from({ length: 200 }, (_, i) => sink.write(JSON.stringify({ n: i }))));
    await sink.write('{"n":200}');
    await sink.close();
    expect(lines(path).map((l) => (JSON.parse(l) as { n: number }).n)).toEqual(
      Array.from({ length: 201 }, (_, i) => i),
    );
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  it('writes the prefix before each line', async () => {
    const path = join(dir, 'prefix.log');
    const sink = createFileSink(path, 'authgate: ');
    await sink.write('{"a":1}');
    await sink.close();
    expect(lines(path)).toEqual(['authgate: {"a":1}']);
  });

  it('writes to a new file at its path after the old one was moved and it was reopened', async () => {
    const path = join(dir, 'rotate.log');
    const sink = createFileSink(path, '');
    await sink.write('{"before":1}');
    renameSync(path, `${path}.1`);
    await sink.write('{"moved":1}'); // still the open (moved) file, as with Vault until SIGHUP
    await sink.reopen();
    await sink.write('{"after":1}');
    await sink.close();
    expect(lines(`${path}.1`)).toEqual(['{"before":1}', '{"moved":1}']);
    expect(lines(path)).toEqual(['{"after":1}']);
  });

  it('rejects writes it cannot make, and writes again once it can', async () => {
    const parent = join(dir, 'later');
    const path = join(parent, 'audit.log');
    const sink = createFileSink(path, '');
    await expect(sink.write('{"a":1}')).rejects.toThrow(/ENOENT/);
    mkdirSync(parent);
    await sink.write('{"a":2}');
    await sink.close();
    expect(lines(path)).toEqual(['{"a":2}']);

    const onDir = createFileSink(dir, '');
    await expect(onDir.write('{"a":3}')).rejects.toThrow(/EISDIR/);
  });

  it('starts a line of its own after a failed write that left part of one (a full disk)', async () => {
    const path = join(dir, 'torn.log');
    mkdirSync(path);
    const sink = createFileSink(path, '');
    await expect(sink.write('{"a":1}')).rejects.toThrow(/EISDIR/);
    // What a write cut short by a full disk leaves: the start of a line, no newline.
    rmSync(path, { recursive: true });
    writeFileSync(path, '{"whole":1}\n{"time":"2026-12-01","pa');
    await sink.write('{"a":2}');
    await sink.write('{"a":3}');
    await sink.close();
    expect(readFileSync(path, 'utf8')).toBe('{"whole":1}\n{"time":"2026-12-01","pa\n{"a":2}\n{"a":3}\n');
  });
});

const HMAC = `hmac-sha256:${'ab'.repeat(32)}`;

/** What a stream sink keeps of one entry. */
const streamed = async (entry: object): Promise<string> => {
  const store = createMemoryStore({ clock: createFakeClock() });
  await createStoreStreamSink(store, 'ag:audit:redis', 10).write(JSON.stringify(entry));
  const [row] = await store.streamRange('ag:audit:redis', { count: 1 });
  return row?.fields['entry'] ?? '';
};

describe('the stream sinks', () => {
  it('write one line per entry to a writable stream and reject when it fails', async () => {
    let fail = false;
    const got: string[] = [];
    const out = new Writable({
      write(chunk: Buffer, _enc, done) {
        if (fail) return done(new Error('EPIPE'));
        got.push(chunk.toString());
        done();
      },
    });
    const sink = createStreamSink(out, '');
    await sink.write('{"a":1}');
    expect(got).toEqual(['{"a":1}\n']);
    fail = true;
    await expect(sink.write('{"a":2}')).rejects.toThrow('EPIPE');
  });

  it('leaves no listener on the stream once closed (stdout outlives every device)', async () => {
    const out = new Writable({ write: (_chunk, _enc, done) => done() });
    const sinks = Array.from({ length: 3 }, () => createStreamSink(out, ''));
    expect(out.listenerCount('error')).toBe(3);
    for (const sink of sinks) await sink.close();
    expect(out.listenerCount('error')).toBe(0);
  });

  it('add each entry to the store stream under the field "entry"', async () => {
    const store = createMemoryStore({ clock: createFakeClock() });
    const sink = createStoreStreamSink(store, 'ag:audit:redis', 10);
    await sink.write('{"a":1}');
    const rows = await store.streamRange('ag:audit:redis', { count: 10 });
    expect(rows.map((r) => r.fields)).toEqual([{ entry: '{"a":1}' }]);
  });

  it('keeps an entry past STREAM_ENTRY_MAX_CHARS cut, saying so, and the whole one elsewhere', async () => {
    const store = createMemoryStore({ clock: createFakeClock() });
    const sink = createStoreStreamSink(store, 'ag:audit:redis', 10);
    const path = `auth/kubernetes/login/${'p'.repeat(8000)}`;
    const entry = {
      time: '2026-12-01T00:00:00Z',
      auth: {},
      error: `no handler for route "${path}"`,
      request: {
        id: 'r1',
        operation: 'update',
        path,
        data: { role: 'hmac-sha256:00', jwt: 'hmac-sha256:11', x: 'y'.repeat(2000) },
      },
      response: { data: { a: 1 } },
      type: 'response',
      authgate: {
        outcome: 'error',
        reason: 'no_route',
        status: 404,
        login: { mount: 'kubernetes', namespace: 'n'.repeat(5000), verified: false },
      },
    };
    const small = {
      time: entry.time,
      auth: {},
      request: { id: 'r0', operation: 'read', path: 'sys/health' },
      type: 'request',
    };
    await sink.write(JSON.stringify(small));
    await sink.write(JSON.stringify(entry));
    // Past even the cut: the minimum of who, what and how it ended.
    const huge = {
      ...entry,
      auth: {
        client_token: 'hmac-sha256:22',
        metadata: Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${i}`, 'v'.repeat(500)])),
      },
    };
    await sink.write(JSON.stringify(huge));
    const rows = (await store.streamRange('ag:audit:redis', { count: 10 })).map(
      (r) => r.fields['entry'] ?? '',
    );
    expect(rows[0]).toBe(JSON.stringify(small));
    for (const row of rows.slice(1))
      expect(Buffer.byteLength(row)).toBeLessThanOrEqual(STREAM_ENTRY_MAX_CHARS);
    const cut = JSON.parse(rows[1] ?? '') as typeof entry & { authgate: { cut: boolean } };
    expect(cut.request).toEqual({
      id: 'r1',
      operation: 'update',
      path: `${path.slice(0, STREAM_CUT_CHARS)}…`,
      // What a login is found by stays: a login padded with junk fields is not hidden.
      data: { role: 'hmac-sha256:00', jwt: 'hmac-sha256:11' },
    });
    expect(cut.response).toEqual({ data: { a: 1 } });
    expect(cut.error).toBe(`${entry.error.slice(0, STREAM_CUT_CHARS)}…`);
    expect(cut.authgate).toEqual({
      ...entry.authgate,
      login: { ...entry.authgate.login, namespace: `${'n'.repeat(STREAM_CUT_CHARS)}…` },
      cut: true,
    });
    expect(JSON.parse(rows[2] ?? '')).toEqual({
      time: entry.time,
      auth: { client_token: 'hmac-sha256:22' },
      type: 'response',
      error: cut.error,
      request: { id: 'r1', data: cut.request.data, operation: 'update', path: cut.request.path },
      authgate: { outcome: 'error', reason: 'no_route', status: 404, login: cut.authgate.login, cut: true },
    });
  });

  it('keeps even a login whose claimed names are all as long as they can be within 4 KiB', async () => {
    const long = '語'.repeat(3000);
    const login = {
      mount: long,
      role: long,
      namespace: long,
      service_account: long,
      pod: long,
      verified: false,
    };
    const entry = {
      time: 't',
      auth: {},
      error: long,
      request: { id: 'r', path: long, data: { jwt: HMAC, [`k${'k'.repeat(300)}`]: HMAC } },
      type: 'response',
      authgate: { outcome: 'denied', reason: 'x', status: 403, login },
    };
    const row = await streamed(entry);
    expect(Buffer.byteLength(row ?? '')).toBeLessThanOrEqual(STREAM_ENTRY_MAX_CHARS);
    expect(JSON.parse(row ?? '')).toMatchObject({
      request: { data: { jwt: HMAC } },
      authgate: { cut: true },
    });
  });

  it('stays within 4 KiB and keeps the jwt HMAC when claimed names pose as HMACs of control characters', async () => {
    const posing = `hmac-sha256:${'\u0001'.repeat(240)}`;
    const login = {
      mount: 'kubernetes',
      namespace: posing,
      service_account: posing,
      pod: posing,
      verified: false,
    };
    const entry = {
      time: 't',
      auth: {},
      request: { id: 'r', path: 'p'.repeat(9000), data: { jwt: HMAC } },
      type: 'response',
      authgate: { outcome: 'denied', reason: 'x', status: 403, login },
    };
    const row = await streamed(entry);
    expect(Buffer.byteLength(row ?? '')).toBeLessThanOrEqual(STREAM_ENTRY_MAX_CHARS);
    expect(JSON.parse(row ?? '')).toMatchObject({ request: { data: { jwt: HMAC } } });
  });

  it('counts bytes, not characters: a path of é is cut at half the characters', async () => {
    const entry = { time: 't', auth: {}, request: { id: 'r', path: 'é'.repeat(2600) }, type: 'request' };
    expect(JSON.stringify(entry).length).toBeLessThan(STREAM_ENTRY_MAX_CHARS);
    const row = await streamed(entry);
    expect(Buffer.byteLength(row ?? '')).toBeLessThanOrEqual(STREAM_ENTRY_MAX_CHARS);
    expect(JSON.parse(row ?? '')).toMatchObject({ request: { path: `${'é'.repeat(STREAM_CUT_CHARS)}…` } });
  });
});
