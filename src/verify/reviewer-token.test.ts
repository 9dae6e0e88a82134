import { chmod, mkdir, mkdtemp, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFakeClock } from '../lib/clock.js';
import { captureLog } from './test-fixtures.js';
import { createReviewerToken, REVIEWER_TOKEN_RELOAD_MS, REVIEWER_TOKEN_STAT_MS } from './reviewer-token.js';
import type { VerifierLog } from './verifier-log.js';

const silent = { debug() {}, info() {}, warn() {}, error() {} } as unknown as VerifierLog;

describe('createReviewerToken', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'authgate-reviewer-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('picks up a token the kubelet rewrote within a second, without waiting for the period', async () => {
    const path = join(dir, 'token');
    await writeFile(path, 'first\n');
    const clock = createFakeClock();
    const reviewer = createReviewerToken(path, { clock, log: silent });
    expect(await reviewer.get()).toBe('first');
    await writeFile(path, 'second-longer');
    // The file's version is checked at most once a second (no stat per TokenReview).
    expect(await reviewer.get()).toBe('first');
    clock.advanceMs(REVIEWER_TOKEN_STAT_MS);
    expect(await reviewer.get()).toBe('second-longer');
  });

  it('re-reads at least once per period even when the file looks unchanged', async () => {
    const clock = createFakeClock();
    const contents = ['a', 'b'];
    let reads = 0;
    const reviewer = createReviewerToken(join(dir, 'virtual'), {
      clock,
      log: silent,
      readFile: async () => contents[reads++] ?? 'z',
    });
    expect(await reviewer.get()).toBe('a');
    clock.advanceMs(REVIEWER_TOKEN_RELOAD_MS - 1);
    expect(await reviewer.get()).toBe('a');
    clock.advanceMs(1);
    expect(await reviewer.get()).toBe('b');
    expect(await reviewer.get(true)).toBe('z');
  });

  it('keeps the last token when a re-read fails, and is UNAVAILABLE with none', async () => {
    const clock = createFakeClock();
    let fail = false;
    const reviewer = createReviewerToken(join(dir, 'virtual'), {
      clock,
      log: silent,
      readFile: async () => {
        if (fail) throw new Error('ENOENT');
        return 'tok';
      },
    });
    expect(await reviewer.get()).toBe('tok');
    fail = true;
    expect(await reviewer.get(true)).toBe('tok');
    const empty = createReviewerToken(join(dir, 'missing'), { clock, log: silent });
    await expect(empty.get()).rejects.toMatchObject({
      code: 'UNAVAILABLE',
      reason: 'tokenreview_reviewer_token_unreadable',
    });
  });

  /** A projected-volume layout as the kubelet's atomic writer makes it: token -> ..data/token. */
  const projected = async (first: string) => {
    let n = 0;
    const write = async (content: string) => {
      const data = `..2026_06_01_12_00_0${n++}.${n}`;
      await mkdir(join(dir, data));
      await writeFile(join(dir, data, 'token'), content);
      return data;
    };
    let current = await write(first);
    await symlink(current, join(dir, '..data'));
    await symlink(join('..data', 'token'), join(dir, 'token'));
    return {
      path: join(dir, 'token'),
      /** The kubelet's update: a new directory, `..data_tmp` renamed over `..data`, the old one removed. */
      rotate: async (content: string) => {
        const next = await write(content);
        await symlink(next, join(dir, '..data_tmp'));
        await rename(join(dir, '..data_tmp'), join(dir, '..data'));
        await rm(join(dir, current), { recursive: true });
        current = next;
      },
    };
  };

  it('follows the kubelet’s atomic ..data symlink swap, and never logs the token', async () => {
    const volume = await projected('first-token\n');
    const clock = createFakeClock();
    const capture = captureLog();
    const reviewer = createReviewerToken(volume.path, { clock, log: capture.log });
    expect(await reviewer.get()).toBe('first-token');
    await volume.rotate('second-token\n');
    // Within the second since the last look the file is not looked at again; a 401 forces it.
    expect(await reviewer.get()).toBe('first-token');
    expect(await reviewer.get(true)).toBe('second-token');
    await volume.rotate('third-token');
    clock.advanceMs(REVIEWER_TOKEN_STAT_MS);
    expect(await reviewer.get()).toBe('third-token');
    // Gone, then empty, then unreadable: the last token serves, with a warning that names no token.
    await rm(volume.path);
    clock.advanceMs(REVIEWER_TOKEN_STAT_MS);
    expect(await reviewer.get()).toBe('third-token');
    await writeFile(join(dir, 'token'), '\n');
    expect(await reviewer.get(true)).toBe('third-token');
    if (process.getuid?.() !== 0) {
      await writeFile(join(dir, 'token'), 'fourth-token');
      await chmod(join(dir, 'token'), 0o000);
      expect(await reviewer.get(true)).toBe('third-token');
      await chmod(join(dir, 'token'), 0o600);
      expect(await reviewer.get(true)).toBe('fourth-token');
    }
    const warned = capture.lines.filter((l) => l.fields['event'] === 'tokenreview.reviewer_token_unreadable');
    expect(warned.length).toBeGreaterThanOrEqual(2);
    expect(JSON.stringify(capture.lines)).not.toMatch(/(first|second|third|fourth)-token/);
  });
});
