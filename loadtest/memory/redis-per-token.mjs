// What a live token costs Redis, and what the revocation indexes hold after many logins. Starts a
// private redis-server on a free port, issues N login tokens through the token service over the
// Redis store (in this process, no HTTP), and prints Redis's `used_memory` per token. Then issues
// tokens that live 1 s for a few seconds and prints how many members the role's index holds: the
// live ones, not every token it was ever given. Usage (after npm run build; redis-server on PATH):
//   node loadtest/memory/redis-per-token.mjs [N=20000]
import { spawn } from 'node:child_process';
import { Buffer } from 'node:buffer';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import process from 'node:process';
import { Redis } from 'ioredis';
import { systemClock } from '../../dist/lib/clock.js';
import { createKeys, createRedisStore } from '../../dist/store/index.js';
import { createTokenService } from '../../dist/tokens/index.js';
import { input } from './issue-input.mjs';

const N = Number(process.argv[2] ?? 20_000);
const CHURN_SECONDS = 4;

const port = await new Promise((resolve, reject) => {
  const srv = createServer();
  srv.once('error', reject);
  srv.listen(0, '127.0.0.1', () => {
    const { port: p } = /** @type {import('node:net').AddressInfo} */ (srv.address());
    srv.close(() => resolve(p));
  });
});
const dir = mkdtempSync(join(tmpdir(), 'authgate-redis-size-'));
const server = spawn(
  'redis-server',
  ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
  { stdio: ['ignore', 'pipe', 'inherit'] },
);
await new Promise((resolve, reject) => {
  let out = '';
  server.stdout.on('data', (d) => {
    out += d;
    if (out.includes('Ready to accept connections')) resolve(undefined);
  });
  server.once('exit', (code) => reject(new Error(`redis-server exited with ${code}`)));
});

const url = `redis://127.0.0.1:${port}`;
const raw = new Redis(url);
const quiet = { info: () => undefined, warn: () => undefined };
const store = createRedisStore({ url }, { log: quiet });
const keys = createKeys();
const tokens = createTokenService({ store, keys, clock: systemClock, serverKey: Buffer.alloc(32, 7) });
const usedMemory = async () => Number(/used_memory:(\d+)/.exec(await raw.info('memory'))?.[1]);

try {
  await raw.ping();
  const before = await usedMemory();
  for (let i = 0; i < N; i += 100) {
    await Promise.all(Array.from({ length: Math.min(100, N - i) }, (_, k) => tokens.issue(input(i + k))));
  }
  const after = await usedMemory();
  console.log(`redis-server ${(await raw.info('server')).match(/redis_version:(\S+)/)?.[1]}`);
  console.log(`${N} live tokens (role, service account and pod indexes, 100 pods)`);
  console.log(`used_memory: ${Math.round((after - before) / N)} bytes a token`);

  const roleIndex = keys.index('role', 'kubernetes/brief');
  let issued = 0;
  const until = Date.now() + CHURN_SECONDS * 1000;
  while (Date.now() < until) {
    await Promise.all(
      Array.from({ length: 50 }, (_, k) =>
        tokens.issue({
          ...input(issued + k),
          ttlSeconds: 1,
          role: 'brief',
          indexes: [{ kind: 'role', value: 'kubernetes/brief' }],
        }),
      ),
    );
    issued += 50;
  }
  console.log(
    `tokens living 1 s, issued for ${CHURN_SECONDS} s: ${issued}; the role's index holds ${await raw.zcard(roleIndex)}`,
  );
} finally {
  raw.disconnect();
  await store.close();
  server.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
}
