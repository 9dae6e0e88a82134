import { describe, expect, it } from 'vitest';
import { isTooOld } from './redis-replies.js';

describe('the Redis version check', () => {
  it('refuses a Redis older than 6.2 and accepts 6.2 and later', () => {
    const info = (version: string) => `# Server\r\nredis_version:${version}\r\nredis_mode:standalone\r\n`;
    for (const old of ['5.0.14', '6.0.20', '6.1.0']) expect(isTooOld(info(old))).toBe(true);
    for (const ok of ['6.2.0', '6.2.14', '7.0.15', '7.4.2', '10.0.0']) expect(isTooOld(info(ok))).toBe(false);
    // A server that does not say (a proxy) is given the benefit of the doubt: its errors will say.
    expect(isTooOld('# Server\r\nredis_mode:standalone\r\n')).toBe(false);
  });
});
