import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigSchema } from '../src/config/index.js';

/*
 * docs/configuration.md against the code: every field of the config schema has a row, every row
 * names a field that exists, each row lists the values its field allows, and every AUTHGATE_*
 * variable that src/ reads is there. The fields come from the schema itself, so a field added to
 * it without a row, or a row left behind by a removed field, fails here.
 */

const ROOT = join(import.meta.dirname, '..');
const DOC = readFileSync(join(ROOT, 'docs', 'configuration.md'), 'utf8');

type Schema = {
  type?: string;
  const?: unknown;
  anyOf?: Schema[];
  properties?: Record<string, Schema>;
  patternProperties?: Record<string, Schema>;
  items?: Schema;
};

/** A field of the schema: its path (`*` for any name of a mapping) and its schema. */
type Field = { path: string; schema: Schema };

const isMapping = (s: Schema): boolean => s.patternProperties !== undefined;
const isSection = (s: Schema): boolean => s.properties !== undefined && !isMapping(s);

/**
 * Walks the schema. `fields` are what the reference must document: every value that is not a
 * section of its own, and every entry of a mapping (`auth.*`); `containers` (sections such as
 * `listener`, mappings such as `auth`) may be named but need no row.
 */
const walk = (
  schema: Schema,
  prefix: string,
  out: { fields: Field[]; containers: Set<string> },
): { fields: Field[]; containers: Set<string> } => {
  for (const [key, child] of Object.entries(schema.properties ?? {})) {
    const path = prefix === '' ? key : `${prefix}.${key}`;
    if (isSection(child)) {
      out.containers.add(path);
      walk(child, path, out);
    } else if (isMapping(child)) {
      out.containers.add(path);
      const entry = Object.values(child.patternProperties ?? {})[0] ?? {};
      out.fields.push({ path: `${path}.*`, schema: entry });
      walk(entry, `${path}.*`, out);
    } else {
      out.fields.push({ path, schema: child });
    }
  }
  return out;
};

const { fields: FIELDS, containers: CONTAINERS } = walk(ConfigSchema as unknown as Schema, '', {
  fields: [],
  containers: new Set(),
});
const KNOWN = new Set([...FIELDS.map((f) => f.path), ...CONTAINERS]);

/** The literal values a field allows (`tokenreview`, `jwks`), for a list its items'; none for free values. */
const literals = (s: Schema): string[] => {
  const item = s.type === 'array' && s.items !== undefined ? s.items : s;
  if (typeof item.const === 'string') return [item.const];
  const options = item.anyOf ?? [];
  return options.length > 0 && options.every((o) => typeof o.const === 'string')
    ? options.map((o) => o.const as string)
    : [];
};

/** The keys of the objects a list holds (`host`, `port` of `sentinels`); none for a list of values. */
const itemKeys = (s: Schema): string[] =>
  s.type === 'array' && s.items?.properties !== undefined ? Object.keys(s.items.properties) : [];

/** The tables of each section are relative to its path: `token_ttl` under Roles is `auth.*.roles.*.token_ttl`. */
const SECTION_PREFIXES: Array<[heading: string, prefix: string]> = [
  ['Top level', ''],
  ['Auth mounts', 'auth.*.'],
  ['Roles', 'auth.*.roles.*.'],
  ['Policies', 'policies.*.'],
  ['Secrets', 'secrets.'],
  ['Identity tokens', 'identity.'],
  ['Audit devices', 'audit.*.'],
];

/** `a.{b,c}` → `a.b`, `a.c`; `<mount>` → `*`. */
const expand = (span: string): string[] => {
  const brace = /^(.*)\{([^}]+)\}(.*)$/.exec(span);
  const spans = brace ? (brace[2] ?? '').split(',').map((p) => `${brace[1]}${p.trim()}${brace[3]}`) : [span];
  return spans.map((s) => s.replace(/<[^>]+>/g, '*'));
};

const codeSpans = (text: string): string[] => [...text.matchAll(/`([^`]+)`/g)].map((m) => m[1] ?? '');

/** Each table row of the mapped sections: the fields its first cell names, and the whole row. */
const documentedRows = (): Array<{ heading: string; paths: string[]; row: string }> => {
  const rows: Array<{ heading: string; paths: string[]; row: string }> = [];
  let prefix: string | undefined;
  let heading = '';
  const lines = DOC.split('\n');
  lines.forEach((line, i) => {
    if (line.startsWith('## ')) {
      heading = line.slice(3);
      prefix = SECTION_PREFIXES.find(([h]) => heading.startsWith(h))?.[1];
      return;
    }
    if (prefix === undefined || !line.startsWith('|') || /^\|\s*-/.test(line)) return;
    // A table's header is the row above its `| --- |` line.
    if (/^\|\s*-/.test(lines[i + 1] ?? '')) return;
    const firstCell = line.split(/(?<!\\)\|/)[1] ?? '';
    const paths = codeSpans(firstCell)
      .flatMap(expand)
      .map((p) => `${prefix}${p}`);
    rows.push({ heading, paths, row: line });
  });
  return rows;
};

/** Every `AUTHGATE_*` variable named in the sources under `dir` (tests left out). */
const variablesIn = (dir: string): Set<string> => {
  const found = new Set<string>();
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.ts') || entry.name.endsWith('.test.ts')) continue;
    const text = readFileSync(join(entry.parentPath, entry.name), 'utf8');
    for (const m of text.matchAll(/\bAUTHGATE_[A-Z0-9_]*[A-Z0-9]\b/g)) found.add(m[0]);
  }
  return found;
};

describe('docs/configuration.md', () => {
  const rows = documentedRows();
  const documented = new Map(rows.flatMap((r) => r.paths.map((p) => [p, r] as const)));

  it('finds the schema and the tables it compares', () => {
    expect(FIELDS.length).toBeGreaterThan(80);
    expect(new Set(rows.map((r) => r.heading)).size).toBe(SECTION_PREFIXES.length);
  });

  it.each(FIELDS.map((f) => [f.path, f] as const))('documents %s', (path) => {
    expect(documented.has(path), `no row of docs/configuration.md names ${path}`).toBe(true);
  });

  it('names in its tables only fields the schema has', () => {
    const unknown = rows.flatMap((r) =>
      r.paths.filter((p) => !KNOWN.has(p)).map((p) => `${p} (${r.heading})`),
    );
    expect(unknown).toEqual([]);
  });

  it('names in its text only fields the schema has', () => {
    const tops = Object.keys((ConfigSchema as unknown as Schema).properties ?? {}).join('|');
    const fieldLike = new RegExp(`^(${tops})\\.[\\w.<>{},]+$`);
    const unknown = codeSpans(DOC)
      .filter((s) => fieldLike.test(s))
      .flatMap(expand)
      .filter((p) => !KNOWN.has(p));
    expect(unknown).toEqual([]);
  });

  it('names in each row the values its field allows and the keys of the objects its list holds', () => {
    const missing = FIELDS.flatMap((f) => {
      const row = documented.get(f.path)?.row ?? '';
      return [...literals(f.schema), ...itemKeys(f.schema)]
        .filter((word) => !new RegExp(`\\b${word}\\b`).test(row))
        .map((word) => `${f.path}: ${word}`);
    });
    expect(missing).toEqual([]);
  });

  it.each([...variablesIn(join(ROOT, 'src'))])('documents the variable %s', (variable) => {
    expect(DOC).toMatch(new RegExp(`\\b${variable}\\b`));
  });
});
