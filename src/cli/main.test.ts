import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from './main.js';
import { VERSION } from './version.js';

/** Runs `authgate <argv>`, with what it writes to stdout and stderr. */
const run = async (...argv: string[]): Promise<{ code: number; out: string; err: string }> => {
  let out = '';
  let err = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    out += String(chunk);
    return true;
  });
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
    err += String(chunk);
    return true;
  });
  const code = await main(argv);
  vi.restoreAllMocks();
  return { code, out, err };
};

afterEach(() => {
  vi.restoreAllMocks();
});

describe('authgate version', () => {
  it('prints the version', async () => {
    expect(await run('version')).toEqual({ code: 0, out: `authgate ${VERSION}\n`, err: '' });
  });

  it.each([['--help'], ['-h']])('prints its usage for %s, as every command does', async (flag) => {
    const r = await run('version', flag);
    expect(r.code).toBe(0);
    expect(r.out).toContain('Usage:\n  authgate version\n');
  });

  it('refuses an argument it does not take, with its usage (exit 2)', async () => {
    const r = await run('version', '--bogus');
    expect(r.code).toBe(2);
    expect(r.err).toContain("authgate version: Unknown option '--bogus'");
    expect(r.err).toContain('Usage:\n  authgate version\n');
  });
});
