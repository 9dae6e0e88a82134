import { X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAuthgateServer, waitFor, type AuthgateServer } from './helpers/authgate-process.js';
import { startProcessFixture, type ProcessFixture } from './helpers/process-fixture.js';
import { makeCa, makeServerCert, secretVolume, type SecretVolume, type TestCa } from './helpers/tls-files.js';

/*
 * `authgate server` serving HTTPS from a certificate that cert-manager renews and the kubelet
 * swaps in place (a Secret volume: `tls.crt` → `..data/tls.crt`, `..data` → a timestamped
 * directory, replaced by an atomic rename). A new pair is put in force for new connections on
 * SIGHUP and, with no signal at all, at the next look at the files; connections already open keep
 * theirs; a bad pair keeps the one served and says why; the process never stops serving.
 */

type Pair = { cert: string; key: string };

let fx: ProcessFixture;
let ca: TestCa;
let caPem: string;
const pairs: Record<'a' | 'b' | 'c' | 'long', Pair> = {} as never;

/** The SHA-256 fingerprint of a PEM certificate file, as node's TLS sockets write it. */
const fingerprint = (pair: Pair) => new X509Certificate(readFileSync(pair.cert)).fingerprint256;

/**
 * GET `path` (default /v1/sys/health) over `agent` (false: a connection of its own); the peer's
 * fingerprint and socket, and the body.
 */
const get = (server: AuthgateServer, agent: Agent | false = false, path = '/v1/sys/health') =>
  new Promise<{ status: number; fingerprint: string; socket: TLSSocket; body: string }>((resolve, reject) => {
    const req = request(
      `${server.url}${path}`,
      // The certificates name 127.0.0.1; trusting the test CA is all it takes.
      { ca: caPem, agent },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        const socket = res.socket as TLSSocket;
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            fingerprint: socket.getPeerCertificate().fingerprint256,
            socket,
            body,
          }),
        );
      },
    );
    req.on('error', reject);
    req.end();
  });

const count = (server: AuthgateServer, event: string) =>
  server.output().split(`"event":"${event}"`).length - 1;

/** The last log line of `event`, once there are more than `before`. */
const nextLine = async (server: AuthgateServer, event: string, before: number) => {
  await waitFor(() => count(server, event) > before, 10_000, event);
  return (
    server
      .output()
      .split('\n')
      .filter((l) => l.includes(`"event":"${event}"`))
      .at(-1) ?? ''
  );
};

/** Sends SIGHUP; resolves with the line of `event` it leads to. */
const hangup = async (server: AuthgateServer, event: string) => {
  const before = count(server, event);
  server.child.kill('SIGHUP');
  return nextLine(server, event, before);
};

const start = async (name: string, volume: SecretVolume, env: Record<string, string> = {}) =>
  startAuthgateServer(
    fx.dir,
    name,
    {
      ...fx.base(),
      listener: { port: 0, tls_cert_file: volume.certFile, tls_key_file: volume.keyFile },
      auth: { jwks: fx.jwksMount() },
    },
    env,
  );

beforeAll(async () => {
  fx = await startProcessFixture('tls-reload');
  ca = await makeCa(fx.dir, 'listener');
  caPem = readFileSync(ca.cert, 'utf8');
  pairs.a = await makeServerCert(fx.dir, ca, 'a');
  pairs.b = await makeServerCert(fx.dir, ca, 'b');
  pairs.c = await makeServerCert(fx.dir, ca, 'c');
  pairs.long = await makeServerCert(fx.dir, ca, 'long', 30);
});

afterAll(async () => {
  await fx?.close();
});

describe('on SIGHUP', () => {
  let server: AuthgateServer;
  let volume: SecretVolume;

  beforeAll(async () => {
    volume = secretVolume(join(fx.dir, 'sighup'), pairs.a);
    server = await start('sighup', volume);
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('serves the new certificate to new connections, and keeps an open connection on the old one', async () => {
    expect((await get(server)).fingerprint).toBe(fingerprint(pairs.a));
    const keepAlive = new Agent({ keepAlive: true, maxSockets: 1, ca: caPem });
    try {
      const before = await get(server, keepAlive);
      expect(before.fingerprint).toBe(fingerprint(pairs.a));

      volume.swap(pairs.b.cert, pairs.b.key);
      const line = await hangup(server, 'listener.tls_reloaded');
      expect(JSON.parse(line)).toMatchObject({
        level: 30,
        trigger: 'SIGHUP',
        fingerprint: fingerprint(pairs.b),
        subject: 'CN=b',
        notAfter: new Date(new X509Certificate(readFileSync(pairs.b.cert)).validTo).toISOString(),
      });
      expect((await get(server)).fingerprint).toBe(fingerprint(pairs.b));

      const after = await get(server, keepAlive);
      expect(after.socket).toBe(before.socket);
      expect(after.status).toBe(200);
      expect(after.fingerprint).toBe(fingerprint(pairs.a));
    } finally {
      keepAlive.destroy();
    }
    // The certificate's content is what the reload applies: it is not a listener change to restart for.
    expect(server.output()).not.toMatch(/"sections":\["listener"\]/);
  });

  it("keeps the certificate it serves when the new key is not the certificate's, says why, and takes a good pair later", async () => {
    const served = (await get(server)).fingerprint;
    volume.swap(pairs.c.cert, pairs.a.key);
    const line = await hangup(server, 'listener.tls_reload_failed');
    expect(JSON.parse(line)).toMatchObject({ level: 50, trigger: 'SIGHUP' });
    expect(line).toContain(
      `${volume.keyFile} is not the private key of the certificate in ${volume.certFile}`,
    );
    expect((await get(server)).fingerprint).toBe(served);

    volume.swap(pairs.c.cert, pairs.c.key);
    await hangup(server, 'listener.tls_reloaded');
    expect((await get(server)).fingerprint).toBe(fingerprint(pairs.c));
    expect(server.child.exitCode).toBeNull();
  });

  it('keeps the certificate it serves when the files are half written, and never logs key material', async () => {
    const served = (await get(server)).fingerprint;
    const empty = join(fx.dir, 'empty');
    writeFileSync(empty, '');
    volume.swap(empty, pairs.b.key);
    expect(await hangup(server, 'listener.tls_reload_failed')).toContain(
      `${volume.certFile} holds no PEM certificate`,
    );
    const half = join(fx.dir, 'half.key');
    writeFileSync(half, readFileSync(pairs.b.key, 'utf8').slice(0, 100));
    volume.swap(pairs.b.cert, half);
    expect(await hangup(server, 'listener.tls_reload_failed')).toContain(
      `${volume.keyFile} holds no unencrypted PEM private key`,
    );
    expect((await get(server)).fingerprint).toBe(served);
    expect(server.output()).not.toContain('PRIVATE KEY');
    expect(server.output()).not.toContain(readFileSync(pairs.b.key, 'utf8').split('\n')[1]);
    expect(server.child.exitCode).toBeNull();
  });
});

describe('with no signal', () => {
  let server: AuthgateServer;
  let volume: SecretVolume;

  beforeAll(async () => {
    volume = secretVolume(join(fx.dir, 'periodic'), pairs.a);
    server = await start('periodic', volume, { AUTHGATE_FILE_CHECK_INTERVAL_MS: '200' });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('takes a renewed certificate at the next look at the files', async () => {
    expect((await get(server)).fingerprint).toBe(fingerprint(pairs.a));
    const before = count(server, 'listener.tls_reloaded');
    volume.swap(pairs.b.cert, pairs.b.key);
    const line = await nextLine(server, 'listener.tls_reloaded', before);
    expect(JSON.parse(line)).toMatchObject({ trigger: 'interval', fingerprint: fingerprint(pairs.b) });
    expect((await get(server)).fingerprint).toBe(fingerprint(pairs.b));
  });

  it('retries a bad pair at each look and takes the good one that follows', async () => {
    const failed = count(server, 'listener.tls_reload_failed');
    volume.swap(pairs.c.cert, pairs.a.key);
    await nextLine(server, 'listener.tls_reload_failed', failed + 1);
    expect((await get(server)).fingerprint).toBe(fingerprint(pairs.b));

    const reloaded = count(server, 'listener.tls_reloaded');
    volume.swap(pairs.c.cert, pairs.c.key);
    await nextLine(server, 'listener.tls_reloaded', reloaded);
    expect((await get(server)).fingerprint).toBe(fingerprint(pairs.c));
    expect(server.child.exitCode).toBeNull();
  });
});

describe('a certificate close to its end', () => {
  it('is named in a warning at start, and one far from it is not', async () => {
    const soon = await start('soon', secretVolume(join(fx.dir, 'soon'), pairs.a));
    try {
      const line = await nextLine(soon, 'listener.tls_expires_soon', 0);
      expect(JSON.parse(line)).toMatchObject({ level: 40, fingerprint: fingerprint(pairs.a) });
    } finally {
      await soon.stop();
    }
    const later = await start('later', secretVolume(join(fx.dir, 'later'), pairs.long));
    try {
      expect(later.output()).not.toContain('listener.tls_expires_soon');
    } finally {
      await later.stop();
    }
  });
});

describe('authgate_listener_certificate_expiry_timestamp_seconds', () => {
  /** The gauge's value in GET /metrics, in Unix seconds; undefined when absent. */
  const expiry = async (server: AuthgateServer) => {
    const { status, body } = await get(server, false, '/metrics');
    expect(status).toBe(200);
    const match = /^authgate_listener_certificate_expiry_timestamp_seconds(?:\{[^}]*\})? (\S+)$/m.exec(body);
    return match === null ? undefined : Number(match[1]);
  };
  const notAfterSeconds = (pair: Pair) =>
    new Date(new X509Certificate(readFileSync(pair.cert)).validTo).getTime() / 1000;

  it("is the served certificate's end, and follows a renewal", async () => {
    const volume = secretVolume(join(fx.dir, 'expiry'), pairs.a);
    const server = await start('expiry', volume);
    try {
      expect(await expiry(server)).toBe(notAfterSeconds(pairs.a));
      volume.swap(pairs.long.cert, pairs.long.key);
      await hangup(server, 'listener.tls_reloaded');
      expect(await expiry(server)).toBe(notAfterSeconds(pairs.long));
      // A pair refused keeps the one served, and its end.
      volume.swap(pairs.c.cert, pairs.a.key);
      await hangup(server, 'listener.tls_reload_failed');
      expect(await expiry(server)).toBe(notAfterSeconds(pairs.long));
    } finally {
      await server.stop();
    }
  });
});
