import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readyStatus, waitFor, type AuthgateServer } from './helpers/authgate-process.js';
import { startRedisSentinel, type RedisSentinel } from './helpers/redis-server.js';
import { call, login, prepareReplicas, type ReplicaSetup } from './helpers/replicas.js';
import { makeCa, makeServerCert, type TestCa } from './helpers/tls-files.js';

/*
 * `store.redis.sentinels` with what production puts around them: a password on every Redis
 * (`password_file`), and TLS to the sentinels and the master (`tls.ca_file`).
 */

/** Every Redis of this one wants {@link PASSWORD}, its sentinel {@link SENTINEL_PASSWORD}. */
let locked: RedisSentinel;
const PASSWORD = 'sentinel-Pass-5f2e';
const SENTINEL_PASSWORD = 'sentinel-own-Pass-91c4';
/** Every Redis of this one, and its sentinel, is on TLS with a certificate {@link ca} signed. */
let tlsSentinel: RedisSentinel;
let ca: TestCa;
let otherCa: TestCa;
let setup: ReplicaSetup;
const certDir = mkdtempSync(join(tmpdir(), 'authgate-sentinel-tls-'));

const ready = async (on: AuthgateServer) => (await readyStatus(on)) === 200;
const lookup = async (token: string, on: AuthgateServer) =>
  (await call(on, 'GET', '/v1/auth/token/lookup-self', token)).status;

beforeAll(async () => {
  [ca, otherCa] = await Promise.all([makeCa(certDir, 'redis'), makeCa(certDir, 'other')]);
  const cert = await makeServerCert(certDir, ca, 'redis-server');
  [locked, tlsSentinel, setup] = await Promise.all([
    startRedisSentinel({ password: PASSWORD, sentinelPassword: SENTINEL_PASSWORD }),
    startRedisSentinel({ tls: { ...cert, ca: ca.cert } }),
    prepareReplicas(),
  ]);
  // Two sets of sentinels with their Redis servers, and certificates: as redis-sentinel.test.ts.
}, 60_000);

afterAll(async () => {
  await setup?.stop();
  await Promise.all([locked?.stop(), tlsSentinel?.stop()]);
  rmSync(certDir, { recursive: true, force: true });
});

describe('the redis store in Sentinel mode, with a password on every Redis and on the sentinel', () => {
  const passwordFile = (name: string, password: string) => {
    const file = join(setup.dir, name);
    writeFileSync(file, `${password}\n`, { mode: 0o600 });
    return file;
  };
  const locks = (sentinelPassword?: string) => ({
    sentinels: locked.sentinels,
    sentinel_name: locked.name,
    password_file: passwordFile('redis-password', PASSWORD),
    ...(sentinelPassword === undefined
      ? {}
      : { sentinel_password_file: passwordFile(`sentinel-password-${sentinelPassword}`, sentinelPassword) }),
  });

  it('serves with password_file and sentinel_password_file, as operations.md shows', async () => {
    const one = await setup.start('sentinel-password', locks(SENTINEL_PASSWORD));
    await waitFor(() => ready(one), 10_000, 'readiness through the sentinel, with the passwords');
    const { status, auth } = await login(one, await setup.podToken());
    expect(status).toBe(200);
    expect(await lookup(auth.client_token, one)).toBe(200);
    expect(one.output()).not.toContain(PASSWORD);
    expect(one.output()).not.toContain(SENTINEL_PASSWORD);
  });

  it.each([
    ['without the sentinel password', undefined],
    ['with a wrong sentinel password', 'not-the-sentinel-password'],
  ])('fails closed %s: not ready, 503, the reason logged', async (_what, sentinelPassword) => {
    const server = await setup.start(
      `sentinel-password-${sentinelPassword ?? 'none'}`,
      locks(sentinelPassword),
    );
    await waitFor(
      () => /"event":"store\.unavailable"/.test(server.output()),
      10_000,
      'store.unavailable in the log',
    );
    expect(await ready(server)).toBe(false);
    expect((await login(server, await setup.podToken())).status).toBe(503);
    expect(server.child.exitCode).toBeNull();
    expect(server.output()).not.toContain(SENTINEL_PASSWORD);
    if (sentinelPassword !== undefined) expect(server.output()).not.toContain(sentinelPassword);
  });
});

describe('the redis store in Sentinel mode, over TLS', () => {
  const on = (caFile: string) => ({
    sentinels: tlsSentinel.sentinels,
    sentinel_name: tlsSentinel.name,
    tls: { ca_file: caFile },
  });

  it('asks a TLS sentinel and talks TLS to the master, trusting tls.ca_file', async () => {
    const server = await setup.start('sentinel-tls', on(ca.cert));
    await waitFor(() => ready(server), 10_000, 'readiness through a TLS sentinel');
    const { status, auth } = await login(server, await setup.podToken());
    expect(status).toBe(200);
    expect(await lookup(auth.client_token, server)).toBe(200);
  });

  it('fails closed when tls.ca_file is not the CA of the sentinel', async () => {
    const server = await setup.start('sentinel-tls-other-ca', on(otherCa.cert));
    // The reason says no sentinel could be reached; the certificate error itself stays inside
    // ioredis's sentinel connection ("Last error: Connection is closed.").
    await waitFor(
      () => /"event":"store\.unavailable".*All sentinels are unreachable/.test(server.output()),
      10_000,
      'store.unavailable in the log',
    );
    expect(await ready(server)).toBe(false);
    expect((await login(server, await setup.podToken())).status).toBe(503);
    expect(server.child.exitCode).toBeNull();
  });
});
