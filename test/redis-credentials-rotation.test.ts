import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { readyStatus, waitFor, type AuthgateServer } from './helpers/authgate-process.js';
import {
  aclUser,
  killClients,
  resetPassword,
  writePassword,
  type AclUser,
  type Admin,
} from './helpers/redis-acl.js';
import { ask, startRedis, type RedisServer } from './helpers/redis-server.js';
import { call, login, prepareReplicas, type ReplicaSetup } from './helpers/replicas.js';
import { makeCa, makeServerCert, secretVolume, type TestCa } from './helpers/tls-files.js';

/*
 * A Redis ACL password rotated while authgate runs: the secret manager changes the user's
 * password in Redis and in `store.redis.password_file`. Open connections stay; the next one
 * (after CLIENT KILL, as a failover or a network blip would) authenticates with the file's
 * current password, read on SIGHUP or by the periodic look, without a restart. The same for the
 * client certificate shown to a Redis that wants one (`tls-auth-clients yes`): once Redis trusts
 * only the new CA, the next connection presents the certificate and key now in the files; and
 * for `tls.ca_file`, once Redis shows a certificate of a new CA.
 */

let setup: ReplicaSetup;
let redis: RedisServer;
const admin = 'admin-Pass-5f0d2c';

const ready = readyStatus;

/** Logs a pod in and looks the token up: what works only with the store. */
const serves = async (server: AuthgateServer) => {
  const { status, auth } = await login(server, await setup.podToken());
  expect(status).toBe(200);
  expect((await call(server, 'GET', '/v1/auth/token/lookup-self', auth.client_token)).status).toBe(200);
};

/** Redis as the default user, which the tests keep for themselves. */
const adminAccess = () => ({ port: redis.port, password: admin });

/** A new ACL user for one test, with its password file; the user may do what authgate needs. */
const newUser = (password: string) => aclUser([adminAccess()], setup.dir, password);

/** What a secret manager does: the user's only password is now `next`, in Redis and in the file. */
const rotate = async (user: AclUser, next: string) => {
  await resetPassword([adminAccess()], user, next);
  writePassword(user, next);
};

/**
 * Drops every connection of `user`, as a Redis restart, a failover or a network blip would, and
 * waits until authgate has connected again: a login answered 200 rather than 503.
 */
const reconnect = async (server: AuthgateServer, user: string, as: Admin = adminAccess()) => {
  expect(await killClients([as], user)).toBeGreaterThan(0);
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
const startAs = async (name: string, user: AclUser, env?: Record<string, string>) => {
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
    const user = await newUser('first-Pass-91c3ab');
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
    const user = await newUser('first-Pass-7a0e14');
    const server = await startAs('rotate-interval', user, { AUTHGATE_FILE_CHECK_INTERVAL_MS: '200' });
    await rotate(user, 'second-Pass-c51f3e');
    await logged(server, 'store.credentials_reloaded');
    await reconnect(server, user.user);
    await serves(server);
  });

  it('keeps the password in force when the file is emptied, and says so without the value', async () => {
    const user = await newUser('kept-Pass-0b9d62');
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

describe('rotated store.redis.tls files', () => {
  let tlsRedis: RedisServer;
  let oldCa: TestCa;
  let newCa: TestCa;
  /** Both CAs in one file: the tests trust the Redis server whichever certificate it shows. */
  let bothCas: string;
  /**
   * Certificates of each CA: authgate's client certificate, the tests' own to administer Redis,
   * and the Redis server's.
   */
  const certs: Record<
    'oldClient' | 'oldAdmin' | 'oldServer' | 'newClient' | 'newAdmin' | 'newServer',
    { cert: string; key: string }
  > = {} as never;
  let n = 0;

  /** The TLS Redis as the tests, with the client certificate `pair`. */
  const tlsAdmin = (pair: { cert: string; key: string }) => ({
    port: tlsRedis.port,
    tls: { ca: bothCas, ...pair },
  });

  beforeAll(async () => {
    [oldCa, newCa] = await Promise.all([makeCa(setup.dir, 'redis-old'), makeCa(setup.dir, 'redis-new')]);
    for (const [age, ca] of [
      ['old', oldCa],
      ['new', newCa],
    ] as const) {
      certs[`${age}Client`] = await makeServerCert(setup.dir, ca, `authgate-${age}`);
      certs[`${age}Admin`] = await makeServerCert(setup.dir, ca, `admin-${age}`);
      certs[`${age}Server`] = await makeServerCert(setup.dir, ca, `redis-server-${age}`);
    }
    bothCas = join(setup.dir, 'both-cas.crt');
    writeFileSync(bothCas, readFileSync(oldCa.cert, 'utf8') + readFileSync(newCa.cert, 'utf8'));
    tlsRedis = await startRedis({ tls: { ...certs.oldServer, ca: oldCa.cert, clientCerts: true } });
  });

  afterAll(async () => {
    await tlsRedis?.stop();
  });

  beforeEach(async () => {
    // Each test starts from a Redis that shows a certificate of the old CA and trusts the old CA
    // alone for clients (a test before may have left it on the new one).
    const reset = [
      ...['tls-ca-cert-file', oldCa.cert],
      ...['tls-cert-file', certs.oldServer.cert, 'tls-key-file', certs.oldServer.key],
    ];
    for (const admin of [certs.newAdmin, certs.oldAdmin])
      await ask(tlsAdmin(admin), 'CONFIG', 'SET', ...reset);
    expect(await ask(tlsAdmin(certs.oldAdmin), 'PING')).toBe('PONG');
  });

  /**
   * The authgate of each test, stopped after it: one left running keeps a subscriber on the shared
   * Redis, which a later test's check for its own subscriber would take for it.
   */
  const running: AuthgateServer[] = [];
  afterEach(async () => {
    for (const server of running.splice(0)) await server.stop();
  });

  /**
   * An authgate showing the client certificate in `volume`, trusting for the server's the CA in
   * `caFile` (default: the old CA's file), ready.
   */
  const startWith = async (
    volume: { certFile: string; keyFile: string },
    env?: Record<string, string>,
    caFile = oldCa.cert,
  ) => {
    const server = await setup.start(
      `redis-tls-${++n}`,
      { url: tlsRedis.url, tls: { ca_file: caFile, cert_file: volume.certFile, key_file: volume.keyFile } },
      env,
    );
    running.push(server);
    await waitFor(async () => (await ready(server)) === 200, 10_000, 'readiness with the old certificate');
    await serves(server);
    return server;
  };

  /**
   * Redis now trusts the new CA alone (a certificate of the old one is refused), and drops every
   * connection: authgate serves again only by showing the new certificate.
   */
  const trustOnlyNewCaAndReconnect = async (server: AuthgateServer) => {
    expect(await ask(tlsAdmin(certs.oldAdmin), 'CONFIG', 'SET', 'tls-ca-cert-file', newCa.cert)).toBe('OK');
    expect(await ask(tlsAdmin(certs.oldAdmin), 'PING')).toBeUndefined();
    expect(await ask(tlsAdmin(certs.newAdmin), 'PING')).toBe('PONG');
    await reconnect(server, 'default', tlsAdmin(certs.newAdmin));
    await serves(server);
    // The subscriber (revocations, cache invalidations) is back as well, with the same certificate.
    await waitFor(
      async () =>
        String(await ask(tlsAdmin(certs.newAdmin), 'CLIENT', 'LIST', 'TYPE', 'pubsub')).includes('sub='),
      10_000,
      'a subscriber after the reconnect',
    );
  };

  it('reads a rotated client certificate on SIGHUP, and presents it at the next connection', async () => {
    const files = { certFile: join(setup.dir, 'client.crt'), keyFile: join(setup.dir, 'client.key') };
    copyFileSync(certs.oldClient.cert, files.certFile);
    copyFileSync(certs.oldClient.key, files.keyFile);
    const server = await startWith(files);
    // Rewritten in place, as a sidecar might.
    copyFileSync(certs.newClient.key, files.keyFile);
    copyFileSync(certs.newClient.cert, files.certFile);
    server.child.kill('SIGHUP');
    const line = await logged(server, 'store.credentials_reloaded');
    expect(line).toContain('store.redis.tls.cert_file');
    expect(line).toContain('store.redis.tls.key_file');
    await trustOnlyNewCaAndReconnect(server);
    expect(server.output()).not.toContain('PRIVATE KEY');
  });

  it('follows a client certificate the kubelet swaps in its Secret volume, with no signal', async () => {
    const volume = secretVolume(join(setup.dir, 'client-cert-volume'), certs.oldClient);
    const server = await startWith(volume, { AUTHGATE_FILE_CHECK_INTERVAL_MS: '200' });
    volume.swap(certs.newClient.cert, certs.newClient.key);
    await logged(server, 'store.credentials_reloaded');
    await trustOnlyNewCaAndReconnect(server);
  });

  it('trusts a rotated ca_file at the next connection, when Redis shows a certificate of the new CA', async () => {
    const caFile = join(setup.dir, 'redis-ca.crt');
    copyFileSync(oldCa.cert, caFile);
    const server = await startWith(
      { certFile: certs.oldClient.cert, keyFile: certs.oldClient.key },
      undefined,
      caFile,
    );
    copyFileSync(newCa.cert, caFile);
    server.child.kill('SIGHUP');
    expect(await logged(server, 'store.credentials_reloaded')).toContain('store.redis.tls.ca_file');
    const newServerCert = ['tls-cert-file', certs.newServer.cert, 'tls-key-file', certs.newServer.key];
    expect(await ask(tlsAdmin(certs.oldAdmin), 'CONFIG', 'SET', ...newServerCert)).toBe('OK');
    // A client that trusts the old CA alone no longer trusts the server.
    expect(
      await ask({ port: tlsRedis.port, tls: { ca: oldCa.cert, ...certs.oldAdmin } }, 'PING'),
    ).toBeUndefined();
    await reconnect(server, 'default', tlsAdmin(certs.oldAdmin));
    await serves(server);
  });
});
