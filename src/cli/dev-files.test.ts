import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { setUpDev } from './dev.js';

describe("authgate dev's working files", () => {
  it('are its user’s alone: the config holds a Redis URL with its password, the rest are secrets', async () => {
    const dev = await setUpDev({
      address: '127.0.0.1',
      port: 0,
      redisUrl: 'redis://default:dev-password@127.0.0.1:1',
    });
    try {
      expect(statSync(dev.dir).mode & 0o777).toBe(0o700);
      const files = readdirSync(dev.dir);
      expect(files).toEqual(
        expect.arrayContaining(['authgate.yaml', 'admin-token', 'server.key', 'reviewer-token']),
      );
      for (const file of files)
        expect([file, statSync(join(dev.dir, file)).mode & 0o777]).toEqual([file, 0o600]);
    } finally {
      await dev.close();
    }
  });
});
