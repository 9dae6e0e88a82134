import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

/*
 * docs/log-events.md against the code: its tables name every event that src/ writes (the
 * `event: '<name>'` literals of the sources, tests left out), and no event that src/ no longer
 * writes. An event added, renamed or removed in the code without the catalogue following fails
 * here.
 */

const ROOT = join(import.meta.dirname, '..');
const DOC = readFileSync(join(ROOT, 'docs', 'log-events.md'), 'utf8');

const LEVELS = ['debug', 'info', 'warn', 'error'];

/**
 * The events of the sources, each with the levels it is written at: each `event: '<name>'` of a
 * file of src/ that is not a test, and the `.<level>(` call that opens nearest before it.
 */
const written = (): Map<string, Set<string>> => {
  const found = new Map<string, Set<string>>();
  for (const entry of readdirSync(join(ROOT, 'src'), { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.ts') || entry.name.endsWith('.test.ts')) continue;
    const text = readFileSync(join(entry.parentPath, entry.name), 'utf8');
    for (const m of text.matchAll(/\bevent: '([^']+)'/g)) {
      const before = text.slice(Math.max(0, m.index - 300), m.index);
      const calls = [...before.matchAll(/\.(debug|info|warn|error)\(/g)];
      const levels = found.get(m[1] ?? '') ?? new Set<string>();
      levels.add(calls.at(-1)?.[1] ?? 'unknown');
      found.set(m[1] ?? '', levels);
    }
  }
  return found;
};

/** The rows of the catalogue's tables: the event (first cell) and its levels (second cell). */
const catalogued = (): Array<{ name: string; levels: string[] }> =>
  [...DOC.matchAll(/^\| `([^`]+)` \| ([^|]+) \|/gm)].map((m) => ({
    name: m[1] ?? '',
    levels: (m[2] ?? '').split(',').map((l) => l.trim()),
  }));

describe('docs/log-events.md', () => {
  const code = written();
  const rows = catalogued();
  const doc = rows.map((r) => r.name);

  it('finds the events it compares', () => {
    expect(code.size).toBeGreaterThan(50);
    expect(code.get('login.denied')).toEqual(new Set(['warn']));
    expect(code.get('http.list_failed')).toEqual(new Set(['debug', 'warn']));
    expect(doc.length).toBeGreaterThan(50);
  });

  it('lists each event once', () => {
    expect(doc.filter((name, i) => doc.indexOf(name) !== i)).toEqual([]);
  });

  it('lists every event that src/ writes', () => {
    expect([...code.keys()].filter((name) => !doc.includes(name)).sort(), 'written, not listed').toEqual([]);
  });

  it('lists no event that src/ does not write', () => {
    expect(
      doc.filter((name) => !code.has(name)),
      'listed, not written',
    ).toEqual([]);
  });

  it('gives each event the levels src/ writes it at', () => {
    const wrong = rows
      .filter(({ name }) => code.has(name))
      .filter(({ name, levels }) => {
        const actual = [...(code.get(name) ?? [])].sort();
        return levels.some((l) => !LEVELS.includes(l)) || [...levels].sort().join() !== actual.join();
      })
      .map(
        ({ name, levels }) =>
          `${name}: listed ${levels.join(', ')}, written ${[...(code.get(name) ?? [])].join(', ')}`,
      );
    expect(wrong).toEqual([]);
  });
});
