import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TypeBoxValidatorCompiler } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { composeServer, type ComposedServer } from '../src/cli/compose.js';
import { DEV_ROLE } from '../src/cli/dev.js';
import { parseConfig } from '../src/config/index.js';
import { seedFirstSetup, startDevCluster, type DevCluster } from '../src/devcluster/index.js';
import { loginDenied } from '../src/errors.js';
import {
  DENIED_LOG_LINES_PER_SECOND,
  registerLoginRoutes,
  type LoginRouteDeps,
} from '../src/http/routes/login-routes.js';
import { installErrorHandling, installJsonForAnyContentType } from '../src/http/vault-errors.js';
import { fingerprint } from '../src/lib/hash.js';
import { createLogger } from '../src/telemetry/index.js';
import { jsonLogLines } from './helpers/log-lines.js';

/** A log sink whose lines can be read back as JSON. */
const captureLog = () => {
  const { lines, raw, stream } = jsonLogLines();
  return {
    stream,
    lines,
    raw: () => raw.join('\n'),
    events: (event: string) => lines.filter((l) => l['event'] === event),
  };
};

let cluster: DevCluster;
let server: ComposedServer;
let dir: string;
const logs = captureLog();

beforeAll(async () => {
  cluster = await startDevCluster();
  seedFirstSetup(cluster);
  dir = mkdtempSync(join(tmpdir(), 'authgate-http-login-'));
  const config = parseConfig(
    JSON.stringify({
      log: { level: 'warn' },
      auth: {
        kubernetes: {
          type: 'kubernetes',
          kubernetes_host: cluster.url,
          issuers: [cluster.issuer],
          roles: { nginx: DEV_ROLE },
          verification: 'jwks',
          jwks: { oidc_discovery_url: cluster.url },
        },
      },
    }),
    { env: {}, baseDir: dir },
  );
  server = composeServer(config, {
    log: createLogger('warn', logs.stream),
    adminToken: 'test-admin-token-0123456789abcdef',
  });
  await server.app.ready();
});
afterAll(async () => {
  await server?.close();
  await cluster?.close();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

const podToken = async () =>
  (
    await cluster.mintToken({
      namespace: 'test',
      serviceAccount: 'nginx',
      audiences: ['vault'],
      pod: 'nginx',
    })
  ).token;

const inject = (method: 'GET' | 'HEAD' | 'DELETE' | 'PATCH' | 'POST', payload?: string, type?: string) =>
  server.app.inject({
    method,
    url: '/v1/auth/kubernetes/login',
    ...(payload === undefined ? {} : { payload }),
    headers: { 'content-type': type ?? 'application/json' },
  });

describe('login methods', () => {
  it.each(['GET', 'DELETE', 'PATCH'] as const)(
    'answers %s with 405 unsupported operation',
    async (method) => {
      const res = await inject(method);
      expect(res.statusCode).toBe(405);
      expect(res.json()).toEqual({ errors: ['unsupported operation'] });
    },
  );

  it('answers HEAD with 405', async () => {
    expect((await inject('HEAD')).statusCode).toBe(405);
  });

  it.each(['OPTIONS', 'TRACE', 'PROPFIND', 'M-SEARCH'] as const)(
    'answers %s, a method Vault has no operation for, with its bare 405',
    async (method) => {
      // Fastify has no route for it: the router's 404 said the path did not exist.
      const res = await server.app.inject({ method: method as 'GET', url: '/v1/auth/kubernetes/login' });
      expect(res.statusCode).toBe(405);
      expect(res.json()).toEqual({ errors: [] });
    },
  );

  it('still answers an unknown mount as a path nothing serves: 403 without a token, as Vault', async () => {
    const res = await server.app.inject({ method: 'GET', url: '/v1/auth/nope/login' });
    expect(res.statusCode).toBe(403);
  });
});

describe('the Content-Type', () => {
  it.each(['text/plain', ';', '', 'application/', 'application/json, text/plain', 'x'])(
    'is not read: a JSON body typed %j logs in',
    async (type) => {
      // Fastify answered a type it cannot parse with a 415 "Unsupported Media Type" of its own.
      const res = await inject('POST', JSON.stringify({ role: 'nginx', jwt: await podToken() }), type);
      expect(res.statusCode).toBe(200);
    },
  );
});

describe('a body that is not JSON', () => {
  it('is refused without quoting it (a body may carry a JWT)', async () => {
    const jwt = await podToken();
    for (const [payload, type] of [
      [`{"role":"nginx","jwt":"${jwt}"`, 'application/x-www-form-urlencoded'],
      [`jwt=${jwt}&role=nginx`, 'application/json'],
      [`jwt=${jwt}&role=nginx`, 'text/plain'],
    ] as const) {
      const res = await inject('POST', payload, type);
      expect(res.statusCode).toBe(400);
      expect(res.json()).toEqual({ errors: ['error parsing JSON'] });
    }
  });
});

describe('a form body (curl -d role=… -d jwt=…)', () => {
  // Vault reads a POST typed application/x-www-form-urlencoded whose body does not begin with
  // `{` or `[` as a form (http/logical.go isForm), with Go's url.ParseQuery.
  it('logs in, as Vault does', async () => {
    const jwt = await podToken();
    for (const type of [
      'application/x-www-form-urlencoded',
      'Application/X-WWW-Form-Urlencoded; charset=utf-8',
    ]) {
      const res = await inject('POST', `role=nginx&jwt=${encodeURIComponent(jwt)}`, type);
      expect(res.statusCode).toBe(200);
    }
  });

  it.each([
    ['a `;` separator', (jwt: string) => `role=nginx;jwt=${jwt}`],
    ['a bad escape', (jwt: string) => `role=nginx&jwt=${jwt}%zz`],
  ])('is refused 400 "error parsing form data" for %s, without quoting it', async (_, body) => {
    const res = await inject('POST', body(await podToken()), 'application/x-www-form-urlencoded');
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({ errors: ['error parsing form data'] });
  });
});

describe('a body nested past what Go decodes', () => {
  it('is refused 400 before JSON.parse spends its time on it', async () => {
    // Go's encoding/json stops at 10 000 levels ("exceeded max depth"); JSON.parse took 200 ms
    // over a 1 MiB body of half a million `[`, for anyone, no token needed.
    const res = await inject('POST', `{"role":"nginx","jwt":${'['.repeat(10_001)}${']'.repeat(10_001)}}`);
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({ errors: ['error parsing JSON'] });
  });

  it('refuses a JWT whose claims nest like no token’s, as a malformed token (403)', async () => {
    const jwt = await podToken();
    const [h, , sig] = jwt.split('.');
    const deep = Buffer.from(`{"a":${'['.repeat(100_000)}${']'.repeat(100_000)}}`).toString('base64url');
    const before = logs.events('login.denied').length;
    const res = await inject('POST', JSON.stringify({ role: 'nginx', jwt: `${h}.${deep}.${sig}` }));
    expect(res.statusCode).toBe(403);
    expect(res.json()).toEqual({ errors: ['permission denied'] });
    expect(logs.events('login.denied').slice(before)[0]).toMatchObject({ reason: 'malformed_token' });
  });
});

describe('login.denied', () => {
  it('carries the token fingerprint, never the token', async () => {
    const jwt = await podToken();
    const bad = `${jwt.slice(0, jwt.lastIndexOf('.'))}.${'A'.repeat(86)}`;
    const before = logs.events('login.denied').length;
    expect((await inject('POST', JSON.stringify({ role: 'nginx', jwt: bad }))).statusCode).toBe(403);
    const line = logs.events('login.denied').slice(before)[0];
    expect(line).toMatchObject({ mount: 'kubernetes', role: 'nginx', jwtFingerprint: fingerprint(bad) });
    expect(line?.['reqId']).toEqual(expect.any(String));
    expect(logs.raw()).not.toContain(bad.split('.')[1]);
  });

  it('writes at most its budget of lines a second under a flood, and then how many it left out', async () => {
    // Past any budget window an earlier test opened: the flood starts a window of its own.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const before = logs.events('login.denied').length;
    const results = await Promise.all(
      Array.from({ length: 50 }, () => inject('POST', JSON.stringify({ role: 'nginx', jwt: 'not-a-jwt' }))),
    );
    expect(results.every((r) => r.statusCode === 403)).toBe(true);
    const written = logs.events('login.denied').length - before;
    expect(written).toBeLessThanOrEqual(DENIED_LOG_LINES_PER_SECOND);
    await vi.waitFor(() => expect(logs.events('login.denied_suppressed').length).toBeGreaterThan(0), {
      timeout: 3000,
    });
    const suppressed = logs
      .events('login.denied_suppressed')
      .reduce((n, line) => n + (line['suppressed'] as number), 0);
    expect(written + suppressed).toBeGreaterThanOrEqual(50);
    expect(logs.events('login.denied_suppressed')[0]?.['reasons']).toMatchObject({
      malformed_token: expect.any(Number),
    });
  });

  it('names a role only if the mount has it', async () => {
    const before = logs.events('login.denied').length;
    const res = await inject('POST', JSON.stringify({ role: 'Robert"); DROP TABLE roles;--', jwt: 'x.y.z' }));
    expect(res.statusCode).toBe(400);
    const line = logs.events('login.denied').slice(before)[0];
    expect(line).toBeDefined();
    expect(line?.['role']).toBeUndefined();
    expect(line?.['reason']).toBe('role_not_found');
    expect(logs.raw()).not.toContain('DROP TABLE');
  });
});

describe('the login outcome hook', () => {
  let app: FastifyInstance;
  const hookLogs = captureLog();
  const seen: unknown[] = [];
  let hook: LoginRouteDeps['onOutcome'];

  beforeAll(async () => {
    app = Fastify({ loggerInstance: createLogger('warn', hookLogs.stream) as FastifyBaseLogger });
    app.setValidatorCompiler(TypeBoxValidatorCompiler);
    installJsonForAnyContentType(app, 1024 * 1024);
    installErrorHandling(app);
    // The route alone, with a login service that succeeds for `ok` and refuses anything else.
    registerLoginRoutes(app, {
      mounts: new Map([['kubernetes', { roles: new Map([['nginx', {}]]) }]]),
      login: {
        login: async (_mount, input) => {
          if (input.jwt !== 'ok') throw loginDenied('permission denied', 'bad_token');
          return {
            role: { name: 'nginx' },
            mount: { type: 'kubernetes' },
            issued: { record: {}, clientToken: 'ags.test', warnings: [] },
          } as unknown as Awaited<ReturnType<LoginRouteDeps['login']['login']>>;
        },
        outcomeOf: (mount, input) => ({
          mount,
          role: typeof input.role === 'string' ? input.role.toLowerCase() : undefined,
          outcome: 'denied',
          reason: 'bad_token',
        }),
      },
      tokens: {
        authBlock: () =>
          ({ client_token: 'ags.test' }) as unknown as ReturnType<LoginRouteDeps['tokens']['authBlock']>,
      },
      onOutcome: (outcome) => hook?.(outcome),
    });
    await app.ready();
  });
  afterAll(async () => {
    await app?.close();
  });

  const login = async (body: Record<string, unknown>) => {
    const res = await app.inject({ method: 'POST', url: '/v1/auth/kubernetes/login', payload: body });
    return { status: res.statusCode, json: res.json() as Record<string, unknown> };
  };

  it('cannot turn a successful login into an error by throwing', async () => {
    hook = () => {
      throw new Error('metrics backend exploded');
    };
    const res = await login({ role: 'nginx', jwt: 'ok' });
    expect(res.status).toBe(200);
    expect((res.json['auth'] as { client_token: string }).client_token).toBe('ags.test');
    expect(hookLogs.events('login.outcome_hook_failed')).toHaveLength(1);
  });

  it('cannot change a refusal by throwing or rejecting', async () => {
    hook = () => {
      throw new Error('boom');
    };
    expect(await login({ role: 'nginx', jwt: 'bad' })).toEqual({
      status: 403,
      json: { errors: ['permission denied'] },
    });
    hook = () => Promise.reject(new Error('async boom')) as unknown as void;
    expect((await login({ role: 'nginx', jwt: 'ok' })).status).toBe(200);
    await new Promise((resolve) => setImmediate(resolve));
    expect(hookLogs.events('login.outcome_hook_failed')).toHaveLength(3);
  });

  it('is given a role only if the mount has it', async () => {
    hook = (outcome) => {
      seen.push(outcome);
    };
    await login({ role: 'NGINX', jwt: 'bad' });
    await login({ role: 'made-up-role-123', jwt: 'bad' });
    await login({ role: 'nginx', jwt: 'ok' });
    expect(seen).toEqual([
      { mount: 'kubernetes', role: 'nginx', outcome: 'denied', reason: 'bad_token' },
      { mount: 'kubernetes', role: undefined, outcome: 'denied', reason: 'bad_token' },
      { mount: 'kubernetes', role: 'nginx', outcome: 'ok', reason: 'ok' },
    ]);
  });
});
