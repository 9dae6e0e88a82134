import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFakeClock } from '../src/lib/clock.js';
import { createJwksVerifier } from '../src/verify/jwks-verifier.js';
import { ISSUER, jwksMount, makeKey, silent } from '../src/verify/test-fixtures.js';
import { makeCa, makeServerCert } from './helpers/tls-files.js';

/*
 * A jwks mount's key fetches from its own API server carry the reviewer token. Without a CA of
 * its own for the key set, that set is trusted under the cluster's CA and the system roots (an
 * issuer on a public host needs them); a fetch that carries the token must be trusted as
 * TokenReview is, under the cluster's CA alone: a certificate some public CA issued for the API
 * server's name never receives the token.
 */

const dir = mkdtempSync(join(tmpdir(), 'authgate-bearer-ca-'));
let server: Server;
let url: string;
const authorizations: Array<string | undefined> = [];
let cluster: string;
let publicCa: string;

beforeAll(async () => {
  const clusterCa = await makeCa(dir, 'cluster');
  const other = await makeCa(dir, 'public');
  cluster = readFileSync(clusterCa.cert, 'utf8');
  publicCa = readFileSync(other.cert, 'utf8');
  // The API server's name, with a certificate of the "public" CA, not the cluster's.
  const pair = await makeServerCert(dir, other, 'apiserver');
  const key = await makeKey('RS256');
  server = createServer({ cert: readFileSync(pair.cert), key: readFileSync(pair.key) }, (req, res) => {
    authorizations.push(req.headers.authorization);
    if (req.url === '/.well-known/openid-configuration')
      res.writeHead(200).end(JSON.stringify({ issuer: ISSUER, jwks_uri: `${url}/openid/v1/jwks` }));
    else res.writeHead(200).end(JSON.stringify({ keys: [key.jwk] }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  writeFileSync(join(dir, 'token'), 'reviewer-token-value');
});
afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  rmSync(dir, { recursive: true, force: true });
});

const verifierWith = (kubernetesHost: string) =>
  createJwksVerifier(
    {
      ...jwksMount(
        { kind: 'oidc-discovery', url },
        { kubernetesHost, kubernetesCaCert: cluster, tokenReviewerJwtFile: join(dir, 'token') },
      ),
      // As the config gives it: the cluster's CA and the "public" one (standing for the roots).
      jwks: {
        source: { kind: 'oidc-discovery', url },
        caCert: `${cluster}\n${publicCa}`,
        cooldownMs: 30_000,
        maxAgeMs: 600_000,
        timeoutMs: 2000,
      },
    },
    { clock: createFakeClock(), log: silent },
  );

describe('a key fetch that carries the reviewer token', () => {
  it('trusts the cluster’s CA alone: a certificate of another CA never gets the token', async () => {
    authorizations.length = 0;
    await expect(verifierWith(url).ready()).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    expect(authorizations).toEqual([]);
  });

  it('while one that carries none (another host) is trusted under the wider set', async () => {
    authorizations.length = 0;
    await verifierWith('https://127.0.0.2:6443').ready();
    expect(authorizations.length).toBeGreaterThan(0);
    expect(authorizations.every((a) => a === undefined)).toBe(true);
  });
});
