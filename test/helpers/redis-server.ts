import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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

/** Whether `err` is redis-server's start failing because its port is bound by another process. */
export const isPortTaken = (err: unknown): boolean => /Address already in use/.test(String(err));

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
 * (relative paths in them are in the server's directory). With `sentinel`, it is a Sentinel
 * monitoring that master under that name (its config file, which it rewrites, in its directory).
 */
export const startRedis = async (
  options: {
    appendonly?: boolean;
    port?: number;
    password?: string;
    args?: string[];
    sentinel?: { name: string; masterPort: number; authPass?: string | undefined };
    /**
     * TLS only (no plain port), with this certificate and key; clients show none, or with
     * `clientCerts` one that `ca` signed.
     */
    tls?: { cert: string; key: string; ca: string; clientCerts?: boolean };
  } = {},
): Promise<RedisServer> => {
  let port = options.port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), 'authgate-redis-'));
  let child: ChildProcess | undefined;
  const sentinel = options.sentinel;
  if (sentinel !== undefined) {
    const { name, masterPort, authPass } = sentinel;
    // Quick to judge a master down and to give up a failover, so that a test fails over in seconds.
    writeFileSync(
      join(dir, 'sentinel.conf'),
      [
        `sentinel monitor ${name} 127.0.0.1 ${masterPort} 1`,
        `sentinel down-after-milliseconds ${name} 500`,
        `sentinel failover-timeout ${name} 2000`,
        ...(authPass === undefined ? [] : [`sentinel auth-pass ${name} ${authPass}`]),
        '',
      ].join('\n'),
    );
  }
  const tls = options.tls;
  // A function of `port`, which changes when the free port was taken before the server bound it.
  const args = () => [
    ...(sentinel === undefined ? [] : [join(dir, 'sentinel.conf'), '--sentinel']),
    ...(tls === undefined
      ? ['--port', String(port)]
      : [
          ...['--port', '0', '--tls-port', String(port)],
          ...['--tls-auth-clients', tls.clientCerts ? 'yes' : 'no'],
          ...['--tls-cert-file', tls.cert, '--tls-key-file', tls.key, '--tls-ca-cert-file', tls.ca],
          // Replicas, and a sentinel, talk TLS to their master too.
          ...['--tls-replication', 'yes'],
        ]),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    options.appendonly ? 'yes' : 'no',
    '--appendfsync',
    'always',
    // A replica's first sync at once: Redis 7's master otherwise waits 5 s for more replicas
    // before a diskless transfer, and every test that waits for a replica waits that long.
    '--repl-diskless-sync-delay',
    '0',
    '--dir',
    dir,
    ...(options.password === undefined ? [] : ['--requirepass', options.password]),
    ...(options.args ?? []),
  ];
  const start = async () => {
    const proc = spawn('redis-server', args(), { stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    await new Promise<void>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`redis-server did not start: ${out}`)), 10_000);
      proc.stdout?.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes(sentinel === undefined ? 'Ready to accept connections' : '+monitor master')) {
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
  // The free port is released before redis-server binds it: another process (a test file in the
  // other worker) may take it meanwhile. Another free port then, unless the caller chose this one.
  for (let attempt = 1; ; attempt++) {
    try {
      await start();
      break;
    } catch (err) {
      if (options.port !== undefined || attempt === 3 || !isPortTaken(err)) {
        rmSync(dir, { recursive: true, force: true });
        throw err;
      }
      port = await freePort();
    }
  }
  return {
    port,
    url: `redis${tls === undefined ? '' : 's'}://${options.password === undefined ? '' : `:${options.password}@`}127.0.0.1:${port}`,
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

/**
 * How to reach a test server besides its port: its password, and the CA file of its TLS (with a
 * client certificate and key for a server that asks for one).
 */
export type Access = {
  password?: string | undefined;
  tls?: { ca: string; cert?: string; key?: string } | undefined;
};

/**
 * Runs `command` on the server at `port` (with `password`, over TLS, as it wants) with a
 * connection of its own; undefined when it fails.
 */
export const ask = async (
  server: number | (Access & { port: number }),
  ...command: string[]
): Promise<unknown> => {
  const { port, password, tls }: Access & { port: number } =
    typeof server === 'number' ? { port: server } : server;
  const client = new Redis({
    port,
    host: '127.0.0.1',
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    ...(password === undefined ? {} : { password }),
    ...(tls === undefined
      ? {}
      : {
          tls: {
            ca: readFileSync(tls.ca),
            ...(tls.cert === undefined ? {} : { cert: readFileSync(tls.cert) }),
            ...(tls.key === undefined ? {} : { key: readFileSync(tls.key) }),
          },
        }),
  });
  client.on('error', () => undefined);
  try {
    return await client.call(command[0] ?? 'PING', ...command.slice(1));
  } catch {
    return undefined;
  } finally {
    client.disconnect();
  }
};

/** Whether every node of `ports` reports `cluster_state:ok`. */
const clusterOk = async (ports: number[], password?: string): Promise<boolean> => {
  const states = await Promise.all(
    ports.map(async (port) =>
      String(await ask({ port, password }, 'CLUSTER', 'INFO')).includes('cluster_state:ok'),
    ),
  );
  return states.every(Boolean);
};

/**
 * A private Redis Cluster of `masters` masters and no replicas, the slots spread by
 * `redis-cli --cluster create`; resolves once every node says `cluster_state:ok`. Each node's
 * cluster bus gets a free port of its own (`--cluster-port`), rather than port + 10 000, which
 * may be taken or beyond 65 535. With `password`, every node wants it (the cluster bus none).
 */
export const startRedisCluster = async (
  masters = 3,
  { password }: { password?: string } = {},
): Promise<RedisCluster> => {
  const servers: RedisServer[] = [];
  const stop = async () => {
    await Promise.all(servers.map((s) => s.stop()));
  };
  try {
    for (let i = 0; i < masters; i++) {
      // Free ports, released before the node binds them: other ones if another process took them.
      for (let attempt = 1; ; attempt++) {
        const port = await freePort();
        let busPort = await freePort();
        while (busPort === port) busPort = await freePort();
        try {
          servers.push(
            await startRedis({
              port,
              ...(password === undefined ? {} : { password }),
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
          break;
        } catch (err) {
          if (attempt === 3 || !isPortTaken(err)) throw err;
        }
      }
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
      // The password in the environment, not on the command line.
      {
        timeout: 15_000,
        env: { ...process.env, ...(password === undefined ? {} : { REDISCLI_AUTH: password }) },
      },
    );
    await waitFor(() => clusterOk(ports, password), 10_000, 'cluster_state:ok on every node');
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

/** A field of `INFO` text (`master_repl_offset`), or undefined. */
const infoField = (info: unknown, field: string): string | undefined =>
  new RegExp(`^${field}:(.*?)\r?$`, 'm').exec(String(info))?.[1];

export type RedisSentinel = {
  /** The monitored master's name (`sentinel_name`). */
  name: string;
  /** The sentinels, as `store.redis.sentinels` (and ioredis) take them. */
  sentinels: Array<{ host: string; port: number }>;
  /** The first master, then its replicas; a failover makes one of these the master. */
  servers: RedisServer[];
  sentinel: RedisServer;
  /** How to reach the sentinel (TLS) and the Redis servers (TLS and password). */
  access: { sentinel: Access; server: Access };
  /** The port of the master the sentinel names now. */
  masterPort(): Promise<number | undefined>;
  /**
   * Resolves once the current master has a replica, every replica it has is online and has all
   * it has written, and the sentinel knows a replica fit to promote: a failover may start then.
   */
  synced(): Promise<void>;
  stop(): Promise<void>;
};

/** `INFO replication` of a master: its offset, and each replica's state and offset. */
const replication = (info: unknown) => ({
  offset: Number(infoField(info, 'master_repl_offset')),
  replicas: [...String(info).matchAll(/^slave\d+:.*state=(\w+),offset=(\d+)/gm)].map((m) => ({
    online: m[1] === 'online',
    offset: Number(m[2]),
  })),
});

/**
 * A private Sentinel setup: a master, `replicas` replicas of it (`--replicaof`) and one sentinel
 * (quorum 1, a master judged down after 500 ms of silence), each on a free port; with `password`,
 * every server wants it (the sentinel itself none, or `sentinelPassword`). Resolves once {@link RedisSentinel.synced},
 * so that a failover can start at once.
 */
export const startRedisSentinel = async ({
  replicas = 2,
  name = 'authgate-master',
  password,
  sentinelPassword,
  tls,
}: {
  replicas?: number;
  name?: string;
  password?: string;
  /** The sentinel's own `requirepass`. */
  sentinelPassword?: string;
  /** Every server and the sentinel on TLS only, with this certificate (see {@link startRedis}). */
  tls?: { cert: string; key: string; ca: string };
} = {}): Promise<RedisSentinel> => {
  const access = {
    sentinel: { password: sentinelPassword, tls: tls === undefined ? undefined : { ca: tls.ca } },
    server: { password, tls: tls === undefined ? undefined : { ca: tls.ca } },
  };
  const started: RedisServer[] = [];
  const stop = async () => {
    await Promise.all(started.map((s) => s.stop()));
  };
  try {
    const auth = { tls, ...(password === undefined ? {} : { password, args: ['--masterauth', password] }) };
    const master = await startRedis(auth);
    started.push(master);
    for (let i = 0; i < replicas; i++) {
      const replicaOf = ['--replicaof', '127.0.0.1', String(master.port)];
      started.push(await startRedis({ ...auth, args: [...(auth.args ?? []), ...replicaOf] }));
    }
    const servers = [...started];
    const sentinel = await startRedis({
      tls,
      ...(sentinelPassword === undefined ? {} : { password: sentinelPassword }),
      sentinel: { name, masterPort: master.port, authPass: password },
    });
    started.push(sentinel);
    const masterPort = async () => {
      const addr = await ask(
        { port: sentinel.port, ...access.sentinel },
        'SENTINEL',
        'GET-MASTER-ADDR-BY-NAME',
        name,
      );
      return Array.isArray(addr) ? Number(addr[1]) : undefined;
    };
    const replicaFit = (row: unknown) => {
      const flat = (row as unknown[]).map(String);
      const field = (key: string) => flat[flat.indexOf(key) + 1];
      return field('flags') === 'slave' && field('master-link-status') === 'ok';
    };
    const synced = async () => {
      await waitFor(
        async () => {
          const { offset, replicas: known } = replication(
            await ask({ port: (await masterPort()) ?? 0, ...access.server }, 'INFO', 'replication'),
          );
          const rows = await ask({ port: sentinel.port, ...access.sentinel }, 'SENTINEL', 'REPLICAS', name);
          return (
            known.length > 0 &&
            known.every((r) => r.online && r.offset >= offset) &&
            Array.isArray(rows) &&
            rows.some(replicaFit)
          );
        },
        15_000,
        'the replicas to catch up with the master, and the sentinel to know one',
      );
    };
    await synced();
    return {
      name,
      sentinels: [{ host: '127.0.0.1', port: sentinel.port }],
      access,
      servers,
      sentinel,
      masterPort,
      synced,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
};
