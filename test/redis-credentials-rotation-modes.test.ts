import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor, type AuthgateServer } from './helpers/authgate-process.js';
import {
  aclUser,
  killClients,
  resetPassword,
  writePassword,
  type AclUser,
  type Admin,
} from './helpers/redis-acl.js';
import {
  ask,
  startRedisCluster,
  startRedisSentinel,
  type RedisCluster,
  type RedisSentinel,
} from './helpers/redis-server.js';
import { call, login, prepareReplicas, type ReplicaSetup } from './helpers/replicas.js';

/*
 * A Redis password rotated while authgate runs, in Sentinel and in Cluster mode (the standalone
 * case is redis-credentials-rotation.test.ts): the password of the data nodes, reached through the
 * sentinel or the cluster's slots, and the sentinel's own. Each test rotates the password in Redis
 * first and drops authgate's connections, as a failover or a network blip would: authgate can no
 * longer connect and answers 503, for as long as the file holds the old password. Once the file
 * holds the new one and SIGHUP is sent, its next attempt connects, and it serves again without a
 * restart.
 */

let setup: ReplicaSetup;
let sentinel: RedisSentinel;
let cluster: RedisCluster;
/** The default users' passwords, kept by the tests (and by the sentinel to watch the servers). */
const ADMIN = 'admin-Pass-3d9b71';
const SENTINEL_ADMIN = 'sentinel-admin-Pass-e0c54a';

const status = async (server: AuthgateServer) => (await login(server, await setup.podToken())).status;

/** Logs a pod in and looks the token up: what works only with the store. */
const serves = async (server: AuthgateServer) => {
  const { status, auth } = await login(server, await setup.podToken());
  expect(status).toBe(200);
  expect((await call(server, 'GET', '/v1/auth/token/lookup-self', auth.client_token)).status).toBe(200);
};

/** Started with `store`, ready, serving. */
const start = async (name: string, store: Record<string, unknown>) => {
  const server = await setup.start(name, store);
  await waitFor(
    async () => (await fetch(`${server.url}/v1/sys/health/ready`)).status === 200,
    10_000,
    `readiness of ${name}`,
  );
  await serves(server);
  return server;
};

/** Whether one of `on` has a subscribed connection (authgate's subscriber) of `user`. */
const subscribedOn = async (on: Admin[], user: string) => {
  const lists = await Promise.all(on.map((s) => ask(s, 'CLIENT', 'LIST', 'TYPE', 'pubsub')));
  return lists.some((l) => new RegExp(`user=${user} `).test(String(l)));
};

/** Drops authgate's connections as `user` on the servers of `on`, as a network blip would. */
const drop = async (on: Admin[], user: string) => expect(await killClients(on, user)).toBeGreaterThan(0);

/**
 * `rotated.user`'s password is already `rotated.next` in Redis, and authgate has lost its
 * connections. It stays unable to serve (503) while the file holds the old password, and serves
 * again once the file holds the new one and SIGHUP is sent, its subscriber (of `user` on one of
 * `on`) back too.
 */
const reconnectAfterRotation = async (
  server: AuthgateServer,
  rotated: { user: AclUser; next: string; field: string },
  subscriber: { user: string; on: Admin[] },
) => {
  await waitFor(async () => (await status(server)) === 503, 10_000, 'a 503 once the connections dropped');
  // Several reconnection attempts (100 ms, then 200 ms, … apart), all refused.
  await new Promise((r) => setTimeout(r, 1500));
  expect(await status(server)).toBe(503);
  writePassword(rotated.user, rotated.next);
  server.child.kill('SIGHUP');
  await waitFor(
    () => server.output().match(/.*"event":"store\.credentials_reloaded".*/)?.[0],
    10_000,
    'store.credentials_reloaded',
  ).then((line) => expect(line).toContain(`"changed":["store.redis.${rotated.field}"]`));
  await waitFor(async () => (await status(server)) === 200, 10_000, 'a login after the file changed');
  await serves(server);
  await waitFor(() => subscribedOn(subscriber.on, subscriber.user), 10_000, 'the subscriber back');
  expect(server.output()).not.toContain('-Pass-');
};

beforeAll(async () => {
  [setup, sentinel, cluster] = await Promise.all([
    prepareReplicas(),
    startRedisSentinel({
      replicas: 1,
      password: ADMIN,
      sentinelPassword: SENTINEL_ADMIN,
    }),
    startRedisCluster(3, { password: ADMIN }),
  ]);
});

afterAll(async () => {
  await setup?.stop();
  await Promise.all([sentinel?.stop(), cluster?.stop()]);
});

describe('a rotated password in Sentinel mode', () => {
  /** The master and its replica, as the tests administer them. */
  const servers = () => sentinel.servers.map((s) => ({ port: s.port, password: ADMIN }));
  const theSentinel = () => [{ port: sentinel.sentinel.port, password: SENTINEL_ADMIN }];
  const master = async () => [{ port: (await sentinel.masterPort()) ?? 0, password: ADMIN }];
  /** `store.redis`: asking the sentinel as `onSentinel`, connecting to the master as `data`. */
  const through = (onSentinel: AclUser, data: AclUser) => ({
    sentinels: sentinel.sentinels,
    sentinel_name: sentinel.name,
    sentinel_username: onSentinel.user,
    sentinel_password_file: onSentinel.file,
    username: data.user,
    password_file: data.file,
  });

  it('of the master and replicas (password_file) opens the next connection to the master', async () => {
    const user = await aclUser(servers(), setup.dir, 'data-first-Pass-6a20c7');
    const onSentinel = await aclUser(theSentinel(), setup.dir, 'sentinel-Pass-0f3e88');
    const server = await start('sentinel-data-password', through(onSentinel, user));
    await resetPassword(servers(), user, 'data-second-Pass-b81d4e');
    await drop(await master(), user.user);
    await reconnectAfterRotation(
      server,
      { user, next: 'data-second-Pass-b81d4e', field: 'password_file' },
      { user: user.user, on: await master() },
    );
  });

  it('of the sentinel (sentinel_password_file) is used to ask it for the master again', async () => {
    const onSentinel = await aclUser(theSentinel(), setup.dir, 'sentinel-first-Pass-42d9aa');
    const data = await aclUser(servers(), setup.dir, 'data-Pass-9c1b05');
    const server = await start('sentinel-own-password', through(onSentinel, data));
    // ioredis's failover detector listens on the sentinel, as that user.
    expect(await subscribedOn(theSentinel(), onSentinel.user)).toBe(true);
    await resetPassword(theSentinel(), onSentinel, 'sentinel-second-Pass-d7705f');
    // Its connections go too: they come back refused until the file is read.
    await drop(theSentinel(), onSentinel.user);
    await drop(await master(), data.user);
    await reconnectAfterRotation(
      server,
      {
        user: onSentinel,
        next: 'sentinel-second-Pass-d7705f',
        field: 'sentinel_password_file',
      },
      { user: data.user, on: await master() },
    );
    // The failover detector of the new connection to the master listens, with the new password.
    await waitFor(() => subscribedOn(theSentinel(), onSentinel.user), 10_000, 'the failover detector back');
  });

  it('of the sentinel is used when the failover detector reconnects to it', async () => {
    const onSentinel = await aclUser(theSentinel(), setup.dir, 'detector-first-Pass-a4c1e9');
    const data = await aclUser(servers(), setup.dir, 'detector-data-Pass-17f0b2');
    const server = await start('sentinel-detector-password', through(onSentinel, data));
    /** The ids of authgate's connections to the master. */
    const connections = async () =>
      [
        ...String(await ask((await master())[0] as Admin, 'CLIENT', 'LIST')).matchAll(
          /^id=(\d+) .*user=(\S+)/gm,
        ),
      ]
        .filter((m) => m[2] === data.user)
        .map((m) => m[1])
        .sort();
    const before = await connections();
    expect(before).not.toEqual([]);
    await resetPassword(theSentinel(), onSentinel, 'detector-second-Pass-5be38d');
    // The sentinel restarts, say: the detector's connections drop, and come back refused (the file
    // still holds the old password), a second apart and more. authgate goes on serving.
    await drop(theSentinel(), onSentinel.user);
    await new Promise((r) => setTimeout(r, 2500));
    expect(server.child.exitCode).toBeNull();
    expect(await subscribedOn(theSentinel(), onSentinel.user)).toBe(false);
    await serves(server);
    writePassword(onSentinel, 'detector-second-Pass-5be38d');
    server.child.kill('SIGHUP');
    await waitFor(() => subscribedOn(theSentinel(), onSentinel.user), 10_000, 'the failover detector back');
    // Its own connections, not those of a new detector made for a new connection to the master.
    expect(await connections()).toEqual(before);
    expect(server.output()).not.toMatch(/Unhandled|uncaught/i);
  }, 30_000);
});

describe('a rotated password in Cluster mode', () => {
  const nodes = () => cluster.nodes.map((n) => ({ port: n.port, password: ADMIN }));

  it('of every node (password_file) opens the next connections to the nodes', async () => {
    const user = await aclUser(nodes(), setup.dir, 'cluster-first-Pass-1e6f93');
    const server = await start('cluster-password', {
      // One seed node: authgate meets the others in the slots the cluster gives it once it can
      // connect again, and connects to them as to a node it never knew.
      cluster_nodes: cluster.nodes.slice(0, 1),
      username: user.user,
      password_file: user.file,
    });
    await resetPassword(nodes(), user, 'cluster-second-Pass-5a0c2d');
    await drop(nodes(), user.user);
    await reconnectAfterRotation(
      server,
      { user, next: 'cluster-second-Pass-5a0c2d', field: 'password_file' },
      { user: user.user, on: nodes() },
    );
  });
});
