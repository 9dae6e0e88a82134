import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { composeServer, type ComposedServer } from '../src/cli/compose.js';
import { parseConfig } from '../src/config/index.js';
import { createLogger } from '../src/telemetry/index.js';
import { makeCa, makeServerCert } from './helpers/tls-files.js';

/*
 * A client that connects and sends nothing must not hold its connection (and a file descriptor)
 * for long: closed by the server after the header limit and Node's check interval (here 1 s +
 * 1 s), over HTTP and over TLS once the handshake is done, and over TLS when no handshake even
 * begins, after the handshake limit.
 */

const dir = mkdtempSync(join(tmpdir(), 'authgate-silent-'));
const servers: ComposedServer[] = [];
afterAll(async () => {
  for (const s of servers) await s.close();
  rmSync(dir, { recursive: true, force: true });
});

const serve = async (https?: { cert: Buffer; key: Buffer }) => {
  // A mount is required; it is never called (nothing is asked of the listener but to connect).
  const mount = {
    type: 'kubernetes',
    verification: 'tokenreview',
    kubernetes_host: 'https://127.0.0.1:1',
    issuers: ['https://kubernetes.default.svc.cluster.local'],
    roles: {},
  };
  const config = parseConfig(
    JSON.stringify({
      log: { level: 'silent' },
      listener: { request_timeout: 1 },
      auth: { kubernetes: mount },
    }),
    { env: {}, baseDir: dir },
  );
  const server = composeServer(config, { log: createLogger('silent'), adminToken: 'a'.repeat(32) }, https);
  servers.push(server);
  await server.app.listen({ host: '127.0.0.1', port: 0 });
  return (server.app.server.address() as AddressInfo).port;
};

/** Resolves when the server holds no connection any more. */
const drained = async (server: ComposedServer) => {
  for (;;) {
    const open = await new Promise<number>((resolve, reject) =>
      server.app.server.getConnections((err, n) => (err ? reject(err) : resolve(n))),
    );
    if (open === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
};

/** Opens 20 connections that send (and read) nothing, and resolves once the server has closed them all. */
const silentlyConnect = async (open: () => Socket, ready: 'connect' | 'secureConnect') => {
  const server = servers.at(-1)!;
  const sockets = Array.from({ length: 20 }, () => open().on('error', () => undefined));
  await Promise.all(sockets.map((s) => new Promise((resolve) => s.once(ready, resolve))));
  await drained(server);
  for (const s of sockets) s.destroy();
};

describe('a connection on which no request begins', () => {
  let tls: { cert: Buffer; key: Buffer; ca: string };
  beforeAll(async () => {
    const ca = await makeCa(dir, 'silent');
    const pair = await makeServerCert(dir, ca, 'server');
    tls = { cert: readFileSync(pair.cert), key: readFileSync(pair.key), ca: readFileSync(ca.cert, 'utf8') };
  });

  // The clients read nothing either: a 408 the server writes does not make them close, so
  // only the server's own close frees the connection.
  it('is closed by the server over plain HTTP', async () => {
    const port = await serve();
    await silentlyConnect(() => connect(port, '127.0.0.1'), 'connect');
  }, 15_000);

  it('is closed by the server over TLS once the handshake is done', async () => {
    const port = await serve(tls);
    const open = () => tlsConnect({ host: '127.0.0.1', port, ca: tls.ca, servername: 'localhost' });
    await silentlyConnect(open, 'secureConnect');
  }, 15_000);

  it('is closed by the server over TLS when it sends no ClientHello, within the handshake limit', async () => {
    // Node's own limit is 120 s; the listener's is the request timeout, at most 10 s.
    const port = await serve(tls);
    await silentlyConnect(() => connect(port, '127.0.0.1'), 'connect');
  }, 15_000);
});
