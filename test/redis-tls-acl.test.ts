import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readyStatus, waitFor, type AuthgateServer } from './helpers/authgate-process.js';
import { ask, startRedis, type RedisServer } from './helpers/redis-server.js';
import { call, login, prepareReplicas, type ReplicaSetup } from './helpers/replicas.js';
import { makeCa, makeServerCert, type TestCa } from './helpers/tls-files.js';

/*
 * `rediss://` with `store.redis.tls.ca_file`, and an ACL user with `username` and `password_file`
 * (or in the URL), each against a redis-server of its own: right, authgate serves; wrong, it fails
 * closed — 503 and not ready, the reason in its log, never in plain text, never the password.
 */

let setup: ReplicaSetup;
let ca: TestCa;
let otherCa: TestCa;
let tlsRedis: RedisServer;
const servers: RedisServer[] = [];

const ready = readyStatus;

/** Logs a pod in and writes and reads a secret: what works only with the store. */
const serves = async (server: AuthgateServer) => {
  const { status, auth } = await login(server, await setup.podToken());
  expect(status).toBe(200);
  expect((await call(server, 'GET', '/v1/auth/token/lookup-self', auth.client_token)).status).toBe(200);
  const path = `/v1/secret/data/${server.url.replace(/\D/g, '')}`;
  expect((await call(server, 'POST', path, setup.admin, { data: { v: 'x' } })).status).toBe(200);
  const read = await call(server, 'GET', path, setup.admin);
  expect((read.json['data'] as { data: unknown }).data).toEqual({ v: 'x' });
};

/**
 * Expects `server` to fail closed: not ready, a login answered 503 `…unavailable…`, and the log
 * naming why (`reason`) in a `store.unavailable` event.
 */
const failsClosed = async (server: AuthgateServer, reason: RegExp) => {
  const line = await waitFor(
    () => /^.*"event":"store\.unavailable".*$/m.exec(server.output())?.[0],
    10_000,
    'store.unavailable in the log',
  );
  expect(line).toMatch(reason);
  expect(await ready(server)).toBe(503);
  const res = await call(server, 'POST', '/v1/auth/kubernetes/login', undefined, {
    role: 'nginx',
    jwt: await setup.podToken(),
  });
  expect(res.status).toBe(503);
  expect((res.json['errors'] as string[])[0]).toMatch(/unavailable/);
  expect(server.child.exitCode).toBeNull();
};

beforeAll(async () => {
  setup = await prepareReplicas();
  [ca, otherCa] = await Promise.all([makeCa(setup.dir, 'redis'), makeCa(setup.dir, 'other')]);
  const cert = await makeServerCert(setup.dir, ca, 'redis-server');
  tlsRedis = await startRedis({ tls: { ...cert, ca: ca.cert } });
  servers.push(tlsRedis);
});

afterAll(async () => {
  await setup?.stop();
  await Promise.all(servers.map((s) => s.stop()));
});

describe('rediss://', () => {
  it('serves with the CA of the server certificate in tls.ca_file', async () => {
    expect(tlsRedis.url).toMatch(/^rediss:\/\//);
    const server = await setup.start('tls-right-ca', { url: tlsRedis.url, tls: { ca_file: ca.cert } });
    await waitFor(async () => (await ready(server)) === 200, 10_000, 'readiness over TLS');
    await serves(server);
  });

  it.each([
    ['another CA in tls.ca_file', true],
    ['no tls.ca_file (the system CAs)', false],
  ])('fails closed with %s, naming the certificate problem', async (what, other) => {
    const server = await setup.start(`tls-${what.replace(/\W+/g, '-')}`, {
      url: tlsRedis.url,
      ...(other ? { tls: { ca_file: otherCa.cert } } : {}),
    });
    await failsClosed(server, /certificate/);
  });

  it('shows the client certificate of tls.cert_file and tls.key_file to a server that asks for one', async () => {
    const cert = await makeServerCert(setup.dir, ca, 'redis-mtls');
    const mtls = await startRedis({ tls: { ...cert, ca: ca.cert, clientCerts: true } });
    servers.push(mtls);
    const client = await makeServerCert(setup.dir, ca, 'authgate-client');
    const server = await setup.start('tls-client-cert', {
      url: mtls.url,
      tls: { ca_file: ca.cert, cert_file: client.cert, key_file: client.key },
    });
    await waitFor(async () => (await ready(server)) === 200, 10_000, 'readiness with a client certificate');
    await serves(server);
    const without = await setup.start('tls-no-client-cert', { url: mtls.url, tls: { ca_file: ca.cert } });
    await failsClosed(without, /alert certificate required/);
  });

  it('never falls back to plain text when the server speaks no TLS', async () => {
    const plain = await startRedis();
    servers.push(plain);
    const server = await setup.start('tls-to-plain', {
      url: plain.url.replace('redis://', 'rediss://'),
      tls: { ca_file: ca.cert },
    });
    // Redis reads the TLS hello as a command line and waits for its end: the connection times out
    // (or, if the hello held a newline, Redis answers an error that is no TLS record).
    await failsClosed(server, /ETIMEDOUT|SSL|TLS|wrong version/i);
    // Nothing reached the plain server as a command: the login above wrote nothing there.
    expect(await ask(plain.port, 'DBSIZE')).toBe(0);
  });
});

describe('an ACL user', () => {
  const password = 'acl-Secret-7e1b9c';
  let acl: RedisServer;
  const passwordFile = (name: string, value: string) => {
    const file = join(setup.dir, name);
    writeFileSync(file, `${value}\n`, { mode: 0o600 });
    return file;
  };

  beforeAll(async () => {
    // Only the ACL user may connect: the default user is off.
    acl = await startRedis({
      args: ['--user', 'default', 'off', '--user', 'authgate', 'on', `>${password}`, '~*', '&*', '+@all'],
    });
    servers.push(acl);
  });

  it('serves with username and password_file', async () => {
    const server = await setup.start('acl-file', {
      url: acl.url,
      username: 'authgate',
      password_file: passwordFile('redis-password', password),
    });
    await waitFor(async () => (await ready(server)) === 200, 10_000, 'readiness as the ACL user');
    await serves(server);
    expect(server.output()).not.toContain(password);
  });

  it('serves with user and password in the URL', async () => {
    const server = await setup.start('acl-url', {
      url: acl.url.replace('redis://', `redis://authgate:${password}@`),
    });
    await waitFor(async () => (await ready(server)) === 200, 10_000, 'readiness as the ACL user');
    await serves(server);
    expect(server.output()).not.toContain(password);
  });

  it.each([
    ['a password alone', ':stale-Pass-0c9e'],
    ['another user and password', 'someone:stale-Pass-0c9e'],
  ])('takes username and password_file over %s in the URL', async (_what, userinfo) => {
    // As a password rotated in its file while the URL (AUTHGATE_REDIS_URL, say) still holds the old.
    const server = await setup.start(`acl-over-url-${userinfo.length}`, {
      url: acl.url.replace('redis://', `redis://${userinfo}@`),
      username: 'authgate',
      password_file: passwordFile('redis-password', password),
    });
    await waitFor(async () => (await ready(server)) === 200, 10_000, 'readiness as the ACL user');
    await serves(server);
    expect(server.output()).not.toContain('stale-Pass');
  });

  it.each([
    ['password_file', 'file'],
    ['the URL', 'url'],
  ])('fails closed on a wrong password in %s, naming WRONGPASS and never the password', async (_w, where) => {
    const wrong = 'wrong-Pass-4d2a61';
    const server = await setup.start(`acl-wrong-${where}`, {
      ...(where === 'file'
        ? { url: acl.url, username: 'authgate', password_file: passwordFile('wrong-password', wrong) }
        : { url: acl.url.replace('redis://', `redis://authgate:${wrong}@`) }),
    });
    await failsClosed(server, /WRONGPASS/);
    expect(server.output()).not.toContain(wrong);
    expect(server.output()).not.toContain(password);
  });
});
