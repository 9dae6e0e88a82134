import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { existsSync, readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createFakeClock } from '../src/lib/clock.js';
import { createLogger } from '../src/telemetry/index.js';
import { startHarness, type Harness } from './helpers/harness.js';
import { jsonLogLines } from './helpers/log-lines.js';

/*
 * A `tokenreview` mount whose `kubernetes_host` is an API-server stand-in: it forwards each
 * request to the simulator and lets a test rewrite (or replace) the answer, for the shapes a real
 * kube-apiserver, a proxy or a load balancer on the way may produce and the simulator does not.
 * End to end through POST /v1/auth/kubernetes/login.
 */

type Upstream = { status: number; headers: Record<string, string>; body: string };
/** Writes the answer to `res` itself (return true), or rewrites the simulator's one. */
type Shape = (request: string, upstream: Upstream, res: ServerResponse) => Upstream | true;

const clock = createFakeClock(Date.UTC(2026, 5, 1, 12, 0, 0));
const { lines, stream: sink } = jsonLogLines();
let shape: Shape | undefined;
let target = '';
let h: Harness;
let reviews = 0;
/** The bearer of every request, and those the stand-in answers 401. */
const bearers: string[] = [];
const refusedBearers = new Set<string>();

const forward = (req: IncomingMessage, body: Buffer): Promise<Upstream> =>
  new Promise((resolve, reject) => {
    const out = httpRequest(
      `${target}${req.url ?? '/'}`,
      { method: req.method, headers: { ...req.headers, host: new URL(target).host } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: { 'content-type': String(res.headers['content-type'] ?? '') },
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
      },
    );
    out.on('error', reject);
    out.end(body);
  });

const standIn = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    void (async () => {
      const body = Buffer.concat(chunks);
      if (req.url?.includes('tokenreviews')) reviews++;
      const bearer = (req.headers.authorization ?? '').replace(/^Bearer /, '');
      bearers.push(bearer);
      if (refusedBearers.has(bearer)) {
        // What kube-apiserver answers a bearer it does not accept (expired, revoked).
        const answer = status(401, 'Unauthorized')('', { status: 0, headers: {}, body: '' }, res) as Upstream;
        res.writeHead(answer.status, answer.headers);
        res.end(answer.body);
        return;
      }
      const upstream = await forward(req, body);
      const answer =
        shape && req.url?.includes('tokenreviews') ? shape(body.toString(), upstream, res) : upstream;
      if (answer === true) return;
      res.writeHead(answer.status, answer.headers);
      res.end(answer.body);
    })();
  });
});

beforeAll(async () => {
  await new Promise<void>((resolve) => standIn.listen(0, '127.0.0.1', resolve));
  h = await startHarness({
    clock,
    log: createLogger('info', sink),
    mount: {
      kubernetes_host: `http://127.0.0.1:${(standIn.address() as AddressInfo).port}`,
      tokenreview: { timeout: '1s', max_concurrent: 1, max_queue: 2 },
    },
  });
  target = h.cluster.url;
});
afterAll(async () => {
  await h?.close();
  standIn.closeAllConnections();
  await new Promise((resolve) => standIn.close(resolve));
});
afterEach(() => {
  shape = undefined;
  refusedBearers.clear();
});

/** The simulator's TokenReview answer with its `status` edited. */
const editStatus =
  (edit: (status: Record<string, unknown>) => void): Shape =>
  (_request, upstream) => {
    const review = JSON.parse(upstream.body) as { status: Record<string, unknown> };
    edit(review.status);
    return { ...upstream, body: JSON.stringify(review) };
  };

const login = async () => {
  const jwt = await h.podToken();
  const before = reviews;
  const res = await h.login('kubernetes', { role: 'nginx', jwt });
  return { ...res, jwt, reviews: reviews - before };
};

const failedLog = () => lines.filter((l) => l['event'] === 'tokenreview.failed').at(-1);

/** A Kubernetes `Status` error answer. */
const status =
  (code: number, message: string, headers: Record<string, string> = {}): Shape =>
  () => ({
    status: code,
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message,
      code,
    }),
  });

describe('an API server that cannot give an answer', () => {
  it.each<[string, Shape]>([
    [
      'an HTML page with 200',
      () => ({ status: 200, headers: { 'content-type': 'text/html' }, body: '<p>ok</p>' }),
    ],
    [
      'an empty JSON object with 201',
      () => ({ status: 201, headers: { 'content-type': 'application/json' }, body: '{}' }),
    ],
    [
      'JSON null with 201',
      () => ({ status: 201, headers: { 'content-type': 'application/json' }, body: 'null' }),
    ],
    [
      'a TokenReview without status',
      (_r, u) => ({ ...u, body: JSON.stringify({ ...(JSON.parse(u.body) as object), status: undefined }) }),
    ],
    [
      'a body cut short by a closed connection',
      (_r, u, res) => {
        res.writeHead(201, { 'content-type': 'application/json', 'content-length': String(u.body.length) });
        res.write(u.body.slice(0, 40));
        setTimeout(() => res.destroy(), 10);
        return true;
      },
    ],
    ['a body that is not whole JSON', (_r, u) => ({ ...u, body: u.body.slice(0, 40) })],
    [
      '429 with Retry-After (API priority and fairness)',
      status(429, 'Too many requests, please try again later.', { 'retry-after': '1' }),
    ],
    [
      '404 (no TokenReview API there)',
      () => ({ status: 404, headers: { 'content-type': 'text/plain' }, body: '404 page not found' }),
    ],
    ['500', status(500, 'Internal error occurred: etcdserver: request timed out')],
    ['503', status(503, 'service unavailable')],
  ])('is a 503 for %s, never a login, never a cached refusal', async (_name, answer) => {
    shape = answer;
    const first = await login();
    expect(first.status).toBe(503);
    expect(first.json.errors?.[0]).toMatch(/^kubernetes API server (unavailable|unreachable)$/);
    shape = undefined;
    // Nothing was cached: the next login with the same token asks again, and gets in.
    const again = await h.login('kubernetes', { role: 'nginx', jwt: first.jwt });
    expect(again.status).toBe(200);
  });

  it('does not follow a redirect, so the review (the login JWT in it) goes nowhere else', async () => {
    let elsewhere = 0;
    const other = createServer((req, res) => {
      elsewhere++;
      req.resume();
      res.end();
    });
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
    try {
      for (const code of [302, 307, 308]) {
        shape = (_r, _u, res) => {
          res.writeHead(code, {
            location: `http://127.0.0.1:${(other.address() as AddressInfo).port}/steal`,
          });
          res.end();
          return true;
        };
        const r = await login();
        expect(r.status).toBe(503);
        expect(failedLog()).toMatchObject({ reason: 'tokenreview_upstream_error' });
        expect(String(failedLog()?.['detail'])).toContain(`HTTP ${code}`);
      }
      expect(elsewhere).toBe(0);
    } finally {
      await new Promise((resolve) => other.close(resolve));
    }
  });

  it('refuses to read an answer over 1 MiB', async () => {
    shape = (_r, u) => ({ ...u, body: `${u.body.slice(0, -1)},"pad":"${'x'.repeat(2 * 1024 * 1024)}"}` });
    const r = await login();
    expect(r.status).toBe(503);
    expect(String(failedLog()?.['detail'])).toContain('larger than 1048576 bytes');
  });

  it('logs what the API server said, and shows the client none of it', async () => {
    shape = status(503, 'marker-from-upstream: etcd leader changed');
    const r = await login();
    expect(JSON.stringify(r.json)).not.toContain('marker-from-upstream');
    expect(failedLog()).toMatchObject({
      reason: 'tokenreview_upstream_error',
      detail: 'HTTP 503: marker-from-upstream: etcd leader changed',
    });
    expect(JSON.stringify(lines)).not.toContain(r.jwt);
  });
});

describe('an API server (or a proxy) that quotes a token back', () => {
  const other = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJyZXZpZXdlciJ9.c2lnbmF0dXJl';
  it.each<[string, (jwt: string) => Shape]>([
    ['a 400 Status', (jwt) => status(400, `bad token ${jwt} from bearer ${other}`)],
    ['a 403 Status', (jwt) => status(403, `forbidden for ${jwt}; bearer ${other}`)],
    ['a 503 Status', (jwt) => status(503, `cannot review ${jwt} (${other})`)],
    ['status.error', (jwt) => editStatus((st) => Object.assign(st, { error: `invalid ${jwt} ${other}` }))],
  ])('keeps the tokens of %s out of the log and the audit trail', async (_w, quote) => {
    const jwt = await h.podToken();
    shape = quote(jwt);
    const res = await h.login('kubernetes', { role: 'nginx', jwt });
    expect(res.status).toBeGreaterThanOrEqual(400);
    const detail = String(failedLog()?.['detail']);
    expect(detail).toContain('<jwt>');
    const written = [JSON.stringify(lines), readFileSync(h.auditFile ?? '', 'utf8')].join('\n');
    for (const t of [jwt, other, jwt.split('.')[2] ?? jwt]) expect(written).not.toContain(t);
  });
});

describe('an API server (or a proxy) that says a great deal', () => {
  it.each<[string, Shape]>([
    ['a 503 Status', status(503, `etcd ${'x'.repeat(300_000)}`)],
    ['a 403 Status', status(403, `forbidden ${'x'.repeat(300_000)}`)],
    ['status.error', editStatus((st) => Object.assign(st, { error: `invalid ${'x'.repeat(300_000)}` }))],
    [
      'a username',
      editStatus((st) => ((st['user'] as Record<string, unknown>)['username'] = 'u'.repeat(300_000))),
    ],
  ])('writes what %s said to the log and the audit trail cut short', async (_w, said) => {
    shape = said;
    const audit = () => (existsSync(h.auditFile ?? '') ? readFileSync(h.auditFile ?? '', 'utf8') : '');
    const auditBefore = audit().length;
    const res = await login();
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(String(failedLog()?.['detail']).length).toBeLessThan(2000);
    const written = [...lines.map((l) => JSON.stringify(l)), ...audit().slice(auditBefore).split('\n')];
    expect(Math.max(...written.map((l) => l.length))).toBeLessThan(10_000);
  });
});

describe('a slow API server', () => {
  it('is a 503 when the body stops coming, and the stalled call gives its slot back', async () => {
    shape = (_r, u, res) => {
      res.writeHead(201, { 'content-type': 'application/json' });
      res.write(u.body.slice(0, 40));
      return true;
    };
    const r = await login();
    expect(r.status).toBe(503);
    expect(failedLog()).toMatchObject({
      reason: 'tokenreview_unreachable',
      detail: 'no answer within 1000 ms',
    });
    shape = undefined;
    // max_concurrent is 1 here: a call that timed out and still held its slot would stall this one.
    expect((await login()).status).toBe(200);
  });

  it('answers 503 past max_queue, with a message that says so', async () => {
    const release: Array<() => void> = [];
    shape = (_r, u, res) => {
      release.push(() => {
        res.writeHead(u.status, u.headers);
        res.end(u.body);
      });
      return true;
    };
    const jwts = await Promise.all(Array.from({ length: 5 }, () => h.podToken()));
    const pending = jwts.map((jwt) => h.login('kubernetes', { role: 'nginx', jwt }));
    // One call in flight and two waiting: the other two are turned away at once.
    const turnedAway = await Promise.all(pending.slice(3));
    expect(turnedAway).toEqual(
      Array.from({ length: 2 }, () => ({
        status: 503,
        json: { errors: ['too many pending TokenReview calls'] },
      })),
    );
    for (let done = 0; done < 3; done++) {
      await vi.waitFor(() => expect(release.length).toBeGreaterThan(done), { timeout: 5000 });
      release[done]?.();
    }
    expect((await Promise.all(pending.slice(0, 3))).map((r) => r.status)).toEqual([200, 200, 200]);
  });

  it('gives a queued login no more than the timeout to get a slot, then a 503 that says so', async () => {
    // Nothing answers: each call holds the one slot (max_concurrent 1) for its whole timeout (1 s).
    shape = () => true;
    const jwts = await Promise.all(Array.from({ length: 3 }, () => h.podToken()));
    const [first, second, third] = jwts.map((jwt) => h.login('kubernetes', { role: 'nginx', jwt }));
    // The first call times out at 1 s and hands its slot to the second login; the third, still
    // queued then, would wait for the second call's timeout too (2 s), then make its own.
    expect(await third).toEqual({
      status: 503,
      json: { errors: ['no TokenReview slot free within the timeout'] },
    });
    expect((await first)?.status).toBe(503);
    expect((await second)?.status).toBe(503);
    shape = undefined;
    expect((await login()).status).toBe(200);
  });

  it('gives every login waiting on one failed review the 503, and the next login asks again', async () => {
    const jwt = await h.podToken();
    const release: Array<() => void> = [];
    shape = (request, upstream, res) => {
      release.push(() => {
        const answer = status(503, 'etcd leader changed')(request, upstream, res) as Upstream;
        res.writeHead(answer.status, answer.headers);
        res.end(answer.body);
      });
      return true;
    };
    const before = reviews;
    const waiting = Array.from({ length: 10 }, () => h.login('kubernetes', { role: 'nginx', jwt }));
    await vi.waitFor(() => expect(release).toHaveLength(1), { timeout: 5000 });
    release[0]?.();
    expect((await Promise.all(waiting)).map((r) => r.status)).toEqual(Array.from({ length: 10 }, () => 503));
    expect(reviews - before).toBe(1);
    shape = undefined;
    expect((await h.login('kubernetes', { role: 'nginx', jwt })).status).toBe(200);
  });
});

describe('a TokenReview that does not prove the login', () => {
  const extra = (key: string, values: string[] | undefined) =>
    editStatus((s) => {
      const user = s['user'] as { extra: Record<string, string[] | undefined> };
      user.extra[`authentication.kubernetes.io/${key}`] = values;
    });
  it.each<[string, Shape, string]>([
    [
      'an error with authenticated false',
      editStatus((s) => {
        s['authenticated'] = false;
        s['error'] = '[invalid bearer token, service account token has been invalidated]';
      }),
      'tokenreview_pod_not_found',
    ],
    [
      'authenticated without audiences',
      editStatus((s) => delete s['audiences']),
      'tokenreview_audience_not_echoed',
    ],
    [
      'authenticated with empty audiences',
      editStatus((s) => (s['audiences'] = [])),
      'tokenreview_audience_not_echoed',
    ],
    [
      'authenticated for another audience',
      editStatus((s) => (s['audiences'] = ['api'])),
      'tokenreview_audience_not_echoed',
    ],
    [
      'a user that is no service account',
      editStatus((s) => ((s['user'] as Record<string, unknown>)['username'] = 'kubernetes-admin')),
      'tokenreview_identity_mismatch',
    ],
    [
      'another service account',
      editStatus(
        (s) => ((s['user'] as Record<string, unknown>)['username'] = 'system:serviceaccount:test:other'),
      ),
      'tokenreview_identity_mismatch',
    ],
    [
      'another service account uid',
      editStatus((s) => ((s['user'] as Record<string, unknown>)['uid'] = 'recreated')),
      'tokenreview_identity_mismatch',
    ],
    ['two pod names', extra('pod-name', ['nginx', 'other']), 'tokenreview_identity_mismatch'],
    ['two pod uids', extra('pod-uid', ['a', 'b']), 'tokenreview_identity_mismatch'],
    ['a pod name without its uid', extra('pod-uid', undefined), 'tokenreview_identity_mismatch'],
  ])('is 403 permission denied for %s, the reason only in the log', async (_name, answer, reason) => {
    shape = answer;
    const r = await login();
    expect(r).toMatchObject({ status: 403, json: { errors: ['permission denied'] } });
    expect(failedLog()).toMatchObject({ reason });
  });

  it('is remembered for 5 s, then asked again', async () => {
    shape = editStatus((s) => (s['authenticated'] = false));
    const first = await login();
    expect(first.status).toBe(403);
    expect(first.reviews).toBe(1);
    shape = undefined;
    const before = reviews;
    clock.advanceMs(4999);
    expect((await h.login('kubernetes', { role: 'nginx', jwt: first.jwt })).status).toBe(403);
    expect(reviews - before).toBe(0);
    clock.advanceMs(2);
    expect((await h.login('kubernetes', { role: 'nginx', jwt: first.jwt })).status).toBe(200);
    expect(reviews - before).toBe(1);
  });
});

describe('the reviewer token', () => {
  it('is read again after a 401 and the review sent once more; a second 401 is a 403, not cached', async () => {
    expect((await login()).status).toBe(200);
    const first = bearers.at(-1) ?? '';
    // The kubelet has rotated the file and the old token is no longer accepted, within the
    // second in which authgate does not look at the file.
    refusedBearers.add(first);
    await h.rotateReviewer();
    const rotated = await login();
    expect(rotated).toMatchObject({ status: 200, reviews: 2 });
    const second = bearers.at(-1) ?? '';
    expect(second).not.toBe(first);
    // The new one refused too (revoked, or the reviewer's service account deleted): 403 as Vault
    // answers, the reason in the log, and the next login asks again.
    refusedBearers.add(second);
    const refused = await login();
    expect(refused).toMatchObject({ status: 403, json: { errors: ['permission denied'] }, reviews: 1 });
    expect(failedLog()).toMatchObject({ reason: 'tokenreview_unauthorized' });
    expect(String(failedLog()?.['detail'])).toContain('refused the token reviewer JWT');
    refusedBearers.clear();
    expect((await h.login('kubernetes', { role: 'nginx', jwt: refused.jwt })).status).toBe(200);
    expect(JSON.stringify(lines)).not.toContain(first);
    expect(JSON.stringify(lines)).not.toContain(second);
  });
});
