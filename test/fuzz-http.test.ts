import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordSecrets } from './helpers/audit.js';
import {
  FUZZ_REQUEST,
  bodySecrets,
  headerSecrets,
  render,
  type FuzzRequest,
  type FuzzSecrets,
  UNKNOWN_TO_VAULT,
} from './helpers/fuzz-requests.js';
import { ADMIN_TOKEN, NGINX_ROLE, startHarness, type Harness } from './helpers/harness.js';
import { rawRequest, type RawAnswer } from './helpers/raw-http.js';

/*
 * The project's standard, as a property: bad input never crashes the process or returns a 500;
 * it gets a clear error in Vault's shape with a 4xx, never echoes a token, and loses nothing.
 * Generated requests (test/helpers/fuzz-requests.ts) go byte for byte over real sockets, with a
 * real admin token and a real workload token, so that they reach the handlers, not just the
 * ACL; one at a time, then several at once. Seed and size: FUZZ_SEED, FUZZ_RUNS; a failure prints
 * the shrunk request, its answer, the seed and the path (FUZZ_PATH replays that one case).
 */

const SEED = Number(process.env['FUZZ_SEED'] ?? 20260701);
const RUNS = Number(process.env['FUZZ_RUNS'] ?? 1000);
const PATH = process.env['FUZZ_PATH'];
const RUN_OPTIONS = { seed: SEED, ...(PATH === undefined ? {} : { path: PATH }) };
const CAPS = ['create', 'read', 'update', 'patch', 'delete', 'list', 'sudo'];

let h: Harness;
let port: number;
const secrets: FuzzSecrets = { admin: ADMIN_TOKEN, client: '', jwt: '', accessor: '' };
/** Every secret handed out during the run: none may appear in an answer (but see `mayEcho`). */
const issued = new Set<string>([ADMIN_TOKEN]);
/**
 * Written before the run, read after it: no generated path names the `keep` mount and the
 * workload's policy grants nothing there, so no request may legitimately change it.
 */
const CANARY = { url: '/v1/keep/data/canary/value', value: `canary-${Date.now()}` };

const login = async (): Promise<void> => {
  secrets.jwt = await h.podToken();
  const res = await h.login('kubernetes', { role: 'fuzz', jwt: secrets.jwt });
  expect(res.status).toBe(200);
  const auth = res.json['auth'] as { client_token: string; accessor: string };
  secrets.client = auth.client_token;
  secrets.accessor = auth.accessor;
  issued.add(secrets.jwt).add(secrets.client);
};

const admin = (method: 'GET' | 'POST', url: string, payload?: unknown) =>
  h.server.app.inject({
    method,
    url,
    headers: { 'x-vault-token': ADMIN_TOKEN },
    ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }),
  });

beforeAll(async () => {
  h = await startHarness({
    roles: {
      nginx: NGINX_ROLE,
      // Bound to loopback: X-Forwarded-For junk reaches the bound-CIDR check as request.ip.
      fuzz: { ...NGINX_ROLE, token_policies: ['fuzz'], token_bound_cidrs: ['127.0.0.0/8', '::1/128'] },
    },
    // X-Forwarded-For is read from loopback peers: its junk reaches request.ip.
    listener: { trusted_proxies: ['127.0.0.0/8'] },
    config: {
      // The workload may do anything anywhere but under `keep`, the canary's mount.
      policies: {
        fuzz: {
          path: {
            ...Object.fromEntries(
              ['secret/*', 'sys/*', 'identity/*', 'auth/*'].map((p) => [p, { capabilities: CAPS }]),
            ),
            // Templated and `+` rules, which odd paths are matched against too.
            'secret/data/{{identity.namespace}}/*': { capabilities: ['read', 'list'] },
            'secret/metadata/+/{{identity.service_account}}': { capabilities: ['deny'] },
            'identity/oidc/token/{{identity.namespace}}': { capabilities: ['read'] },
          },
        },
      },
      secrets: { kv: { secret: {}, keep: {} } },
      identity: {
        issuer: 'http://127.0.0.1:8200',
        keys: { default: { algorithm: 'ES256' } },
        roles: { web: { audience: 'web-service', ttl: '30m' } },
      },
    },
  });
  await h.server.app.listen({ host: '127.0.0.1', port: 0 });
  port = (h.server.app.server.address() as AddressInfo).port;
  recordSecrets(CANARY.value);
  expect((await admin('POST', CANARY.url, { data: { v: CANARY.value } })).statusCode).toBe(200);
  await login();
});
afterAll(async () => {
  await h?.close();
});

/** The path of a target, decoded where it can be (for the few rules that depend on the route). */
const pathOf = (target: string): string => {
  const path = target.split(/[?#]/, 1)[0] ?? '';
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
};

/**
 * Vault answers a token's own holder with the token itself (lookup-self's `id`, renew-self's
 * `client_token`, and `auth/token/lookup`'s, which looks the caller up when the body names no
 * token), and an operator with the token it names in the body (`auth/token/lookup`'s `id`,
 * `auth/token/renew`'s `client_token`): only those, only to a request that carried it.
 */
const mayEcho = (req: FuzzRequest, res: RawAnswer, secret: string): boolean => {
  if (res.status !== 200) return false;
  const path = pathOf(req.target);
  const carried = (names: Set<keyof FuzzSecrets>) => [...names].some((k) => secrets[k] === secret);
  return (
    (/\/auth\/token\/(lookup|renew)-self\/?$|\/auth\/token\/lookup\/?$/.test(path) &&
      carried(headerSecrets(req))) ||
    (/\/auth\/token\/(lookup|renew)\/?$/.test(path) && carried(bodySecrets(req)))
  );
};

/**
 * `sys/health?activecode=503` is answered 503 with the health document on purpose, as Vault
 * answers any code it is asked for.
 */
const askedFor = (req: FuzzRequest, status: number): boolean =>
  /\/sys\/health\/?$/.test(pathOf(req.target)) &&
  new RegExp(`(active|sealed)code=${status}\\b`).test(req.target);

const isVaultErrors = (body: unknown): boolean =>
  typeof body === 'object' &&
  body !== null &&
  Object.keys(body).join() === 'errors' &&
  Array.isArray((body as { errors: unknown }).errors) &&
  (body as { errors: unknown[] }).errors.every((e) => typeof e === 'string' && e !== '');

/**
 * Vault's KV v2 answers some 404s with its envelope instead of errors (an invalid path's warning,
 * a deleted version's metadata): test/kv-http.test.ts asserts them deliberately.
 */
const isKvEnvelope = (status: number, body: unknown): boolean =>
  status === 404 &&
  typeof body === 'object' &&
  body !== null &&
  typeof (body as { request_id?: unknown }).request_id === 'string' &&
  !('errors' in body);

const parsed = (body: string): unknown => {
  try {
    return JSON.parse(body) as unknown;
  } catch {
    return undefined;
  }
};

/** What is wrong with an answer, if anything. */
const problemsOf = (req: FuzzRequest, res: RawAnswer & { head: string }): string[] => {
  const problems: string[] = [];
  const head = req.method === 'HEAD';
  // The health document, with the status asked for: no error.
  const asked = askedFor(req, res.status);
  if (res.status < 200 || (res.status >= 500 && !asked)) problems.push(`status ${res.status}`);
  // Node never sends a body with an answer to a HEAD it parsed; one it could not parse is
  // answered as any such request (the server never learnt it was a HEAD), with Vault's errors.
  if (res.status >= 400 && !asked && !(head && res.body === '')) {
    const body = parsed(res.body);
    if (res.headers['content-type'] !== 'application/json')
      problems.push('an error not typed application/json');
    if (!isVaultErrors(body) && !isKvEnvelope(res.status, body))
      problems.push('an error not in Vault’s shape');
  }
  if (res.status < 400 && (res.status === 204 || head) && res.body !== '')
    problems.push('a body where none may be');
  if (res.status < 300 && res.headers['content-type'] === 'application/json' && !head && res.status !== 204)
    if (parsed(res.body) === undefined) problems.push('an answer typed JSON that is not');
  // Vault's only 415 is PATCH's: any other body is read as JSON whatever its type.
  if (res.status === 415 && req.method !== 'PATCH') problems.push('a 415 to a method that is not PATCH');
  // Node parses these, Vault has no operation for them: its bare 405, never "no such path".
  if (UNKNOWN_TO_VAULT.includes(req.method) && req.target.startsWith('/v1/') && res.status === 404)
    problems.push('a method Vault does not know answered 404');
  for (const secret of issued)
    if ((res.head.includes(secret) || res.body.includes(secret)) && !mayEcho(req, res, secret))
      problems.push(
        `a secret in the answer (${secret === ADMIN_TOKEN ? 'admin token' : secret.slice(0, 8)}…)`,
      );
  return problems;
};

/** Sends a request and checks its answer; a revocation may have ended the workload's token. */
const exchange = async (req: FuzzRequest): Promise<void> => {
  const res = await rawRequest(port, render(req, secrets), { timeoutMs: 10_000 });
  const problems = problemsOf(req, res);
  if (res.status < 300 && /revoke/.test(req.target)) await login();
  expect(problems, `${res.head}\n\n${res.body.slice(0, 500)}`).toEqual([]);
};

describe('generated bad and odd requests', () => {
  const prototypeKeys = Object.getOwnPropertyNames(Object.prototype).sort();

  it('are answered below 500, errors in Vault’s shape, never echoing a token', async () => {
    await fc.assert(fc.asyncProperty(FUZZ_REQUEST, exchange), { ...RUN_OPTIONS, numRuns: RUNS });
  }, 120_000);

  it('are answered so when several come at once', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(FUZZ_REQUEST, { minLength: 2, maxLength: 8 }), async (reqs) => {
        await Promise.all(reqs.map(exchange));
      }),
      { ...RUN_OPTIONS, numRuns: Math.ceil(RUNS / 10) },
    );
  }, 120_000);

  it('leave the server serving, logins working, no prototype polluted and the canary as it was', async () => {
    const health = 'GET /v1/sys/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n';
    expect((await rawRequest(port, health)).status).toBe(200);
    await login();
    const lookup = await h.server.app.inject({
      url: '/v1/auth/token/lookup-self',
      headers: { 'x-vault-token': secrets.client },
    });
    expect(lookup.statusCode).toBe(200);
    expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(prototypeKeys);
    const canary = await admin('GET', CANARY.url);
    expect(canary.json()).toMatchObject({
      data: { data: { v: CANARY.value }, metadata: { version: 1, deletion_time: '', destroyed: false } },
    });
  });
});
