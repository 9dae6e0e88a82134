import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor, type AuthgateServer } from './helpers/authgate-process.js';
import { ask, startRedis, type RedisServer } from './helpers/redis-server.js';
import { call, login, prepareReplicas, type ReplicaSetup } from './helpers/replicas.js';

/*
 * A Redis ACL password rotated while authgate runs: the secret manager changes the user's
 * password in Redis and in `store.redis.password_file`. Open connections stay; the next one
 * (after CLIENT KILL, as a failover or a network blip would) authenticates with the file's
 * current password, read on SIGHUP or by the periodic look, without a restart.
 */

let setup: ReplicaSetup;
let redis: RedisServer;
const admin = 'admin-Pass-5f0d2c';
let rotation = 0;

const ready = async (server: AuthgateServer) => (await fetch(`${server.url}/v1/sys/health/ready`)).status;

/** Logs a pod in and looks the token up: what works only with the store. */
const serves = async (server: AuthgateServer) => {
  const { status, auth } = await login(server, await setup.podToken());
  expect(status).toBe(200);
  expect((await call(server, 'GET', '/v1/auth/token/lookup-self', auth.client_token)).status).toBe(200);
};

/** Redis as the default user, which the tests keep for themselves. */
const redisAdmin = (...command: string[]) => ask({ port: redis.port, password: admin }, ...command);

/** A new ACL user for one test, with its password file; the user may do what authgate needs. */
const aclUser = async (password: string) => {
  const user = `authgate${++rotation}`;
  expect(await redisAdmin('ACL', 'SETUSER', user, 'on', `>${password}`, '~*', '&*', '+@all')).toBe('OK');
  const file = join(setup.dir, `${user}-password`);
  writeFileSync(file, `${password}\n`, { mode: 0o600 });
  return { user, file };
};

/** What a secret manager does: the user's only password is now `next`, in Redis and in the file. */
const rotate = async (user: { user: string; file: string }, next: string) => {
  expect(await redisAdmin('ACL', 'SETUSER', user.user, 'resetpass', `>${next}`)).toBe('OK');
  writeFileSync(user.file, `${next}\n`, { mode: 0o600 });
};

/**
 * Drops every connection of `user`, as a Redis restart, a failover or a network blip would, and
 * waits until authgate has connected again: a login answered 200 rather than 503.
 */
const reconnect = async (server: AuthgateServer, user: string) => {
  expect(await redisAdmin('CLIENT', 'KILL', 'USER', user)).toBeGreaterThan(0);
  await waitFor(
    async () => (await login(server, await setup.podToken())).status === 200,
    10_000,
    `a login after the reconnect: ${server.output()}`,
  );
};

const events = (server: AuthgateServer, event: string) =>
  server
    .output()
    .split('\n')
    .filter((l) => l.includes(`"event":"${event}"`));

/** The first line of `event` in the server's log, once there. */
const logged = (server: AuthgateServer, event: string) =>
  waitFor(() => events(server, event)[0], 10_000, event);

/** An authgate named `name` that connects as `user`, ready; `env` is its extra environment. */
const startAs = async (name: string, user: { user: string; file: string }, env?: Record<string, string>) => {
  const server = await setup.start(
    name,
    { url: redis.url, username: user.user, password_file: user.file },
    env,
  );
  await waitFor(async () => (await ready(server)) === 200, 10_000, 'readiness as the ACL user');
  return server;
};

beforeAll(async () => {
  setup = await prepareReplicas();
  redis = await startRedis({ args: ['--user', 'default', 'on', `>${admin}`, '~*', '&*', '+@all'] });
});

afterAll(async () => {
  await setup?.stop();
  await redis?.stop();
});

describe('a rotated store.redis.password_file', () => {
  it('is read on SIGHUP, and the next connection authenticates with it', async () => {
    const user = await aclUser('first-Pass-91c3ab');
    const server = await startAs('rotate-sighup', user);
    await serves(server);
    await rotate(user, 'second-Pass-2e77d0');
    server.child.kill('SIGHUP');
    await logged(server, 'store.credentials_reloaded');
    await reconnect(server, user.user);
    await serves(server);
    expect(server.output()).not.toContain('first-Pass');
    expect(server.output()).not.toContain('second-Pass');
  });

  it('is followed with no signal, by the periodic look', async () => {
    const user = await aclUser('first-Pass-7a0e14');
    const server = await startAs('rotate-interval', user, { AUTHGATE_FILE_CHECK_INTERVAL_MS: '200' });
    await rotate(user, 'second-Pass-c51f3e');
    await logged(server, 'store.credentials_reloaded');
    await reconnect(server, user.user);
    await serves(server);
  });

  it('keeps the password in force when the file is emptied, and says so without the value', async () => {
    const user = await aclUser('kept-Pass-0b9d62');
    const server = await startAs('rotate-empty', user);
    writeFileSync(user.file, '\n');
    server.child.kill('SIGHUP');
    const line = await logged(server, 'store.credentials_reload_failed');
    expect(line).toMatch(/store\.redis\.password_file/);
    expect(events(server, 'store.credentials_reloaded')).toEqual([]);
    // The password in force still opens a new connection.
    await reconnect(server, user.user);
    await serves(server);
    expect(server.output()).not.toContain('kept-Pass');
  });
});
