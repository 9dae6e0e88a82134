import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createRedisSecretsFollower } from './redis-secrets-follower.js';
import type { RedisSecrets } from './store-config.js';
import { configDoc, parseDoc } from './test-support.js';

const dir = mkdtempSync(join(tmpdir(), 'authgate-redis-secrets-follower-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The follower as the server builds it: over the whole `store.redis` of a parsed config. */
const following = () => {
  writeFileSync(join(dir, 'password'), 'first-password\n');
  writeFileSync(join(dir, 'server-key'), 'k'.repeat(32), { mode: 0o600 });
  const config = parseDoc(
    configDoc({
      server_key_file: 'server-key',
      store: { type: 'redis', redis: { url: 'redis://127.0.0.1:6379', password_file: 'password' } },
    }),
    dir,
  );
  if (config.store.type !== 'redis') throw new Error('not a redis store');
  const applied: RedisSecrets[] = [];
  const logged: Array<{ obj: object; msg: string }> = [];
  const log = { info: (obj: object, msg: string) => logged.push({ obj, msg }), error: () => undefined };
  const redis = config.store.redis;
  const follower = createRedisSecretsFollower(redis.files, redis, { apply: (s) => applied.push(s), log });
  if (follower === undefined) throw new Error('no follower');
  return { follower, applied, logged };
};

describe('createRedisSecretsFollower', () => {
  it('neither applies nor logs a reload when the files hold what the store connected with', async () => {
    const { follower, applied, logged } = following();
    await follower.check('interval');
    await follower.check('SIGHUP');
    expect(applied).toEqual([]);
    expect(logged).toEqual([]);
  });

  it('applies a rotated password and names the field, not the password', async () => {
    const { follower, applied, logged } = following();
    writeFileSync(join(dir, 'password'), 'second-password\n');
    await follower.check('SIGHUP');
    expect(applied).toEqual([{ password: 'second-password' }]);
    expect(logged.map((l) => l.obj)).toEqual([
      { event: 'store.credentials_reloaded', trigger: 'SIGHUP', changed: ['store.redis.password_file'] },
    ]);
    expect(JSON.stringify(logged)).not.toContain('second-password');
  });
});
