import { appendFileSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createFakeClock } from '../lib/clock.js';
import { createMemoryStore } from '../store/index.js';
import { followFile, followStream } from './follow.js';

const dir = mkdtempSync(join(tmpdir(), 'authgate-follow-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const until = async (cond: () => boolean) => {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(cond()).toBe(true);
};

describe('following audit entries', () => {
  it('follows a file across a logrotate move, reading the old file to its end first', async () => {
    const path = join(dir, 'audit.log');
    writeFileSync(path, '{"n":0}\n');
    const seen: unknown[] = [];
    const ac = new AbortController();
    const done = followFile(path, 8, (e) => seen.push(e), { signal: ac.signal, pollMs: 10 });
    appendFileSync(path, '{"n":1}\n{"n":');
    await until(() => seen.length === 1);
    appendFileSync(path, '2}\n');
    renameSync(path, `${path}.1`);
    appendFileSync(`${path}.1`, '{"n":3}\n');
    writeFileSync(path, 'garbage\n{"n":4}\n');
    await until(() => seen.length === 4);
    ac.abort();
    await done;
    expect(seen).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }, { n: 4 }]);
  });

  it('keeps a character whose bytes one read splits from the next whole', async () => {
    const path = join(dir, 'utf8.log');
    writeFileSync(path, '');
    const seen: unknown[] = [];
    const ac = new AbortController();
    const done = followFile(path, 0, (e) => seen.push(e), { signal: ac.signal, pollMs: 10 });
    // A line long enough that its `é` (2 bytes) straddles the 64 KiB read: {"s":"aaa…é"}.
    const prefix = '{"s":"';
    const filler = 'a'.repeat(64 * 1024 - prefix.length - 1);
    appendFileSync(path, `${prefix}${filler}é"}\n`);
    await until(() => seen.length === 1);
    ac.abort();
    await done;
    expect((seen[0] as { s: string }).s.endsWith('aé')).toBe(true);
  });

  it('follows a stream from after a given id', async () => {
    const store = createMemoryStore({ clock: createFakeClock() });
    const first = await store.streamAdd('s', { entry: '{"n":0}' }, { maxLen: 100 });
    const seen: unknown[] = [];
    const ac = new AbortController();
    const done = followStream(store, 's', first, (e) => seen.push(e), { signal: ac.signal, pollMs: 10 });
    await store.streamAdd('s', { entry: '{"n":1}' }, { maxLen: 100 });
    await store.streamAdd('s', { entry: '{"n":2}' }, { maxLen: 100 });
    await until(() => seen.length === 2);
    ac.abort();
    await done;
    expect(seen).toEqual([{ n: 1 }, { n: 2 }]);
  });
});
