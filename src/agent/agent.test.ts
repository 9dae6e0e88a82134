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
    {
      client: s.client,
      log: { info: () => undefined, warn: () => undefined },
      readFile: async () => 'jwt',
      // The clock stands still: whether a failed renewal is tried again or ends in a login then
      // follows from the waits the agent schedules alone, not from how late a busy machine fires
      // them (a 60 ms lease's renewal fired at 55 ms under load and gave up at once).
      now: () => 0,
    },
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

/** Sinks in memory: each write may be made to fail or to wait, in the order the writes come. */
const memoryFs = (plan: Array<'fail' | 'slow-fail' | 'hold-rename' | 'ok'>) => {
  const files = new Map<string, string>();
  let release: () => void = () => undefined;
  const held = new Promise<void>((r) => (release = r));
  const renameWaits = new Map<string, Promise<void>>();
  return {
    files,
    release: () => release(),
    fs: {
      async writeFile(path: string, data: string) {
        const step = plan.shift() ?? 'ok';
        if (step === 'slow-fail') await new Promise((r) => setTimeout(r, 400));
        if (step === 'fail' || step === 'slow-fail') throw new Error('ENOSPC: no space left on device');
        if (step === 'hold-rename') renameWaits.set(path, held);
        files.set(path, data);
      },
      async chmod() {},
      async rename(from: string, to: string) {
        await renameWaits.get(from);
        files.set(to, files.get(from) as string);
        files.delete(from);
      },
      async rm(path: string) {
        files.delete(path);
      },
    } as never,
  };
};

const agentWith = (s: ReturnType<typeof stub>, fs: unknown) =>
  createAgent(
    {
      mount: 'kubernetes',
      role: 'r',
      jwtFile: '/jwt',
      sinks: ['/sink'],
      sinkMode: 0o600,
      revokeOnStop: false,
    },
    {
      client: s.client,
      log: { info: () => undefined, warn: () => undefined },
      readFile: async () => 'jwt',
      random: () => 0,
      fs: fs as never,
    },
  );

describe('sinks', () => {
  it('never leaves an older token in the sink when a retry of it is still writing as a new one comes', async () => {
    // t1's first write fails; its retry (900 ms on) is held at the rename; meanwhile the renewal
    // is refused (1.8 s) and the login brings t2. Once t1's rename lands, t2 must follow it.
    const m = memoryFs(['fail', 'hold-rename']);
    const s = stub({ login: [auth('t1', 3), auth('t2', 60)], renew: [{ status: 403, json: {} }] });
    const agent = agentWith(s, m.fs);
    void agent.start();
    while (s.calls.filter((c) => c === 'login').length < 2) await new Promise((r) => setTimeout(r, 10));
    m.release();
    await new Promise((r) => setTimeout(r, 100));
    expect(m.files.get('/sink')).toBe('t2');
    await agent.stop();
  });

  it('keeps trying a failed write that a renewal overlapped, and starts once it lands', async () => {
    // The renewal (180 ms) replaces the held record while the first write is failing (400 ms).
    const m = memoryFs(['slow-fail']);
    const s = stub({ login: [auth('t1', 0.3)], renew: [auth('t1', 0.3)] });
    const agent = agentWith(s, m.fs);
    const started = await Promise.race([
      agent.start().then(() => 'started'),
      new Promise((r) => setTimeout(() => r('waiting'), 3000)),
    ]);
    expect(started).toBe('started');
    expect(m.files.get('/sink')).toBe('t1');
    await agent.stop();
  });

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
