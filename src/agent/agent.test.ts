import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createAgent } from './agent.js';

/*
 * The agent's decisions, against a stub of authgate whose leases last milliseconds: which call
 * follows which answer. The order is what is checked, never a duration.
 */

type Answer = { status: number; json: unknown };
const auth = (token: string, leaseSeconds: number, renewable = true): Answer => ({
  status: 200,
  json: { auth: { client_token: token, lease_duration: leaseSeconds, renewable } },
});

/** A stub authgate answering each path from its own queue (the last answer repeats). */
const stub = (answers: { login: Answer[]; renew?: Answer[] }) => {
  const calls: string[] = [];
  const bodies: unknown[] = [];
  const next = (queue: Answer[]) => (queue.length > 1 ? (queue.shift() as Answer) : (queue[0] as Answer));
  return {
    calls,
    bodies,
    client: {
      async call(_method: string, path: string, init?: { body?: unknown }): Promise<Answer> {
        const kind = path.endsWith('/login') ? 'login' : path.endsWith('/renew-self') ? 'renew' : 'revoke';
        calls.push(kind);
        if (kind === 'renew') bodies.push(init?.body);
        if (kind === 'login') return next(answers.login);
        if (kind === 'renew') return next(answers.renew ?? [{ status: 500, json: {} }]);
        return { status: 204, json: undefined };
      },
    },
  };
};

const run = async (s: ReturnType<typeof stub>, until: (calls: string[]) => boolean, maxMs = 10_000) => {
  const agent = createAgent(
    { mount: 'kubernetes', role: 'r', jwtFile: '/jwt', sinks: [], sinkMode: 0o600, revokeOnStop: false },
    { client: s.client, log: { info: () => undefined, warn: () => undefined }, readFile: async () => 'jwt' },
  );
  await agent.start();
  const start = Date.now();
  while (!until(s.calls) && Date.now() - start < maxMs) await new Promise((r) => setTimeout(r, 5));
  await agent.stop();
  return s.calls;
};

describe('the agent loop, step by step', () => {
  it('renews while renewals give the lease asked, and logs in once one gives less (the max TTL)', async () => {
    const s = stub({
      login: [auth('t1', 0.03), auth('t2', 60)],
      renew: [auth('t1', 0.03), auth('t1', 0.01)],
    });
    expect((await run(s, (c) => c.length >= 4)).slice(0, 4)).toEqual(['login', 'renew', 'renew', 'login']);
  });

  it('logs in at once when a renewal is refused (revoked, expired)', async () => {
    const s = stub({
      login: [auth('t1', 0.03), auth('t2', 60)],
      renew: [{ status: 403, json: { errors: ['permission denied'] } }],
    });
    expect((await run(s, (c) => c.length >= 3)).slice(0, 3)).toEqual(['login', 'renew', 'login']);
  });

  it('tries the renewal again, not a login, when authgate answers 5xx', async () => {
    const s = stub({
      login: [auth('t1', 0.06)],
      renew: [{ status: 503, json: { errors: ['service unavailable'] } }, auth('t1', 0.06)],
    });
    expect((await run(s, (c) => c.length >= 3)).slice(0, 3)).toEqual(['login', 'renew', 'renew']);
  });

  it('logs in again, never renews, for a token that is not renewable', async () => {
    const s = stub({ login: [auth('b1', 0.03, false), auth('b2', 0.03, false), auth('b3', 60, false)] });
    expect((await run(s, (c) => c.length >= 3)).slice(0, 3)).toEqual(['login', 'login', 'login']);
  });

  it('asks for no increment of its own when renewing, so that the role’s TTL as it is now applies', async () => {
    const s = stub({ login: [auth('t1', 0.03)], renew: [auth('t1', 60)] });
    await run(s, (c) => c.length >= 2);
    expect(s.bodies[0]).toEqual({ increment: 0 });
  });

  it('logs in again when renewals go unanswered until the last tenth of the lease', async () => {
    // Renewal at 40 ms of 60; tried again a sixth of the lease later, then twice that: that try
    // would land in the lease's last tenth, so a login comes instead (never a renewal forever).
    const s = stub({ login: [auth('t1', 0.06), auth('t2', 60)], renew: [{ status: 502, json: {} }] });
    const calls = await run(s, (c) => c.filter((k) => k === 'login').length >= 2);
    expect(calls.join(',')).toMatch(/^login(,renew)+,login$/);
  });

  it('logs in again when a renewal’s answer has no usable lease', async () => {
    const s = stub({
      login: [auth('t1', 0.03), auth('t2', 60)],
      renew: [{ status: 200, json: { auth: { client_token: 't1', renewable: true } } }],
    });
    expect((await run(s, (c) => c.length >= 3)).slice(0, 3)).toEqual(['login', 'renew', 'login']);
  });

  it('revokes a token whose login answer has no usable lease, and tries again', async () => {
    const s = stub({
      login: [{ status: 200, json: { auth: { client_token: 't', lease_duration: 'x' } } }, auth('t2', 60)],
    });
    expect((await run(s, (c) => c.length >= 3)).slice(0, 3)).toEqual(['login', 'revoke', 'login']);
  });

  it('holds a token that never expires (lease 0) without renewing it, and stays alive', async () => {
    const s = stub({ login: [auth('t', 0)] });
    const agent = createAgent(
      { mount: 'kubernetes', role: 'r', jwtFile: '/jwt', sinks: [], sinkMode: 0o600, revokeOnStop: false },
      {
        client: s.client,
        log: { info: () => undefined, warn: () => undefined },
        readFile: async () => 'jwt',
      },
    );
    await agent.start();
    await new Promise((r) => setTimeout(r, 100));
    // That its process stays alive: test/agent.test.ts, with `authgate agent` as a process.
    expect(s.calls).toEqual(['login']);
    expect(agent.token()).toBe('t');
    await agent.stop();
  });
});

describe('sinks', () => {
  it('keeps its token when a sink cannot be written, and writes that token once it can (no new login)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'agent-sink-'));
    const sink = join(dir, 'later', 'token');
    const s = stub({ login: [auth('t1', 60)] });
    const warnings: Array<Record<string, unknown>> = [];
    const agent = createAgent(
      { mount: 'kubernetes', role: 'r', jwtFile: '/jwt', sinks: [sink], sinkMode: 0o600, revokeOnStop: true },
      {
        client: s.client,
        log: { info: () => undefined, warn: (f) => warnings.push(f) },
        readFile: async () => 'jwt',
        random: () => 0,
      },
    );
    const started = agent.start();
    while (warnings.length === 0) await new Promise((r) => setTimeout(r, 5));
    expect(warnings[0]).toMatchObject({ event: 'agent.sink_failed', retryInMs: 900 });
    expect(String(warnings[0]?.['reason'])).toMatch(/^ENOENT/);
    mkdirSync(join(dir, 'later'));
    await started;
    expect(readFileSync(sink, 'utf8')).toBe('t1');
    await agent.stop();
    // One login; the token it held is the one revoked at the stop.
    expect(s.calls).toEqual(['login', 'revoke']);
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('stopping', () => {
  it('waits for a login in flight and revokes the token it brings, with revokeOnStop', async () => {
    let answer: (a: Answer) => void = () => undefined;
    const calls: string[] = [];
    const agent = createAgent(
      { mount: 'kubernetes', role: 'r', jwtFile: '/jwt', sinks: [], sinkMode: 0o600, revokeOnStop: true },
      {
        client: {
          call: (_method, path, init) => {
            calls.push(`${path.split('/').at(-1)}${init?.token === undefined ? '' : ` ${init.token}`}`);
            if (path.endsWith('/login')) return new Promise<Answer>((resolve) => (answer = resolve));
            return Promise.resolve({ status: 204, json: undefined });
          },
        },
        log: { info: () => undefined, warn: () => undefined },
        readFile: async () => 'jwt',
      },
    );
    void agent.start();
    await new Promise((resolve) => setImmediate(resolve));
    const stopping = agent.stop().then(() => calls.push('stopped'));
    await new Promise((resolve) => setImmediate(resolve));
    answer(auth('late', 60));
    await stopping;
    // The revocation comes before stop() resolves: the CLI closes its connections only then.
    expect(calls).toEqual(['login', 'revoke-self late', 'stopped']);
    expect(agent.token()).toBeUndefined();
  });
});
