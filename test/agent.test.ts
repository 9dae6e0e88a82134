import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createAgent, createAuthgateClient, type AgentOptions } from '../src/agent/index.js';
import { runAgent } from '../src/cli/agent.js';
import { runCommand } from '../src/cli/command.js';
import { AGENT_USAGE } from '../src/cli/usages.js';
import { recordSecrets } from './helpers/audit.js';
import { runAuthgate, waitFor } from './helpers/authgate-process.js';
import { clusterJwtMount, NGINX_ROLE, startHarness, type Harness } from './helpers/harness.js';
import { INVALID_TOKEN_MESSAGE } from '../src/errors.js';

/*
 * `authgate agent` (src/agent/): against a real authgate listening on a port, with the real clock
 * and roles whose tokens live a few seconds, so that renewal and re-login happen within a test.
 */

let h: Harness;
let address: string;
const ROLES = {
  nginx: NGINX_ROLE,
  // Renewed at two thirds of 2 s; no renewal reaches past 3 s after issue, then a new login.
  short: { ...NGINX_ROLE, token_ttl: '2s', token_max_ttl: '3s' },
  batch: { ...NGINX_ROLE, token_ttl: '2s', token_type: 'batch' },
};

type Lines = Array<Record<string, unknown>>;
const capture = () => {
  const lines: Lines = [];
  const push = (fields: Record<string, unknown>, msg: string) => lines.push({ ...fields, msg });
  return { lines, log: { info: push, warn: push } };
};
const events = (lines: Lines, name: string) => lines.filter((l) => l['event'] === name);

const lookup = async (token: string) => {
  const res = await fetch(`${address}/v1/auth/token/lookup-self`, { headers: { 'x-vault-token': token } });
  return { status: res.status, json: (await res.json()) as { data?: Record<string, unknown> } };
};

const started: Array<{ stop(): Promise<void> }> = [];
const agentFor = (over: Partial<AgentOptions> & { jwtFile: string }) => {
  const { lines, log } = capture();
  const sink = join(h.dir, `sink-${started.length}`);
  const client = createAuthgateClient({ address, caCert: undefined, timeoutMs: 5000 });
  const agent = createAgent(
    { mount: 'kubernetes', role: 'nginx', sinks: [sink], sinkMode: 0o640, revokeOnStop: false, ...over },
    { client, log },
  );
  const stoppable = {
    async stop() {
      await agent.stop();
      client.close();
    },
  };
  started.push(stoppable);
  const sinkToken = () => {
    try {
      return readFileSync(sink, 'utf8');
    } catch {
      return undefined;
    }
  };
  return { agent, lines, sink, sinkToken, stop: stoppable.stop };
};
const jwtFile = async (name: string, pod = 'nginx') => {
  const path = join(h.dir, name);
  writeFileSync(path, `${await h.podToken({ pod })}\n`);
  return path;
};

beforeAll(async () => {
  h = await startHarness({
    roles: ROLES,
    // Vault's JWT method over the cluster's keys, as the dev config's `auth/jwt`.
    moreMounts: (cluster) => ({
      jwt: clusterJwtMount(cluster),
    }),
  });
  address = await h.server.app.listen({ port: 0, host: '127.0.0.1' });
});
afterAll(async () => {
  for (const a of started) await a.stop();
  await h?.close();
});

describe('the agent loop', () => {
  it('writes a working client token to its sink, whole, with the mode asked, and logs no secret', async () => {
    const file = await jwtFile('jwt-basic');
    const a = agentFor({ jwtFile: file });
    await a.agent.start();
    const token = a.sinkToken() as string;
    recordSecrets(token);
    expect((await lookup(token)).status).toBe(200);
    expect(statSync(a.sink).mode & 0o777).toBe(0o640);
    expect(readdirSync(h.dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect(events(a.lines, 'agent.authenticated')).toHaveLength(1);
    const text = JSON.stringify(a.lines);
    expect(text).not.toContain(token);
    expect(text).not.toContain(readFileSync(file, 'utf8').trim());
    await a.stop();
  });

  it('logs in to a jwt mount (Vault’s JWT method) as to a kubernetes one', async () => {
    const a = agentFor({ jwtFile: await jwtFile('jwt-for-jwt-mount'), mount: 'jwt' });
    await a.agent.start();
    const token = a.sinkToken() as string;
    recordSecrets(token);
    const self = await lookup(token);
    expect(self.status).toBe(200);
    expect(self.json.data).toMatchObject({
      path: 'auth/jwt/login',
      meta: { role: 'nginx', pod_name: 'nginx' },
    });
    await a.stop();
  });

  it('renews the token before it runs out, and puts a new one in its sink before the max TTL ends (which path: src/agent/agent.test.ts)', async () => {
    const a = agentFor({ role: 'short', jwtFile: await jwtFile('jwt-short') });
    await a.agent.start();
    const firstToken = a.sinkToken() as string;
    await waitFor(() => events(a.lines, 'agent.renewed').length >= 1, 10_000, 'a renewal');
    // Renewed: the same token, still valid past its first 2 s lease.
    expect(a.sinkToken()).toBe(firstToken);
    await waitFor(() => a.sinkToken() !== firstToken, 10_000, 'a new token in the sink');
    expect(events(a.lines, 'agent.authenticated').length).toBeGreaterThanOrEqual(2);
    expect((await lookup(a.sinkToken() as string)).status).toBe(200);
    await a.stop();
  });

  it('replaces a batch token (not renewable) by logging in again before it expires', async () => {
    const a = agentFor({ role: 'batch', jwtFile: await jwtFile('jwt-batch') });
    await a.agent.start();
    const firstToken = a.sinkToken() as string;
    expect(firstToken.startsWith('agb.')).toBe(true);
    await waitFor(() => a.sinkToken() !== firstToken, 10_000, 'a new batch token');
    expect(events(a.lines, 'agent.renewed')).toEqual([]);
    await a.stop();
  });

  it('logs in again, with the token file as it is now, when its token was revoked', async () => {
    const file = await jwtFile('jwt-revoked');
    const a = agentFor({ role: 'short', jwtFile: file });
    await a.agent.start();
    const revoked = a.sinkToken() as string;
    // The kubelet rotated the projected token (another pod, to tell the two apart), then the
    // client token is revoked: the next renewal fails and the agent logs in with the new file.
    h.cluster.createPod({
      namespace: 'test',
      name: 'nginx-2',
      serviceAccount: 'nginx',
      nodeName: 'worker-1',
    });
    writeFileSync(file, await h.podToken({ pod: 'nginx-2' }));
    await fetch(`${address}/v1/auth/token/revoke-self`, {
      method: 'POST',
      headers: { 'x-vault-token': revoked },
    });
    await waitFor(() => a.sinkToken() !== revoked, 10_000, 'a token after the revocation');
    expect(events(a.lines, 'agent.renew_failed')[0]?.['reason']).toBe(INVALID_TOKEN_MESSAGE);
    const fresh = await lookup(a.sinkToken() as string);
    expect((fresh.json.data?.['meta'] as Record<string, string>)['pod_name']).toBe('nginx-2');
    await a.stop();
  });

  it('retries a login that fails, with the reason in its log, and succeeds once it can', async () => {
    const file = join(h.dir, 'jwt-later');
    const a = agentFor({ jwtFile: file });
    const first = a.agent.start();
    await waitFor(() => events(a.lines, 'agent.login_failed').length >= 1, 5000, 'a failed login');
    expect(events(a.lines, 'agent.login_failed')[0]).toMatchObject({
      reason: expect.stringContaining('cannot read the JWT file'),
      retryInMs: expect.any(Number),
    });
    writeFileSync(file, await h.podToken());
    await first;
    expect((await lookup(a.sinkToken() as string)).status).toBe(200);
    await a.stop();
  });

  it("quotes authgate's refusal when the role does not exist, and writes nothing", async () => {
    const a = agentFor({ role: 'missing', jwtFile: await jwtFile('jwt-missing-role') });
    void a.agent.start();
    await waitFor(() => events(a.lines, 'agent.login_failed').length >= 1, 5000, 'a failed login');
    expect(events(a.lines, 'agent.login_failed')[0]?.['reason']).toBe('invalid role name "missing"');
    expect(a.sinkToken()).toBeUndefined();
    await a.stop();
  });

  it('keeps a token it could not write to its sink, and writes it there once it can', async () => {
    const dir = join(h.dir, 'gone-dir');
    const a = agentFor({ jwtFile: await jwtFile('jwt-gone'), sinks: [join(dir, 'token')] });
    const started = a.agent.start();
    await waitFor(() => events(a.lines, 'agent.sink_failed').length >= 1, 5000, 'a failed write');
    expect(events(a.lines, 'agent.sink_failed')[0]?.['reason']).toMatch(/^ENOENT/);
    mkdirSync(dir);
    await started;
    const token = readFileSync(join(dir, 'token'), 'utf8');
    recordSecrets(token);
    // The token of the one login, never revoked, in the sink and alive.
    expect(token).toBe(a.agent.token());
    expect(events(a.lines, 'agent.revoked')).toHaveLength(0);
    expect(events(a.lines, 'agent.authenticated')).toHaveLength(1);
    expect((await lookup(token)).status).toBe(200);
    await a.stop();
  });

  it('revokes its token when stopped with revokeOnStop', async () => {
    const a = agentFor({ jwtFile: await jwtFile('jwt-stop'), revokeOnStop: true });
    await a.agent.start();
    const token = a.sinkToken() as string;
    await a.stop();
    expect((await lookup(token)).status).toBe(403);
    expect(events(a.lines, 'agent.revoked')).toHaveLength(1);
  });
});

describe('authgate agent, the command', () => {
  /** `authgate agent` as a process, role nginx, a fresh JWT file, writing to `sink`. */
  const runAgentProcess = async (sink: string, ...more: string[]) =>
    runAuthgate([
      'agent',
      ...['--address', address, '--role', 'nginx', '--sink', sink],
      ...['--jwt-file', await jwtFile(`jwt-${sink.split('/').at(-1)}`)],
      ...more,
    ]);

  it('writes the token and exits 0 with --exit-after-auth', async () => {
    const sink = join(h.dir, 'cli-sink');
    const p = await runAgentProcess(sink, '--exit-after-auth');
    expect(await p.exited).toBe(0);
    const token = readFileSync(sink, 'utf8');
    recordSecrets(token);
    expect((await lookup(token)).status).toBe(200);
    expect(p.output()).toContain('"event":"agent.authenticated"');
    expect(p.output()).not.toContain(token);
  });

  it('runs until SIGTERM, then revokes its token with --revoke-on-exit and exits 0', async () => {
    const sink = join(h.dir, 'cli-sink-2');
    rmSync(sink, { force: true });
    const p = await runAgentProcess(sink, '--revoke-on-exit');
    await waitFor(() => p.output().includes('agent.authenticated'), 15_000, 'the first token');
    const token = readFileSync(sink, 'utf8');
    recordSecrets(token);
    p.child.kill('SIGTERM');
    expect(await p.exited).toBe(0);
    expect((await lookup(token)).status).toBe(403);
  });

  it("takes Vault Agent's mount_path form, auth/<mount>", async () => {
    const sink = join(h.dir, 'cli-sink-mount');
    const p = await runAgentProcess(sink, '--mount', 'auth/kubernetes/', '--exit-after-auth');
    expect(await p.exited).toBe(0);
    recordSecrets(readFileSync(sink, 'utf8'));
    expect((await lookup(readFileSync(sink, 'utf8'))).status).toBe(200);
  });

  it('stays running with a token that never expires (lease 0), until SIGTERM', async () => {
    // No authgate login answers a lease of 0; a Vault root-like token does. A server of its own.
    const server = createServer((req, res) => {
      req.resume();
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ auth: { client_token: 'hvs.forever', lease_duration: 0, renewable: false } }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const sink = join(h.dir, 'cli-sink-forever');
    const p = await runAuthgate([
      'agent',
      ...['--address', `http://127.0.0.1:${(server.address() as AddressInfo).port}`, '--role', 'r'],
      ...['--sink', sink, '--jwt-file', await jwtFile('jwt-forever')],
    ]);
    try {
      await waitFor(() => p.output().includes('agent.authenticated'), 15_000, 'the token');
      const early = await Promise.race([p.exited, new Promise((r) => setTimeout(() => r('running'), 1000))]);
      expect(early).toBe('running');
      p.child.kill('SIGTERM');
      expect(await p.exited).toBe(0);
      expect(p.output()).toContain('agent.stopped');
    } finally {
      p.child.kill('SIGKILL');
      server.close();
    }
  });

  it.each([
    [['--role', 'r', '--sink', '/tmp/x', '--mount', 'auth/'], '--mount: must be an auth mount path'],
    [['--role', 'r', '--sink', '/tmp/x', '--mount', 'a/../b'], '--mount: must be an auth mount path'],
    [['--sink', '/tmp/x'], '--role: required'],
    [['--role', 'r'], '--sink: at least one file'],
    [['--role', 'r', '--sink', '/nonexistent-dir/token'], 'directory /nonexistent-dir does not exist'],
    [
      ['--role', 'r', '--sink', '/tmp/x', '--exit-after-auth', '--revoke-on-exit'],
      '--revoke-on-exit: not with',
    ],
  ])(
    'calls %j a usage mistake (exit 2); test/cli-args-fuzz.test.ts tries the bad values',
    async (args, message) => {
      await expectUsageMistake(args, message);
    },
  );

  it.each([
    [{ VAULT_ADDR: 'ftp://x' }, 'VAULT_ADDR: must be an http:// or https:// URL'],
    [{ AUTHGATE_LOG_LEVEL: 'verbose' }, 'AUTHGATE_LOG_LEVEL: expected one of fatal, error, warn, info'],
  ])('calls a bad %j a usage mistake that names the variable', async (env, message) => {
    for (const [k, v] of Object.entries(env)) vi.stubEnv(k, v);
    try {
      await expectUsageMistake(['--role', 'r', '--sink', '/tmp/agent-usage-token'], message);
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it('takes an empty VAULT_ADDR as unset, as the token commands do', async () => {
    vi.stubEnv('VAULT_ADDR', '');
    try {
      // Past the address check: the next mistake (no role) is the one reported.
      await expectUsageMistake(['--sink', '/tmp/agent-usage-token'], '--role: required');
    } finally {
      vi.unstubAllEnvs();
    }
  });

  const expectUsageMistake = async (args: string[], message: string) => {
    const out = { stdout: '', stderr: '' };
    const stream = (k: keyof typeof out) => {
      const s = new PassThrough();
      s.on('data', (d: Buffer) => (out[k] += d.toString()));
      return s;
    };
    const io = { stdout: stream('stdout'), stderr: stream('stderr') };
    expect(await runCommand('authgate agent', AGENT_USAGE, () => runAgent(args), io)).toBe(2);
    expect(out.stderr).toContain(message);
    expect(out.stderr).toContain('Usage:\n  authgate agent');
  };
});
