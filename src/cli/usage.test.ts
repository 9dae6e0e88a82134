import { describe, expect, it } from 'vitest';
import type { CommandUsage } from './command.js';
import { DEV_TOKEN_USAGE, DEV_TOKENS_USAGE, DEV_USAGE, SERVER_USAGE } from './usages.js';

/** The long flags a usage's option list describes (`--ttl` of `  --ttl SECONDS  the lifetime`). */
const describedFlags = (u: CommandUsage): string[] =>
  [...(u.details ?? '').matchAll(/^\s+(?:-\w, )?(--[a-z-]+)/gm)].map((m) => m[1] ?? '');

describe('command usages', () => {
  it.each([
    ['server', SERVER_USAGE],
    ['dev', DEV_USAGE],
    ['dev token', DEV_TOKEN_USAGE],
    ['dev tokens', DEV_TOKENS_USAGE],
  ])('%s: the synopsis names every option the list describes', (_name, usage) => {
    const flags = describedFlags(usage);
    expect(flags.length).toBeGreaterThan(0);
    for (const flag of flags) expect(usage.synopsis, flag).toContain(`[${flag}`);
  });
});
