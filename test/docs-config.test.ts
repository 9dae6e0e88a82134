import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ConfigSchema } from '../src/config/index.js';
import { configDoc, mountDoc, parseDoc } from '../src/config/test-support.js';

/*
 * docs/configuration.md against the code: every field of the config schema has a row, every row
 * names a field that exists, each row lists the values its field allows, gives the type the
 * schema takes and a default the loader applies, and every AUTHGATE_* variable that src/ reads
 * is there. The fields come from the schema itself, so a field added to it without a row, or a
 * row left behind by a removed field, fails here.
 */

const ROOT = join(import.meta.dirname, '..');
const DOC = readFileSync(join(ROOT, 'docs', 'configuration.md'), 'utf8');

type Schema = {
  type?: string;
  const?: unknown;
  anyOf?: Schema[];
  /** Each kind of auth mount (Ajv's discriminator on `type`). */
  oneOf?: Schema[];
  properties?: Record<string, Schema>;
  patternProperties?: Record<string, Schema>;
  items?: Schema;
};

/**
 * A field of the schema: its path (`*` for any name of a mapping), its schema, and the kind of
 * auth mount it belongs to (`jwt` for a jwt mount's fields, `''` for everything else).
 */
type Field = { path: string; schema: Schema; variant: string };
/** The key a field and a row are matched by: the path, with the kind of mount for a jwt mount's. */
const keyOf = (variant: string, path: string): string => (variant === '' ? path : `${variant}:${path}`);

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
  variant = '',
): { fields: Field[]; containers: Set<string> } => {
  // An auth mount is one of its kinds: each kind's fields, a jwt mount's apart.
  for (const branch of schema.oneOf ?? [])
    walk(branch, prefix, out, branch.properties?.['type']?.const === 'jwt' ? 'jwt' : variant);
  for (const [key, child] of Object.entries(schema.properties ?? {})) {
    const path = prefix === '' ? key : `${prefix}.${key}`;
    if (isSection(child)) {
      out.containers.add(path);
      walk(child, path, out, variant);
    } else if (isMapping(child)) {
      out.containers.add(path);
      const entry = Object.values(child.patternProperties ?? {})[0] ?? {};
      out.fields.push({ path: `${path}.*`, schema: entry, variant });
      walk(entry, `${path}.*`, out, variant);
    } else {
      out.fields.push({ path, schema: child, variant });
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

/**
 * The tables of each section are relative to its path: `token_ttl` under Roles is
 * `auth.*.roles.*.token_ttl`; the JWT sections' rows are a jwt mount's fields.
 */
const SECTION_PREFIXES: Array<[heading: string, prefix: string, variant?: string]> = [
  ['Top level', ''],
  ['Auth mounts', 'auth.*.'],
  ['Roles', 'auth.*.roles.*.'],
  ['JWT auth mounts', 'auth.*.', 'jwt'],
  ['JWT roles', 'auth.*.roles.*.', 'jwt'],
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

/**
 * A row of a field table: the fields its first cell names, its second cell, the whole row, and
 * the kind of mount its table is of (`''` but for the JWT sections).
 */
type Row = { heading: string; paths: string[]; typeCell: string; row: string; variant: string };

/** Each table row of the mapped sections. */
const documentedRows = (): Row[] => {
  const rows: Row[] = [];
  let prefix: string | undefined;
  let variant = '';
  let heading = '';
  const lines = DOC.split('\n');
  lines.forEach((line, i) => {
    if (line.startsWith('## ')) {
      heading = line.slice(3);
      const section = SECTION_PREFIXES.find(([h]) => heading.startsWith(h));
      prefix = section?.[1];
      variant = section?.[2] ?? '';
      return;
    }
    if (prefix === undefined || !line.startsWith('|') || /^\|\s*-/.test(line)) return;
    // A table's header is the row above its `| --- |` line.
    if (/^\|\s*-/.test(lines[i + 1] ?? '')) return;
    const [, firstCell = '', typeCell = ''] = line.split(/(?<!\\)\|/);
    const paths = codeSpans(firstCell)
      .flatMap(expand)
      .map((p) => `${prefix}${p}`);
    rows.push({ heading, paths, typeCell: typeCell.trim(), row: line, variant });
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

/**
 * The parts of a row's "type, default" cell, split at the commas outside code spans: the type,
 * then the defaults (`durations, \`1s\`, \`2s\``: one a field the row names).
 */
const typeAndDefaults = (cell: string): { type: string; defaults: string[] } => {
  const parts: string[] = [];
  let current = '';
  let inCode = false;
  for (const ch of cell) {
    if (ch === '`') inCode = !inCode;
    if (ch === ',' && !inCode) {
      parts.push(current.trim());
      current = '';
    } else current += ch;
  }
  parts.push(current.trim());
  const [type = '', ...rest] = parts;
  // Only a default written as a code span is a value (`none`, `required`, `the mount's CA` are words).
  const defaults = rest.flatMap((d) => {
    const m = /^`([^`]*)`/.exec(d);
    return m ? [m[1] ?? ''] : [];
  });
  return { type, defaults };
};

/** What a field's schema takes, in the words of the docs' type column. */
const schemaKind = (s: Schema): string => {
  const options = s.anyOf ?? [];
  if (s.const !== undefined || (options.length > 0 && options.every((o) => o.const !== undefined)))
    return 'one of its values';
  if (options.length > 0)
    return options.map(schemaKind).sort().join(' or ') === 'integer or string' ? 'duration' : 'union';
  return s.type ?? 'unknown';
};

/** What the docs' type column says a field takes (`durations` → duration, `list of CIDRs` → array). */
const documentedKind = (type: string): string => {
  const kinds: Array<[RegExp, string]> = [
    [/^`/, 'one of its values'],
    [/^durations?\b/, 'duration'],
    [/^integer\b/, 'integer'],
    [/^bool\b/, 'boolean'],
    [/^list\b/, 'array'],
    [/^mapping or string\b/, 'union'],
    [/^scalar or list\b/, 'union'],
    [/^mapping\b/, 'object'],
    [/^(string|paths?|URL|PEM|key name|exactly one)\b/, 'string'],
  ];
  return kinds.find(([re]) => re.test(type))?.[1] ?? `unknown (${type})`;
};

/** A documented default as YAML reads it, except a bare word YAML would take for a mapping (`ag:`). */
const yamlValue = (text: string): unknown => {
  const value: unknown = parse(text);
  return typeof value === 'object' && value !== null && !/^[[{]/.test(text) ? text : value;
};

const KEY_DIR = mkdtempSync(join(tmpdir(), 'authgate-docs-config-'));
writeFileSync(join(KEY_DIR, 'server-key'), 'k'.repeat(40));

/**
 * A valid document in which the field at `path` applies: a jwks mount for `jwks.*`, a Redis store
 * (Sentinel for `sentinel_*`) for `store.redis.*`, a redis audit device for `max_len`, a file
 * device for the others, an identity role `payments`.
 */
const documentFor = (path: string, variant = ''): Record<string, unknown> => {
  const jwks = path.startsWith('auth.*.jwks.');
  const doc = configDoc({
    auth: {
      kubernetes:
        variant === 'jwt'
          ? {
              type: 'jwt',
              jwks_url: 'https://issuer.example/keys',
              roles: { nginx: { user_claim: 'sub', bound_subject: 'system:serviceaccount:test:nginx' } },
            }
          : jwks
            ? mountDoc({
                verification: 'jwks',
                jwks: { url: 'https://issuer.example/keys' },
                issuers: ['https://issuer.example'],
              })
            : mountDoc(),
    },
    identity: { roles: { payments: { audience: 'payments-api' } } },
  });
  if (path === 'store.key_prefix') doc['store'] = { type: 'memory' };
  if (path.startsWith('store.redis.')) {
    doc['server_key_file'] = join(KEY_DIR, 'server-key');
    doc['store'] = {
      type: 'redis',
      redis: path.startsWith('store.redis.sentinel_')
        ? { sentinels: [{ host: 'sentinel', port: 26379 }] }
        : { url: 'redis://redis:6379' },
    };
    // A field used only with another: the confirmation's timeout with replicas to confirm.
    if (path === 'store.redis.confirm_timeout')
      (doc['store'] as { redis: Record<string, unknown> }).redis['confirm_replicas'] = 1;
  }
  // A field used only with another: the rate limit's interval with its rate.
  if (path === 'listener.login_rate_limit.interval') doc['listener'] = { login_rate_limit: { rate: 5 } };
  if (path.startsWith('audit.*.'))
    doc['audit'] = {
      dev: path.endsWith('.max_len') ? { type: 'redis' } : { type: 'file', path: '/tmp/audit.log' },
    };
  return doc;
};

/** The names `documentFor` gives the entries of each mapping. */
const ENTRY_NAMES: Record<string, string> = {
  auth: 'kubernetes',
  'auth.*.roles': 'nginx',
  audit: 'dev',
  'identity.keys': 'default',
  'identity.roles': 'payments',
  'secrets.kv': 'secret',
};

/** `doc` with `value` at `path`; a mapping entry's default (`secrets.kv.<mount>`) is the mapping's. */
const withValue = (doc: Record<string, unknown>, path: string, value: unknown): Record<string, unknown> => {
  const parts = path.endsWith('.*') ? path.slice(0, -2).split('.') : path.split('.');
  let node = doc;
  parts.forEach((part, i) => {
    const key = part === '*' ? (ENTRY_NAMES[parts.slice(0, i).join('.')] ?? part) : part;
    if (i === parts.length - 1) node[key] = value;
    else node = (node[key] ??= {}) as Record<string, unknown>;
  });
  return doc;
};

/**
 * The normalized config as plain data (its maps, the mounts among them, as objects), without what
 * records that a field was written at all: a mount's lease TTLs as `vault auth list` shows them,
 * `0` when left out (the docs' row says so), and a jwt role's leeways as a role read echoes them.
 */
const normalized = (doc: Record<string, unknown>): unknown =>
  JSON.parse(
    JSON.stringify(parseDoc(doc), (key, v: unknown) => {
      if (key === 'tunedDefaultLeaseTtlSeconds' || key === 'tunedMaxLeaseTtlSeconds') return undefined;
      // A jwt role's leeways as written, which a role read echoes (0 when left out).
      if (key === 'leewaysAsSet') return undefined;
      if (v instanceof Map) return Object.fromEntries(v);
      return v instanceof Set ? [...v] : v;
    }),
  );

describe('docs/configuration.md', () => {
  const rows = documentedRows();
  const documented = new Map(rows.flatMap((r) => r.paths.map((p) => [keyOf(r.variant, p), r] as const)));
  const schemas = new Map(FIELDS.map((f) => [keyOf(f.variant, f.path), f.schema]));
  /**
   * The row of a field: its own kind's; for a jwt mount's field that a kubernetes mount has too,
   * with the same schema (`description`, the `token_*` fields), the kubernetes mount's row.
   */
  const rowOf = (f: Field): Row | undefined =>
    documented.get(keyOf(f.variant, f.path)) ??
    (f.variant !== '' && isDeepStrictEqual(schemas.get(f.path), f.schema)
      ? documented.get(f.path)
      : undefined);

  it('finds the schema and the tables it compares', () => {
    expect(FIELDS.length).toBeGreaterThan(80);
    expect(new Set(rows.map((r) => r.heading)).size).toBe(SECTION_PREFIXES.length);
  });

  it.each(FIELDS.map((f) => [keyOf(f.variant, f.path), f] as const))('documents %s', (key, f) => {
    expect(rowOf(f), `no row of docs/configuration.md names ${key}`).toBeDefined();
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
      const row = rowOf(f)?.row ?? '';
      return [...literals(f.schema), ...itemKeys(f.schema)]
        .filter((word) => !new RegExp(`\\b${word}\\b`).test(row))
        .map((word) => `${f.path}: ${word}`);
    });
    expect(missing).toEqual([]);
  });

  it('gives each field the type the schema takes', () => {
    const wrong = rows.flatMap((r) =>
      r.paths.flatMap((p) => {
        const schema = schemas.get(keyOf(r.variant, p));
        if (schema === undefined) return []; // a section (`identity`): no type of its own
        const documented = documentedKind(typeAndDefaults(r.typeCell).type);
        return documented === schemaKind(schema)
          ? []
          : [`${p}: "${r.typeCell}" but the schema takes ${schemaKind(schema)}`];
      }),
    );
    expect(wrong).toEqual([]);
  });

  const defaults = rows.flatMap((r) => {
    const { defaults: values } = typeAndDefaults(r.typeCell);
    return values.length === 0
      ? []
      : r.paths.map(
          (p, i) => [keyOf(r.variant, p), values[values.length === 1 ? 0 : i] ?? '', p, r.variant] as const,
        );
  });

  it('finds the defaults it checks', () => {
    expect(defaults.length).toBeGreaterThan(40);
  });

  it.each(defaults)('gives %s the default the loader applies (%s)', (_key, value, path, variant) => {
    const doc = documentFor(path, variant);
    expect(normalized(withValue(documentFor(path, variant), path, yamlValue(value)))).toEqual(
      normalized(doc),
    );
  });

  it.each([...variablesIn(join(ROOT, 'src'))])('documents the variable %s', (variable) => {
    expect(DOC).toMatch(new RegExp(`\\b${variable}\\b`));
  });
});
