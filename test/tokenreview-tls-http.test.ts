import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './helpers/harness.js';
import { makeCa, makeServerCert } from './helpers/tls-files.js';

/*
 * A `tokenreview` mount over TLS: an HTTPS stand-in for the API server (a certificate from the
 * cluster's CA) in front of the simulator. authgate trusts `kubernetes_ca_cert` only.
 */

let dir: string;
let clusterCa: string;
let otherCa: string;
let server: Server;
let host: string;
let target = '';
let handshakes = 0;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'authgate-tr-tls-'));
  const ca = await makeCa(dir, 'cluster');
  const other = await makeCa(dir, 'other');
  const cert = await makeServerCert(dir, ca, 'apiserver');
  clusterCa = await readFile(ca.cert, 'utf8');
  otherCa = await readFile(other.cert, 'utf8');
  server = createServer(
    { cert: await readFile(cert.cert), key: await readFile(cert.key), keepAliveTimeout: 60_000 },
    (req, res) => {
      const out = httpRequest(
        `${target}${req.url ?? '/'}`,
        { method: req.method, headers: req.headers },
        (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        },
      );
      req.pipe(out);
    },
  );
  server.on('secureConnection', () => handshakes++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  host = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

const withCa = async (ca: string, run: (h: Harness) => Promise<void>) => {
  const h = await startHarness({ mount: { kubernetes_host: host, kubernetes_ca_cert: ca } });
  target = h.cluster.url;
  try {
    await run(h);
  } finally {
    await h.close();
  }
};

describe('TokenReview over TLS', () => {
  it('logs in through an API server whose certificate the configured CA signed, on one connection', async () => {
    await withCa(clusterCa, async (h) => {
      const before = handshakes;
      for (let i = 0; i < 3; i++) {
        expect((await h.login('kubernetes', { role: 'nginx', jwt: await h.podToken() })).status).toBe(200);
      }
      // Kept alive: three reviews, one TLS handshake.
      expect(handshakes - before).toBe(1);
    });
  });

  it('fails closed (503) when the certificate is from another CA, whatever the system trusts', async () => {
    await withCa(otherCa, async (h) => {
      const res = await h.login('kubernetes', { role: 'nginx', jwt: await h.podToken() });
      expect(res).toEqual({ status: 503, json: { errors: ['kubernetes API server unreachable'] } });
    });
  });
});
