import { createServer, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../src/lib/clock.js';
import { createMemoryStore } from '../src/store/index.js';
import { ADMIN_TOKEN, adminCall, startHarness, type Harness } from './helpers/harness.js';

/*
 * An operator deletes a compromised pod and revokes it (`revoke-identity {pod_uid}`) while a
 * login with the pod's token is under review: the API server answered "authenticated" before the
 * pod went, and the answer is still on its way. That login may land (Vault's would: its review
 * said yes), but its review must not be cached after the revocation dropped the cache, or the
 * stolen token logs in again, with no review, for as long as the cache holds it.
 */

/** An HTTP proxy to the simulated API server that can hold TokenReview answers once decided. */
const startHoldingProxy = async () => {
  let target = '';
  let hold: Promise<void> | undefined;
  let release = () => undefined as void;
  let decided = () => undefined as void;
  let whenDecided = Promise.resolve();
  const server: Server = createServer((req, res) => {
    void (async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const headers = Object.fromEntries(
        Object.entries(req.headers).filter(([k, v]) => k !== 'host' && typeof v === 'string'),
      ) as Record<string, string>;
      const upstream = await fetch(`${target}${req.url ?? '/'}`, {
        method: req.method ?? 'GET',
        headers,
        ...(chunks.length > 0 ? { body: Buffer.concat(chunks) } : {}),
      });
      const body = Buffer.from(await upstream.arrayBuffer());
      if (req.url?.includes('tokenreviews') === true && hold !== undefined) {
        decided();
        await hold;
      }
      res
        .writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? '' })
        .end(body);
    })().catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    setTarget: (url: string) => {
      target = url;
    },
    /** From now on, TokenReview answers wait for `release`; resolves when one has been decided. */
    holdNext: () => {
      hold = new Promise<void>((resolve) => {
        release = () => {
          hold = undefined;
          resolve();
        };
      });
      whenDecided = new Promise<void>((resolve) => {
        decided = resolve;
      });
      return { decided: whenDecided, release: () => release() };
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
};

type Proxy = Awaited<ReturnType<typeof startHoldingProxy>>;

let proxy: Proxy | undefined;
const harnesses: Harness[] = [];
afterEach(async () => {
  for (const h of harnesses.splice(0)) await h.close();
  await proxy?.close();
  proxy = undefined;
});

const start = async (options: Parameters<typeof startHarness>[0] = {}) => {
  proxy ??= await startHoldingProxy();
  const h = await startHarness({ audit: null, mount: { kubernetes_host: proxy.url }, ...options });
  harnesses.push(h);
  proxy.setTarget(h.cluster.url);
  return h;
};

const podUidOf = (jwt: string): string => {
  const payload = JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString()) as {
    'kubernetes.io': { pod: { uid: string } };
  };
  return payload['kubernetes.io'].pod.uid;
};

describe('a revocation while a TokenReview is in flight', () => {
  it('is not undone by that review: the next login with the token is reviewed and refused', async () => {
    const h = await start();
    const jwt = await h.podToken();
    const held = proxy!.holdNext();
    const first = h.login('kubernetes', { role: 'nginx', jwt });
    await held.decided;
    h.cluster.deletePod('test', 'nginx');
    const revoked = await adminCall(h, 'POST', '/v1/auth/token/revoke-identity', { pod_uid: podUidOf(jwt) });
    expect(revoked.status).toBe(200);
    // A login after the revocation does not wait on the old review: it has one of its own.
    const during = h.login('kubernetes', { role: 'nginx', jwt });
    held.release();
    expect((await first).status).toBe(200);
    expect(await during).toEqual({ status: 403, json: { errors: ['permission denied'] } });
    expect(await h.login('kubernetes', { role: 'nginx', jwt })).toEqual({
      status: 403,
      json: { errors: ['permission denied'] },
    });
    expect(h.cluster.stats().tokenReviews).toBeGreaterThanOrEqual(2);
  });

  it('on replicas sharing a store, is not undone by a review another replica had in flight', async () => {
    const store = createMemoryStore({ clock: systemClock, sweepIntervalMs: 0 });
    const serverKey = Buffer.alloc(32, 7);
    const a = await start({ store, serverKey, sharedCaches: true });
    const b = await a.replica();
    const jwt = await a.podToken();
    const held = proxy!.holdNext();
    const first = a.login('kubernetes', { role: 'nginx', jwt });
    await held.decided;
    a.cluster.deletePod('test', 'nginx');
    const revoked = await b.server.app.inject({
      method: 'POST',
      url: '/v1/auth/token/revoke-identity',
      headers: { 'x-vault-token': ADMIN_TOKEN, 'content-type': 'application/json' },
      payload: JSON.stringify({ pod_uid: podUidOf(jwt) }),
    });
    expect(revoked.statusCode).toBe(200);
    held.release();
    expect((await first).status).toBe(200);
    for (const replica of [b, a]) {
      expect(await replica.login('kubernetes', { role: 'nginx', jwt })).toEqual({
        status: 403,
        json: { errors: ['permission denied'] },
      });
    }
  });
});
