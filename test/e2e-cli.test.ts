import { execFileSync, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exitCodeOf, runAuthgate, waitFor, type Running } from './helpers/authgate-process.js';
import { startRedis } from './helpers/redis-server.js';

// The real Vault client, unchanged: authgate must look like Vault to it.
const require = createRequire(import.meta.url);
const nodeVault = require('node-vault') as (opts: {
  endpoint: string;
  apiVersion?: string;
  token?: string;
}) => {
  token: string;
  kubernetesLogin(args: {
    role: string;
    jwt: string;
    mount_point?: string;
  }): Promise<{ auth: Record<string, unknown> }>;
  tokenLookupSelf(): Promise<{ data: Record<string, unknown> }>;
  tokenRenewSelf(args?: { increment?: string | number }): Promise<{ auth: Record<string, unknown> }>;
  tokenRevokeSelf(): Promise<unknown>;
  tokenLookupAccessor(args: { accessor: string }): Promise<{ data: Record<string, unknown> }>;
  write(path: string, data: Record<string, unknown>): Promise<unknown>;
};

const run = runAuthgate;

/** The simulated cluster's request count per path, from the state file of a running `authgate dev`. */
const clusterRequests = async (statePath: string): Promise<Record<string, number>> => {
  const state = JSON.parse(readFileSync(statePath, 'utf8')) as {
    clusterUrl: string;
    clusterAdminToken: string;
  };
  const res = await fetch(`${state.clusterUrl}/debug/simulator/stats`, {
    headers: { authorization: `Bearer ${state.clusterAdminToken}` },
  });
  return ((await res.json()) as { byPath: Record<string, number> }).byPath;
};

describe('authgate dev as a child process, driven by the node-vault client', () => {
  let dev: Running;
  let endpoint: string;
  let firstToken: string;
  let adminToken: string;
  const dir = mkdtempSync(join(tmpdir(), 'authgate-e2e-'));
  const env = { AUTHGATE_DEV_STATE: join(dir, 'dev.json'), AUTHGATE_LOG_LEVEL: 'warn' };

  beforeAll(async () => {
    dev = run(['dev', '--port', '0'], env);
    endpoint = (await waitFor(() => dev.output().match(/Gateway:\s+(http:\/\/\S+)/)))[1] ?? '';
    await waitFor(() => dev.output().match(/More tokens/));
    firstToken = (dev.output().match(/\n\s+(eyJ[\w-]+\.[\w-]+\.[\w-]+)\n/) ?? [])[1] ?? '';
    adminToken = (dev.output().match(/Admin token:\s+(\S+)/) ?? [])[1] ?? '';
  });

  afterAll(async () => {
    dev.child.kill('SIGTERM');
    await dev.exited;
    rmSync(dir, { recursive: true, force: true });
  });

  it('prints a token and a curl line that work', async () => {
    expect(firstToken).not.toBe('');
    expect(dev.output()).toContain(`curl -s -X POST ${endpoint}/v1/auth/kubernetes/login`);
    const res = await fetch(`${endpoint}/v1/auth/kubernetes/login`, {
      method: 'POST',
      body: JSON.stringify({ role: 'nginx', jwt: firstToken }),
    });
    expect(res.status).toBe(200);
  });

  it('logs in with kubernetesLogin, looks itself up, renews and revokes', async () => {
    const vault = nodeVault({ endpoint, apiVersion: 'v1' });
    // node-vault 0.12 renders the default mount as `auth//login` unless mount_point is given
    // (its template reads kubernetesPath from the call's args); real Vault answers that with 404 too.
    const login = await vault.kubernetesLogin({ role: 'nginx', jwt: firstToken, mount_point: 'kubernetes' });
    expect(vault.token).toBe(login.auth['client_token']);
    const self = await vault.tokenLookupSelf();
    expect(self.data).toMatchObject({
      path: 'auth/kubernetes/login',
      display_name: 'kubernetes-test-nginx',
      policies: ['default', 'nginx'],
      meta: { role: 'nginx', service_account_name: 'nginx', service_account_namespace: 'test' },
    });
    const renewed = await vault.tokenRenewSelf({ increment: '2h' });
    expect(renewed.auth['lease_duration']).toBe(7200);
    const admin = nodeVault({ endpoint, apiVersion: 'v1', token: adminToken });
    const byAccessor = await admin.tokenLookupAccessor({ accessor: String(login.auth['accessor']) });
    expect(byAccessor.data['display_name']).toBe('kubernetes-test-nginx');
    await vault.tokenRevokeSelf();
    await expect(vault.tokenLookupSelf()).rejects.toMatchObject({ response: { statusCode: 403 } });
  });

  it('signs identity tokens under the address it listens on, even when --port 0 chose the port', async () => {
    const login = (await (
      await fetch(`${endpoint}/v1/auth/kubernetes/login`, {
        method: 'POST',
        body: JSON.stringify({ role: 'nginx', jwt: firstToken }),
      })
    ).json()) as { auth: { client_token: string } };
    const res = await fetch(`${endpoint}/v1/identity/oidc/token/nginx`, {
      headers: { 'x-vault-token': login.auth.client_token },
    });
    expect(res.status).toBe(200);
    const { token } = ((await res.json()) as { data: { token: string } }).data;
    const claims = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as {
      iss: string;
    };
    expect(claims.iss).toBe(`${endpoint}/v1/identity/oidc`);
    const discovery = (await (await fetch(`${claims.iss}/.well-known/openid-configuration`)).json()) as {
      jwks_uri: string;
    };
    expect((await fetch(discovery.jwks_uri)).status).toBe(200);
  });

  it('mints more tokens with `authgate dev token`, for a new pod too, that log in through every mount', async () => {
    const mint = run(
      ['dev', 'token', '--namespace', 'test', '--service-account', 'nginx', '--pod', 'nginx-2'],
      env,
    );
    expect(await mint.exited).toBe(0);
    const jwt = mint.output().trim();
    const payload = JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString()) as {
      'kubernetes.io': { pod: { name: string } };
    };
    expect(payload['kubernetes.io'].pod.name).toBe('nginx-2');
    for (const mount of ['kubernetes', 'kubernetes-jwks']) {
      const vault = nodeVault({ endpoint, apiVersion: 'v1' });
      const login = await vault.kubernetesLogin({ role: 'nginx', jwt, mount_point: mount });
      expect((login.auth['metadata'] as Record<string, string>)['pod_name']).toBe('nginx-2');
      // Role web-team admits the namespace by its label (team: web), read from the dev cluster.
      const byLabel = await vault.kubernetesLogin({ role: 'web-team', jwt, mount_point: mount });
      expect((byLabel.auth['metadata'] as Record<string, string>)['role']).toBe('web-team');
    }
    // The dev config's third mount: Vault's JWT method over the cluster's keys, as a client
    // written for it logs in (node-vault's generic write to auth/jwt/login).
    const jwtLogin = (await nodeVault({ endpoint, apiVersion: 'v1' }).write('auth/jwt/login', {
      role: 'nginx',
      jwt,
    })) as { auth: { metadata: Record<string, string>; policies: string[] } };
    expect(jwtLogin.auth.metadata).toEqual({
      role: 'nginx',
      service_account_namespace: 'test',
      service_account_name: 'nginx',
      pod_name: 'nginx-2',
    });
    expect(jwtLogin.auth.policies).toEqual(['default', 'nginx']);
  });

  it('checks the --out of `authgate dev tokens` before it mints a single token', async () => {
    const loadRequests = async () =>
      Object.entries(await clusterRequests(env.AUTHGATE_DEV_STATE))
        .filter(([path]) => path.includes('/load-') || path.endsWith('/namespaces'))
        .reduce((n, [, count]) => n + count, 0);
    const before = await loadRequests();
    const out = join(dir, 'missing', 'tokens.json');
    const gen = run(['dev', 'tokens', '--count', '5', '--namespaces', '1', '--out', out], env);
    expect(await exitCodeOf(gen)).toBe(1);
    expect(gen.output()).toContain(
      `authgate dev tokens: cannot write --out ${out}: directory ${join(dir, 'missing')} does not exist`,
    );
    expect(await loadRequests()).toBe(before);
  });

  it('writes distinct pod tokens across namespaces with `authgate dev tokens`, each of which logs in', async () => {
    const out = join(dir, 'tokens.json');
    const gen = run(['dev', 'tokens', '--count', '30', '--namespaces', '3', '--out', out], env);
    expect(await gen.exited).toBe(0);
    const tokens = JSON.parse(readFileSync(out, 'utf8')) as Array<{
      token: string;
      role: string;
      namespace: string;
      pod: string;
    }>;
    expect(tokens).toHaveLength(30);
    expect(new Set(tokens.map((t) => t.token)).size).toBe(30);
    // Live tokens: this user's only, written whole (no temporary file left beside it).
    expect(statSync(out).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir).filter((f) => f.startsWith('tokens.json.'))).toEqual([]);
    expect(new Set(tokens.map((t) => t.namespace))).toEqual(new Set(['load-0', 'load-1', 'load-2']));
    for (const t of tokens.slice(0, 6)) {
      const claims = JSON.parse(Buffer.from(t.token.split('.')[1] ?? '', 'base64url').toString()) as {
        aud: string[];
        'kubernetes.io': { namespace: string; pod: { name: string } };
      };
      expect(claims.aud).toEqual(['vault']);
      expect(claims['kubernetes.io']).toMatchObject({ namespace: t.namespace, pod: { name: t.pod } });
      const res = await fetch(`${endpoint}/v1/auth/kubernetes-jwks/login`, {
        method: 'POST',
        body: JSON.stringify({ role: t.role, jwt: t.token }),
      });
      expect(res.status).toBe(200);
    }
  });
});

describe('authgate dev --redis', () => {
  it('keeps the tokens it issues in that Redis, under their HMAC', async () => {
    const redis = await startRedis();
    const dir = mkdtempSync(join(tmpdir(), 'authgate-dev-redis-'));
    const dev = run(['dev', '--port', '0', '--redis', redis.url], {
      AUTHGATE_DEV_STATE: join(dir, 'dev.json'),
      AUTHGATE_LOG_LEVEL: 'warn',
    });
    try {
      const endpoint = (await waitFor(() => dev.output().match(/Gateway:\s+(http:\/\/\S+)/)))[1] ?? '';
      const jwt = (await waitFor(() => dev.output().match(/\n\s+(eyJ[\w-]+\.[\w-]+\.[\w-]+)\n/)))[1] ?? '';
      expect(dev.output()).toContain(`Redis store at ${redis.url}`);
      const res = await fetch(`${endpoint}/v1/auth/kubernetes/login`, {
        method: 'POST',
        body: JSON.stringify({ role: 'nginx', jwt }),
      });
      const token = ((await res.json()) as { auth: { client_token: string } }).auth.client_token;
      const keys = execFileSync('redis-cli', [
        '-p',
        String(redis.port),
        '--scan',
        '--pattern',
        'ag:token:*',
      ]).toString();
      expect(keys.trim().split('\n')).toHaveLength(1);
      expect(keys).not.toContain(token.slice(4));
    } finally {
      dev.child.kill('SIGTERM');
      await dev.exited;
      await redis.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** The pids of `pid`'s children (Linux). */
const childrenOf = (pid: number): number[] =>
  readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
    .trim()
    .split(/\s+/)
    .filter((p) => p !== '')
    .map(Number);

/** Whether process `pid` still exists. */
const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('authgate dev --cluster-process', () => {
  const dir = mkdtempSync(join(tmpdir(), 'authgate-cluster-process-'));
  const env = { AUTHGATE_DEV_STATE: join(dir, 'dev.json'), AUTHGATE_LOG_LEVEL: 'warn' };
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** Starts it; resolves its gateway address, its first pod token and the simulator's pid. */
  const start = async () => {
    const dev = run(['dev', '--port', '0', '--cluster-process'], env);
    await waitFor(() => dev.output().match(/More tokens/));
    const endpoint = (dev.output().match(/Gateway:\s+(http:\/\/\S+)/) ?? [])[1] ?? '';
    const token = (dev.output().match(/\n\s+(eyJ[\w-]+\.[\w-]+\.[\w-]+)\n/) ?? [])[1] ?? '';
    const pid = dev.child.pid ?? 0;
    const [simulator] = childrenOf(pid);
    return { dev, endpoint, token, simulator: simulator ?? 0 };
  };

  it('runs the simulated API server in a process of its own, which TokenReview logins and dev token use', async () => {
    const { dev, endpoint, token, simulator } = await start();
    try {
      expect(readFileSync(`/proc/${simulator}/cmdline`, 'utf8')).toContain('dev-cluster-child.js');
      const login = (jwt: string) =>
        fetch(`${endpoint}/v1/auth/kubernetes/login`, {
          method: 'POST',
          body: JSON.stringify({ role: 'nginx', jwt }),
        });
      expect((await login(token)).status).toBe(200);
      const minted = run(['dev', 'token', '--namespace', 'test', '--service-account', 'nginx'], env);
      expect(await exitCodeOf(minted)).toBe(0);
      expect((await login(minted.output().trim())).status).toBe(200);
      expect(
        (await clusterRequests(env.AUTHGATE_DEV_STATE))['/apis/authentication.k8s.io/v1/tokenreviews'],
      ).toBe(2);
    } finally {
      dev.child.kill('SIGTERM');
    }
    expect(await exitCodeOf(dev)).toBe(0);
    await waitFor(() => !alive(simulator), 15_000, 'the simulator to exit');
  });

  it('says so when the simulator dies, and TokenReview logins fail closed (503)', async () => {
    const { dev, endpoint, token, simulator } = await start();
    try {
      process.kill(simulator, 'SIGKILL');
      await waitFor(() => dev.output().match(/the simulated cluster exited \(SIGKILL\)/));
      const res = await fetch(`${endpoint}/v1/auth/kubernetes/login`, {
        method: 'POST',
        body: JSON.stringify({ role: 'nginx', jwt: token }),
      });
      expect(res.status).toBe(503);
    } finally {
      dev.child.kill('SIGTERM');
    }
    expect(await exitCodeOf(dev)).toBe(0);
  });

  it('leaves no simulator behind when the gateway goes while it is still starting', async () => {
    // Its IPC channel closes at once, before the child has loaded the simulator: the child used
    // to register its handlers only after that import, missed the event, and ran on for ever.
    const child = fork(join(import.meta.dirname, '..', 'dist', 'cli', 'dev-cluster-child.js'), ['0'], {
      stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
    });
    const exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    child.disconnect();
    const outcome = await Promise.race([exited, new Promise((r) => setTimeout(() => r('running'), 15_000))]);
    child.kill('SIGKILL');
    expect(outcome).toBe(0);
  }, 30_000);

  it('keeps the simulator through a hangup of the terminal, as the gateway keeps running', async () => {
    const { dev, simulator } = await start();
    try {
      process.kill(simulator, 'SIGHUP');
      await new Promise((r) => setTimeout(r, 500));
      expect(alive(simulator)).toBe(true);
      expect(dev.output()).not.toMatch(/the simulated cluster exited/);
    } finally {
      dev.child.kill('SIGTERM');
    }
    expect(await exitCodeOf(dev)).toBe(0);
  });

  it('takes the simulator down with it when it is killed outright', async () => {
    const { dev, simulator } = await start();
    expect(alive(simulator)).toBe(true);
    dev.child.kill('SIGKILL');
    await dev.exited;
    await waitFor(() => !alive(simulator), 15_000, 'the simulator to exit');
    // Two processes started one after the other (3.1 s, 5.5 s under load), then up to 15 s to exit.
  }, 60_000);
});

describe('authgate dev --tokenreview-prefilter', () => {
  const dir = mkdtempSync(join(tmpdir(), 'authgate-dev-prefilter-'));
  const env = { AUTHGATE_DEV_STATE: join(dir, 'dev.json'), AUTHGATE_LOG_LEVEL: 'warn' };
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const REVIEWS = '/apis/authentication.k8s.io/v1/tokenreviews';

  /** The pod token's header and claims, under a signature of random bytes. */
  const forged = (jwt: string) =>
    `${jwt.slice(0, jwt.lastIndexOf('.'))}.${randomBytes(256).toString('base64url')}`;

  /** Runs `authgate dev` with `flags`; the status of its TokenReview login with a forged and then a real token, and the reviews made after each. */
  const forgedThenReal = async (flags: string[]) => {
    const dev = run(['dev', '--port', '0', ...flags], env);
    try {
      await waitFor(() => dev.output().match(/More tokens/));
      const endpoint = (dev.output().match(/Gateway:\s+(http:\/\/\S+)/) ?? [])[1] ?? '';
      const token = (dev.output().match(/\n\s+(eyJ[\w-]+\.[\w-]+\.[\w-]+)\n/) ?? [])[1] ?? '';
      const login = async (jwt: string) => {
        const res = await fetch(`${endpoint}/v1/auth/kubernetes/login`, {
          method: 'POST',
          body: JSON.stringify({ role: 'nginx', jwt }),
        });
        return {
          status: res.status,
          body: (await res.json()) as unknown,
          reviews: (await clusterRequests(env.AUTHGATE_DEV_STATE))[REVIEWS] ?? 0,
        };
      };
      return { forged: await login(forged(token)), real: await login(token), output: dev.output() };
    } finally {
      dev.child.kill('SIGTERM');
      await dev.exited;
    }
  };

  it('refuses a forged token on auth/kubernetes without a TokenReview, and a real one still logs in by review', async () => {
    const { forged: f, real } = await forgedThenReal(['--tokenreview-prefilter']);
    expect(f).toEqual({ status: 403, body: { errors: ['permission denied'] }, reviews: 0 });
    expect(real).toMatchObject({ status: 200, reviews: 1 });
  }, 60_000);

  it('leaves the dev setup as documented without it: a forged token costs one TokenReview', async () => {
    const { forged: f, real } = await forgedThenReal([]);
    expect(f).toEqual({ status: 403, body: { errors: ['permission denied'] }, reviews: 1 });
    expect(real).toMatchObject({ status: 200, reviews: 2 });
  }, 60_000);
});
