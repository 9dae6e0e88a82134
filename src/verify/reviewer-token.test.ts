import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFakeClock } from '../lib/clock.js';
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
});
