import { afterEach, describe, expect, it } from 'vitest';
import { createFakeClock } from '../lib/clock.js';
import { startDevCluster, type DevCluster, type DevClusterOptions } from './index.js';

let cluster: DevCluster | undefined;
const start = async (options: DevClusterOptions = {}): Promise<DevCluster> => {
  cluster = await startDevCluster(options);
  return cluster;
};
afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

const get = (c: DevCluster, path = '/api/v1/namespaces') =>
  fetch(`${c.url}${path}`, { headers: { authorization: `Bearer ${c.adminToken}` } });

describe('fault injection', () => {
  it('adds latency to every request', async () => {
    const c = await start();
    c.faults.latencyMs = 150;
    const began = Date.now();
    expect((await get(c)).status).toBe(200);
    expect(Date.now() - began).toBeGreaterThanOrEqual(140);
    c.faults.latencyMs = 0;
  });

  it('fails exactly the next n requests with a Status of the given code', async () => {
    const c = await start();
    c.faults.failNext(2, 503);
    const first = await get(c);
    expect(first.status).toBe(503);
    expect(await first.json()).toMatchObject({ kind: 'Status', reason: 'ServiceUnavailable', code: 503 });
    expect((await get(c, '/openid/v1/jwks')).status).toBe(503);
    expect((await get(c)).status).toBe(200);
    c.faults.failNext(1);
    const defaulted = await get(c);
    expect(defaulted.status).toBe(500);
    expect(await defaulted.json()).toMatchObject({
      reason: 'InternalError',
      message: 'Internal error occurred: injected fault',
    });
    c.faults.failNext(1, 429);
    const limited = await get(c);
    expect(limited.headers.get('retry-after')).toBe('1');
    expect(() => c.faults.failNext(1, 200)).toThrow(TypeError);
  });

  it('drops the connection of exactly the next n requests, without an answer', async () => {
    const c = await start();
    c.faults.dropNext(2);
    for (let i = 0; i < 2; i++) {
      const error = await get(c).catch((e: unknown) => e as Error & { cause?: { code?: string } });
      expect(error).toBeInstanceOf(Error);
      expect((error as { cause?: { code?: string } }).cause?.code).toMatch(/ECONNRESET|UND_ERR_SOCKET/);
    }
    expect((await get(c)).status).toBe(200);
    expect(c.stats().requests).toBe(3);
    expect(() => c.faults.dropNext(-1)).toThrow(TypeError);
  });

  it('refuses connections, then listens again on the same port', async () => {
    const c = await start();
    const url = c.url;
    await c.faults.refuseConnections(true);
    const error = await get(c).catch((e: unknown) => e as Error & { cause?: { code?: string } });
    expect(error).toBeInstanceOf(Error);
    expect((error as { cause?: { code?: string } }).cause?.code).toBe('ECONNREFUSED');
    await c.faults.refuseConnections(false);
    expect(c.url).toBe(url);
    expect((await get(c)).status).toBe(200);
  });

  it('counts requests per path and TokenReviews', async () => {
    const c = await start();
    await get(c);
    await get(c);
    await get(c, '/openid/v1/jwks');
    c.createServiceAccount('ns', 'sa');
    const { token } = await c.mintToken({ namespace: 'ns', serviceAccount: 'sa' });
    await fetch(`${c.url}/apis/authentication.k8s.io/v1/tokenreviews`, {
      method: 'POST',
      headers: { authorization: `Bearer ${c.adminToken}` },
      body: JSON.stringify({ spec: { token } }),
    });
    expect(c.stats()).toEqual({
      tokenReviews: 1,
      requests: 4,
      byPath: {
        '/api/v1/namespaces': 2,
        '/openid/v1/jwks': 1,
        '/apis/authentication.k8s.io/v1/tokenreviews': 1,
      },
    });
  });
});

describe('clock skew', () => {
  it('shifts the time used to mint and to review', async () => {
    const clock = createFakeClock(Date.UTC(2024, 4, 1, 10, 0, 0));
    const c = await start({ clock });
    c.createServiceAccount('ns', 'sa');
    c.faults.clockSkewSeconds = 3600;
    const { expirationTimestamp } = await c.mintToken({
      namespace: 'ns',
      serviceAccount: 'sa',
      expirationSeconds: 600,
    });
    expect(expirationTimestamp).toBe('2024-05-01T11:10:00Z');
    c.faults.clockSkewSeconds = 0;
    const { token } = await c.mintToken({ namespace: 'ns', serviceAccount: 'sa', expirationSeconds: 600 });
    c.faults.clockSkewSeconds = 661;
    const res = await fetch(`${c.url}/apis/authentication.k8s.io/v1/tokenreviews`, {
      method: 'POST',
      headers: { authorization: `Bearer ${c.adminToken}` },
      body: JSON.stringify({ spec: { token } }),
    });
    expect(((await res.json()) as { status: { error: string } }).status.error).toBe(
      '[invalid bearer token, service account token has expired]',
    );
  });
});

describe('options', () => {
  it('rejects invalid options, listing every problem', async () => {
    await expect(startDevCluster({ issuers: [], signingAlg: 'HS256' as 'RS256' })).rejects.toThrow(
      /issuers: at least one issuer is required; signingAlg: must be RS256 or ES256/,
    );
  });
});
