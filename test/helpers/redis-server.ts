import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Store } from '../../src/store/index.js';
import { waitFor } from './authgate-process.js';

/** A free TCP port on 127.0.0.1 (bound and released, so another process can take it). */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });

export type RedisServer = {
  port: number;
  url: string;
  dir: string;
  /** Kills the server (SIGKILL: no chance to save). */
  kill(): Promise<void>;
  /** Starts it again on the same port and data directory. */
  start(): Promise<void>;
  stop(): Promise<void>;
};

/**
 * A private `redis-server` on a free port, so that test runs never share state. With
 * `appendonly`, writes go to an AOF in its own directory and survive a restart.
 */
export const startRedis = async (
  options: { appendonly?: boolean; port?: number } = {},
): Promise<RedisServer> => {
  const port = options.port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), 'authgate-redis-'));
  let child: ChildProcess | undefined;
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    options.appendonly ? 'yes' : 'no',
    '--appendfsync',
    'always',
    '--dir',
    dir,
  ];
  const start = async () => {
    const proc = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    await new Promise<void>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`redis-server did not start: ${out}`)), 10_000);
      proc.stdout?.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('Ready to accept connections')) {
          clearTimeout(timer);
          resolve();
        }
      });
      proc.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`redis-server exited with ${String(code)}: ${out}`));
      });
    });
  };
  const kill = async () => {
    const proc = child;
    if (proc === undefined || proc.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      proc.once('exit', () => resolve());
      proc.kill('SIGKILL');
    });
  };
  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    dir,
    kill,
    start,
    stop: async () => {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
};

/** Resolves once `store` answers a PING (a Redis client queues nothing while it connects). */
export const storeAnswers = (store: Pick<Store, 'ping'>): Promise<boolean> =>
  waitFor(
    () =>
      store.ping().then(
        () => true,
        () => false,
      ),
    5000,
    'redis to answer',
  );
