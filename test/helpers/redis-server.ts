import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
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
 * `appendonly`, writes go to an AOF in its own directory and survive a restart; with `password`,
 * it requires that password (`url` carries it). `args` are further command-line options
 * (relative paths in them are in the server's directory).
 */
export const startRedis = async (
  options: { appendonly?: boolean; port?: number; password?: string; args?: string[] } = {},
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
    ...(options.password === undefined ? [] : ['--requirepass', options.password]),
    ...(options.args ?? []),
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
    if (proc === undefined || proc.exitCode !== null || proc.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      proc.once('exit', () => resolve());
      proc.kill('SIGKILL');
    });
  };
  await start();
  return {
    port,
    url: `redis://${options.password === undefined ? '' : `:${options.password}@`}127.0.0.1:${port}`,
    dir,
    kill,
    start,
    stop: async () => {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
};

export type RedisCluster = {
  /** Every master, as `cluster_nodes` (and ioredis's `Cluster`) take them. */
  nodes: Array<{ host: string; port: number }>;
  /** The masters' servers, in the order of `nodes`. */
  servers: RedisServer[];
  /** Kills every node and removes their directories. */
  stop(): Promise<void>;
};

/** Whether every node of `ports` reports `cluster_state:ok`. */
const clusterOk = async (ports: number[]): Promise<boolean> => {
  const states = await Promise.all(
    ports.map(async (port) => {
      const client = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0 });
      client.on('error', () => undefined);
      try {
        return String(await client.cluster('INFO')).includes('cluster_state:ok');
      } catch {
        return false;
      } finally {
        client.disconnect();
      }
    }),
  );
  return states.every(Boolean);
};

/**
 * A private Redis Cluster of `masters` masters and no replicas, the slots spread by
 * `redis-cli --cluster create`; resolves once every node says `cluster_state:ok`. Each node's
 * cluster bus gets a free port of its own (`--cluster-port`), rather than port + 10 000, which
 * may be taken or beyond 65 535.
 */
export const startRedisCluster = async (masters = 3): Promise<RedisCluster> => {
  const servers: RedisServer[] = [];
  const stop = async () => {
    await Promise.all(servers.map((s) => s.stop()));
  };
  try {
    for (let i = 0; i < masters; i++) {
      const port = await freePort();
      let busPort = await freePort();
      while (busPort === port) busPort = await freePort();
      servers.push(
        await startRedis({
          port,
          args: [
            '--cluster-enabled',
            'yes',
            '--cluster-port',
            String(busPort),
            '--cluster-config-file',
            `nodes-${port}.conf`,
          ],
        }),
      );
    }
    const ports = servers.map((s) => s.port);
    await promisify(execFile)(
      'redis-cli',
      [
        '--cluster',
        'create',
        ...ports.map((p) => `127.0.0.1:${p}`),
        '--cluster-replicas',
        '0',
        '--cluster-yes',
      ],
      { timeout: 15_000 },
    );
    await waitFor(() => clusterOk(ports), 10_000, 'cluster_state:ok on every node');
    return { nodes: ports.map((port) => ({ host: '127.0.0.1', port })), servers, stop };
  } catch (err) {
    await stop();
    throw err;
  }
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
