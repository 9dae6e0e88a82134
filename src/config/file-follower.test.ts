import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createFileFollower } from './file-follower.js';

const dir = mkdtempSync(join(tmpdir(), 'authgate-file-follower-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
/** A fresh file in the test directory holding `content`; returns its path. */
const fileWith = (content: string): string => {
  const path = join(dir, `f${(n += 1)}`);
  writeFileSync(path, content);
  return path;
};

describe('createFileFollower', () => {
  it('keeps looking, and check resolves, after the failure report itself throws', async () => {
    const file = join(dir, 'absent');
    let reports = 0;
    const follower = createFileFollower({
      paths: [file],
      read: () => readFile(file, 'utf8'),
      apply: () => undefined,
      onFailure: () => {
        reports++;
        throw new Error('the logger failed');
      },
    });
    await expect(follower.check('SIGHUP')).resolves.toBeUndefined();
    await expect(follower.check('interval')).resolves.toBeUndefined();
    expect(reports).toBe(2);
  });

  it('keeps looking after the after-look hook throws', async () => {
    const file = fileWith('one');
    const applied: string[] = [];
    const follower = createFileFollower({
      paths: [file],
      read: () => readFile(file, 'utf8'),
      apply: (value) => void applied.push(value),
      onFailure: () => undefined,
      afterLook: () => {
        throw new Error('the warning failed');
      },
    });
    await expect(follower.check('SIGHUP')).resolves.toBeUndefined();
    writeFileSync(file, 'two, longer');
    await expect(follower.check('SIGHUP')).resolves.toBeUndefined();
    expect(applied).toEqual(['one', 'two, longer']);
  });

  it('reads again at the next tick what kept changing while it was read', async () => {
    const file = fileWith('x');
    let reads = 0;
    const applied: string[] = [];
    const follower = createFileFollower({
      paths: [file],
      read: async () => {
        const value = await readFile(file, 'utf8');
        reads++;
        // A writer still at work: the file changes after each of the first three reads.
        if (reads <= 3) writeFileSync(file, 'x'.repeat(reads + 1));
        return value;
      },
      apply: (value) => void applied.push(value),
      onFailure: () => undefined,
    });
    await follower.check('interval');
    expect(reads).toBe(3);
    await follower.check('interval');
    expect(applied.at(-1)).toBe('xxxx');
  });

  it('reads nothing at a tick when the files did not change since the last look', async () => {
    const file = fileWith('still');
    let reads = 0;
    const follower = createFileFollower({
      paths: [file],
      read: async () => {
        reads++;
        return readFile(file, 'utf8');
      },
      apply: () => undefined,
      onFailure: () => undefined,
    });
    await follower.check('interval');
    await follower.check('interval');
    expect(reads).toBe(1);
  });
});
