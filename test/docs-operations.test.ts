import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SHUTDOWN_GRACE_MS } from '../src/cli/server.js';
import { createRedisStore } from '../src/store/index.js';
import { createLogger } from '../src/telemetry/index.js';
import { startHarness, type Harness, type HarnessOptions } from './helpers/harness.js';
import { freePort } from './helpers/redis-server.js';

/*
 * docs/operations.md against the code: the metrics its table names are the ones /metrics serves
 * (none missing, none extra), the log events it names are ones the code logs, and the shutdown
 * bound it gives is the one the server applies.
 */

const ROOT = join(import.meta.dirname, '..');
const DOC = readFileSync(join(ROOT, 'docs', 'operations.md'), 'utf8');

const section = (heading: string): string => {
  const start = DOC.indexOf(`\n## ${heading}\n`);
  if (start < 0) throw new Error(`docs/operations.md has no section "${heading}"`);
  const end = DOC.indexOf('\n## ', start + 1);
  return DOC.slice(start, end < 0 ? undefined : end);
};

/**
 * The metric names of the table's first column. A name written `…_suffix` shares the previous
 * name's first two segments (`nodejs_eventloop_delay_max`, `…_p99`): it is matched as a pattern.
 */
const documentedMetrics = (): RegExp[] => {
  const patterns: RegExp[] = [];
  for (const line of section('Metrics and traces').split('\n')) {
    if (!/^\| `/.test(line)) continue;
    let previous = '';
    for (const [, name] of (line.split('|')[1] ?? '').matchAll(/`([^`]+)`/g)) {
      if (name === undefined) continue;
      if (name.startsWith('…')) {
        const stem = previous.split('_').slice(0, 2).join('_');
        patterns.push(new RegExp(`^${stem}_(?:\\w+_)?${name.slice(1).replace(/^_/, '')}$`));
      } else {
        patterns.push(new RegExp(`^${name}$`));
        previous = name;
      }
    }
  }
  return patterns;
};

const served = async (h: Harness): Promise<string[]> => {
  const res = await h.server.app.inject({ method: 'GET', url: '/metrics' });
  return res.body
    .split('\n')
    .filter((l) => l.startsWith('# TYPE '))
    .map((l) => l.split(' ')[2] ?? '');
};

describe('docs/operations.md', () => {
  const dir = mkdtempSync(join(tmpdir(), 'authgate-docs-ops-'));
  const harnesses: Harness[] = [];
  afterAll(async () => {
    for (const h of harnesses) await h.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const start = async (options: HarnessOptions) => {
    const h = await startHarness(options);
    harnesses.push(h);
    return h;
  };

  it('names in its metrics table exactly the metrics /metrics serves', async () => {
    // What a running gateway serves: a login on the memory store (the live-token gauge is
    // its own) with a TLS listener (its certificate's end); a request while the store is down;
    // an audit device that cannot write.
    const memory = await start({ listenerCertificateExpiry: () => 1_800_000_000 });
    await memory.login('kubernetes', { role: 'nginx', jwt: await memory.podToken() });
    const downStore = createRedisStore(
      { url: `redis://127.0.0.1:${await freePort()}`, commandTimeoutMs: 500, connectTimeoutMs: 500 },
      { log: createLogger('silent') },
    );
    const down = await start({ store: downStore, audit: null });
    // A token of the right shape: a malformed one is refused before the store is asked.
    const lookup = await down.server.app.inject({
      method: 'GET',
      url: '/v1/auth/token/lookup-self',
      headers: { 'x-vault-token': `ags.${'A'.repeat(43)}` },
    });
    expect(lookup.statusCode).toBe(503);
    const broken = await start({ audit: { broken: { type: 'file', path: dir } } });
    await broken.login('kubernetes', { role: 'nginx', jwt: await broken.podToken() });
    // The runtime metrics are observed on a timer: give them one tick.
    await new Promise((r) => setTimeout(r, 100));

    const names = new Set([...(await served(memory)), ...(await served(down)), ...(await served(broken))]);
    const documented = documentedMetrics();
    expect(documented.length).toBeGreaterThan(15);
    expect(
      [...names].filter((n) => !documented.some((p) => p.test(n))),
      'served, not documented',
    ).toEqual([]);
    expect(
      documented.filter((p) => ![...names].some((n) => p.test(n))).map(String),
      'documented, not served',
    ).toEqual([]);
  });

  it('names only log events that the code logs', () => {
    const logged = new Set<string>();
    const walk = (d: string): void => {
      for (const e of readdirSync(d, { withFileTypes: true })) {
        const p = join(d, e.name);
        if (e.isDirectory()) walk(p);
        else if (e.name.endsWith('.ts') && !e.name.endsWith('.test.ts'))
          for (const [, name] of readFileSync(p, 'utf8').matchAll(/event: '([a-z_]+\.[a-z_.]+)'/g))
            logged.add(name ?? '');
      }
    };
    walk(join(ROOT, 'src'));
    // Spans (`audit.request`, `jwks.fetch`) and config fields (`tokenreview.timeout`) are dotted
    // too: an event is a dotted name in a sentence about the log.
    const named = [
      ...DOC.matchAll(/`((?:server|store|health|policies|policy|audit|login|cache|config)\.[a-z_]+)`/g),
    ]
      .map((m) => m[1] ?? '')
      .filter((n) => !['audit.request', 'audit.response'].includes(n));
    expect(named).toContain('server.signal_ignored');
    expect(named.filter((n) => !logged.has(n))).toEqual([]);
  });

  it('gives the drain bound that the server applies', () => {
    expect(section('Signals and shutdown')).toContain(
      `requests still running ${SHUTDOWN_GRACE_MS / 1000} s after`,
    );
  });
});
