import { describe, expect, it } from 'vitest';
import { isAuthgateError } from '../errors.js';
import { createFakeClock } from '../lib/clock.js';
import { createSecretCipher } from '../secrets/index.js';
import { createKeys, createMemoryStore, type Store } from '../store/index.js';
import type { Logger } from '../telemetry/index.js';
import { MAX_UNSETTLED_BYTES, MAX_UNSETTLED_WRITES, createAuditBroker, type AuditDevice } from './broker.js';
import { createSaltSource } from './salt.js';
import type { AuditSink } from './sinks.js';
import type { AuditRequest } from './types.js';

const keys = createKeys();
const sealer = createSecretCipher(Buffer.alloc(32, 7));
const request: AuditRequest = {
  id: 'r-1',
  operation: 'update',
  path: 'auth/kubernetes/login',
  mount: { point: 'auth/kubernetes/', type: 'kubernetes', class: 'auth' },
  clientToken: undefined,
  data: { role: 'nginx', jwt: 'eyJ.a.b' },
  remoteAddress: '10.0.0.1',
  remotePort: 1,
};

/** A sink that keeps lines, or fails, or never answers, as told. */
const sink = (mode: { fail?: boolean; hang?: boolean } = {}) => {
  const lines: string[] = [];
  const s: AuditSink & { lines: string[]; mode: typeof mode } = {
    lines,
    mode,
    write: async (json) => {
      if (s.mode.hang === true) return new Promise<void>(() => undefined);
      if (s.mode.fail === true) throw new Error('EACCES: permission denied');
      lines.push(json);
    },
    reopen: async () => undefined,
    close: async () => undefined,
  };
  return s;
};

const device = (name: string, s: AuditSink, timeoutMs = 2000): AuditDevice => ({
  settings: { name, type: 'file', hmacAccessor: true, timeoutMs },
  sink: s,
});

const events = () => {
  const seen: Array<Record<string, unknown>> = [];
  const log = {
    warn: (o: object) => seen.push(o as Record<string, unknown>),
    info: (o: object) => seen.push(o as Record<string, unknown>),
  } as unknown as Pick<Logger, 'warn' | 'info'>;
  return { log, seen, named: (e: string) => seen.filter((x) => x['event'] === e) };
};

const broker = (devices: AuditDevice[], store: Store = createMemoryStore({ clock: createFakeClock() })) => {
  const ev = events();
  return {
    ...ev,
    broker: createAuditBroker({
      devices,
      salts: createSaltSource({ store, keys, sealer }),
      clock: createFakeClock(Date.UTC(2026, 0, 2)),
      log: ev.log,
    }),
  };
};

const rejection = async (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (err: unknown) => err,
  );

describe('the audit broker', () => {
  it('audits nothing and waits for nothing with no device', async () => {
    const { broker: b } = broker([]);
    expect(b.enabled).toBe(false);
    await expect(b.logRequest(request)).resolves.toBeUndefined();
    expect(await b.hash('file', 'x')).toBeUndefined();
  });

  it('writes each entry to every device, stamped with the injected clock', async () => {
    const a = sink();
    const c = sink();
    const { broker: b } = broker([device('a', a), device('c', c)]);
    await b.logRequest(request);
    expect(a.lines).toHaveLength(1);
    expect(c.lines).toHaveLength(1);
    expect(JSON.parse(a.lines[0] ?? '{}')).toMatchObject({
      // Go's RFC3339Nano, as Vault's: no fraction on a whole second.
      time: '2026-01-02T00:00:00Z',
      type: 'request',
    });
  });

  it('fails closed when the only device cannot write', async () => {
    const { broker: b, named } = broker([device('a', sink({ fail: true }))]);
    const err = await rejection(b.logRequest(request));
    expect(isAuthgateError(err) && err.status === 503 && err.reason === 'audit_failed').toBe(true);
    expect(isAuthgateError(err) && err.message).toBe('audit device unavailable: the request was not served');
    expect(named('audit.device_failed')).toEqual([
      { event: 'audit.device_failed', device: 'a', type: 'file', reason: 'EACCES: permission denied' },
    ]);
  });

  it('succeeds when one device of two writes', async () => {
    const good = sink();
    const { broker: b } = broker([device('bad', sink({ fail: true })), device('good', good)]);
    await b.logRequest(request);
    expect(good.lines).toHaveLength(1);
  });

  it('gives a slow device a bounded wait, then counts it as failed', async () => {
    const good = sink();
    const { broker: b, named } = broker([device('slow', sink({ hang: true }), 50), device('good', good)]);
    const started = Date.now();
    await b.logRequest(request);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(named('audit.device_failed')[0]).toMatchObject({
      device: 'slow',
      reason: 'no answer within 50 ms',
    });

    const alone = broker([device('slow', sink({ hang: true }), 50)]);
    expect(isAuthgateError(await rejection(alone.broker.logRequest(request)))).toBe(true);
  });

  it('hands a device that never answers a bounded backlog, then nothing more', async () => {
    const hung = sink({ hang: true });
    let handed = 0;
    const counting: AuditSink = { ...hung, write: (json) => ((handed += 1), hung.write(json)) };
    const good = sink();
    const { broker: b } = broker([device('hung', counting, 5), device('good', good)]);
    const wave = (n: number) => Promise.all(Array.from({ length: n }, () => b.logRequest(request)));
    await wave(MAX_UNSETTLED_WRITES);
    expect(handed).toBe(MAX_UNSETTLED_WRITES);
    // Timed out, still held: the hung device is handed nothing more.
    await wave(300);
    expect(handed).toBe(MAX_UNSETTLED_WRITES);
    expect(good.lines).toHaveLength(MAX_UNSETTLED_WRITES + 300);
  });

  it('never refuses a healthy device a burst of writes within its timeout', async () => {
    const lines: string[] = [];
    const later: AuditSink = {
      write: (json) => new Promise<void>((resolve) => setImmediate(() => (lines.push(json), resolve()))),
      reopen: async () => undefined,
      close: async () => undefined,
    };
    const { broker: b } = broker([device('later', later)]);
    const n = MAX_UNSETTLED_WRITES * 2;
    await Promise.all(Array.from({ length: n }, () => b.logRequest(request)));
    expect(lines).toHaveLength(n);
  });

  it('frees the backlog of a device as its writes settle', async () => {
    let release: Array<() => void> = [];
    const lines: string[] = [];
    const slow: AuditSink = {
      write: (json) =>
        new Promise<void>((resolve) => {
          release.push(() => (lines.push(json), resolve()));
        }),
      reopen: async () => undefined,
      close: async () => undefined,
    };
    const { broker: b } = broker([device('slow', slow, 5)]);
    const first = await Promise.all(
      Array.from({ length: MAX_UNSETTLED_WRITES }, () => rejection(b.logRequest(request))),
    );
    expect(first.every((e) => isAuthgateError(e))).toBe(true);
    expect(isAuthgateError(await rejection(b.logRequest(request)))).toBe(true);
    expect(release).toHaveLength(MAX_UNSETTLED_WRITES);
    for (const r of release) r();
    release = [];
    await new Promise((r) => setImmediate(r));
    // The device is handed entries again once its backlog has drained.
    const next = b.logRequest(request);
    while (release.length === 0) await new Promise((r) => setImmediate(r));
    for (const r of release) r();
    await next;
    expect(lines).toHaveLength(MAX_UNSETTLED_WRITES + 1);
  });

  it('refuses an entry that would take a device past its backlog of bytes, not one alone', async () => {
    const counted = () => {
      const hung = sink({ hang: true });
      const c = {
        handed: 0,
        sink: { ...hung, write: (json: string) => ((c.handed += 1), hung.write(json)) },
      };
      return c;
    };
    // The path is written as it is: an entry as large as the path that made it.
    // A fresh object (a spread of `request` would copy the blocks earlier tests cached on it).
    const sized = (bytes: number): AuditRequest => ({
      id: 'r-big',
      operation: 'update',
      path: `secret/data/${'p'.repeat(bytes)}`,
      mount: { point: '', type: '', class: '' },
      clientToken: undefined,
      data: { k: 1 },
      remoteAddress: '10.0.0.1',
      remotePort: 1,
    });
    const a = counted();
    const one = broker([device('hung', a.sink, 5)]).broker;
    for (let i = 0; i < 3; i++) await rejection(one.logRequest(sized(Math.floor(MAX_UNSETTLED_BYTES / 3))));
    expect(a.handed).toBe(2);
    // An entry larger than the bound is still handed to a device with nothing pending.
    const c = counted();
    const two = broker([device('hung', c.sink, 5)]).broker;
    await rejection(two.logRequest(sized(MAX_UNSETTLED_BYTES + 1)));
    expect(c.handed).toBe(1);
  });

  it('logs a failing device once per change of state, never the entry', async () => {
    const flaky = sink({ fail: true });
    const { broker: b, named, seen } = broker([device('flaky', flaky), device('good', sink())]);
    await b.logRequest(request);
    await b.logRequest(request);
    expect(named('audit.device_failed')).toHaveLength(1);
    flaky.mode.fail = false;
    await b.logRequest(request);
    await b.logRequest(request);
    expect(named('audit.device_recovered')).toEqual([
      { event: 'audit.device_recovered', device: 'flaky', type: 'file' },
    ]);
    flaky.mode.fail = true;
    await b.logRequest(request);
    expect(named('audit.device_failed')).toHaveLength(2);
    expect(JSON.stringify(seen)).not.toContain('eyJ');
  });

  it('gives each device its own salt, kept in the store, shared by replicas on one store', async () => {
    const store = createMemoryStore({ clock: createFakeClock() });
    const one = broker([device('file', sink()), device('other', sink())], store).broker;
    const two = broker([device('file', sink())], store).broker;
    const h1 = await one.hash('file', 'ags.token');
    expect(h1).toMatch(/^hmac-sha256:[0-9a-f]{64}$/);
    expect(await two.hash('file', 'ags.token')).toBe(h1);
    expect(await one.hash('other', 'ags.token')).not.toBe(h1);
    expect(await store.get(keys.auditSalt('file'))).toMatch(/^v2\./);
    // A device enabled under a new name gets a new salt.
    const renamed = broker([device('file2', sink())], store).broker;
    expect(await renamed.hash('file2', 'ags.token')).not.toBe(h1);
  });

  it('agrees on one salt when replicas create it at once', async () => {
    const store = createMemoryStore({ clock: createFakeClock() });
    const replicas = Array.from({ length: 5 }, () => broker([device('file', sink())], store).broker);
    const hashes = await Promise.all(replicas.map((r) => r.hash('file', 'v')));
    expect(new Set(hashes).size).toBe(1);
  });

  it('counts a device whose salt cannot be read as failed, and retries the salt later', async () => {
    const store = createMemoryStore({ clock: createFakeClock() });
    let down = true;
    const flaky: Store = {
      ...store,
      get: async (key) => {
        if (down) throw new Error('redis unavailable');
        return store.get(key);
      },
    };
    const s = sink();
    const { broker: b } = broker([device('file', s)], flaky);
    expect(isAuthgateError(await rejection(b.logRequest(request)))).toBe(true);
    down = false;
    await b.logRequest(request);
    expect(s.lines).toHaveLength(1);
  });
});
