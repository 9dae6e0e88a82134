import fc from 'fast-check';
import { stringify } from 'yaml';
import { FILE_NAMES } from './fuzz-config-docs.js';

/*
 * Generated authgate.yaml files for test/config-fuzz.test.ts: valid documents (the ones the
 * tests and deploy/ use), mutated structurally (a key deleted, renamed or doubled in another
 * case; a value of the wrong type, out of range, or one only YAML can write: tags, aliases,
 * .inf) and textually (BOM, tabs, CRLF, more documents, an alias bomb, a cut or a stray byte).
 */

export type Path = Array<string | number>;

/** Every path in `doc` (the root excluded), containers and leaves. */
export const pathsOf = (doc: unknown, at: Path = []): Path[] => {
  if (typeof doc !== 'object' || doc === null) return [];
  const entries: Array<[string | number, unknown]> = Array.isArray(doc)
    ? doc.map((v, i) => [i, v])
    : Object.entries(doc);
  return entries.flatMap(([k, v]) => [[...at, k], ...pathsOf(v, [...at, k])]);
};

/** The kind of a plain value, as YAML sees it. */
export const kindOf = (v: unknown): string =>
  v === null ? 'null' : Array.isArray(v) ? 'list' : typeof v === 'object' ? 'map' : typeof v;

/**
 * Values written into the document as YAML text, not as data: placeholders `__RAW_<i>__` are
 * replaced by these once the document is rendered, so that tags, aliases and numbers JSON has
 * no way to write reach the loader.
 */
export const RAW_YAML = [
  ...['.inf', '-.inf', '.nan', '1e309', '-1e309', '123456789012345678901234567890', '0x1F90', '0o17', '-0'],
  ...[
    '!!binary aGVsbG8=',
    '!!timestamp 2001-12-14',
    '!!omap [{port: 1}]',
    '!!set {a, b}',
    '!!pairs [{a: 1}]',
  ],
  ...['!!js/function "function () {}"', '!foo bar', '!!str 8200', '!!int "12"', '!!float 1', '!!null ""'],
  ...['*nowhere', '&a 1', '[*x]', '"\\e[31mred\\e[0m"', '"\\0"', '"\\u202e"', '~', "''", '{}', '[]'],
] as const;

/** Values of every type, ranges and durations, and odd strings, as data. */
const WRONG_VALUE: fc.Arbitrary<unknown> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.constantFrom<unknown>(
      ...[null, true, false, 0, -1, 1.5, 65536, 2 ** 53, 1e21, Number.MAX_SAFE_INTEGER],
      ...['', ' ', '1x', '-5s', '9999999999h', '99999999999999999999h', '1.5h', '500ms', '0', 'NaN'],
      ...['Infinity', '1e309', '-1', 'true', 'null', 'kubernetes', 'root', '*', '10.0.0.0/33', '\t'],
      ...['http://10.0.0.1', 'https://h\u0000', 'redis://:pw@', 'javascript:alert(1)', '../../etc/passwd'],
      ...[[], {}, [null], ['*', 'x'], [1, 2], { a: 1 }, { type: 'kubernetes' }, [{}]],
    ),
  },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 12 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 6 }) },
  { weight: 1, arbitrary: fc.integer({ min: 1000, max: 100_000 }).map((n) => 'x'.repeat(n)) },
  { weight: 1, arbitrary: fc.integer() },
  { weight: 1, arbitrary: fc.double() },
);

/** Names for keys: known fields elsewhere, names JavaScript treats specially, odd text. */
const KEY = fc.oneof(
  fc.constantFrom(
    ...['type', 'roles', 'audience', 'port', 'path', 'url', 'kv', 'default', 'unknown_field'],
    ...['__proto__', 'constructor', 'toString', 'hasOwnProperty', '', ' ', '<<', '~', 'a.b', 'a/b'],
    ...['\u0000', '\u001b[31m', '\u202e', 'é', '日本', 'x'.repeat(300)],
  ),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 10 }),
);

/** One change to a document, at `target` (an index into its paths, taken modulo their number). */
export type Mutation =
  | { op: 'delete'; target: number }
  | { op: 'set'; target: number; value: unknown }
  | { op: 'raw'; target: number; raw: number }
  | { op: 'file'; target: number; name: string }
  | { op: 'add-key'; target: number; key: string; value: unknown }
  | { op: 'rename'; target: number; key: string }
  | { op: 'case-twin'; target: number };

export const MUTATION: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('delete' as const), target: fc.nat() }),
  {
    weight: 3,
    arbitrary: fc.record({ op: fc.constant('set' as const), target: fc.nat(), value: WRONG_VALUE }),
  },
  fc.record({ op: fc.constant('raw' as const), target: fc.nat(), raw: fc.nat({ max: RAW_YAML.length - 1 }) }),
  fc.record({ op: fc.constant('file' as const), target: fc.nat(), name: fc.constantFrom(...FILE_NAMES) }),
  fc.record({ op: fc.constant('add-key' as const), target: fc.nat(), key: KEY, value: WRONG_VALUE }),
  fc.record({ op: fc.constant('rename' as const), target: fc.nat(), key: KEY }),
  fc.record({ op: fc.constant('case-twin' as const), target: fc.nat() }),
);

const clone = <T>(v: T): T => structuredClone(v);

/** The container at `path` (without its last key) in `doc`. */
const parentOf = (doc: unknown, path: Path): Record<string | number, unknown> =>
  path
    .slice(0, -1)
    .reduce<unknown>((node, k) => (node as Record<string | number, unknown>)[k], doc) as Record<
    string | number,
    unknown
  >;

/**
 * Applies `m` to a copy of `doc`. Returns the copy, the path it changed (a file field pointed
 * elsewhere only when the path names a `*_file` or `policy_dir`), and the raw YAML to put in
 * place of each placeholder.
 */
export const mutate = (
  doc: Record<string, unknown>,
  m: Mutation,
  raws: string[],
): { doc: Record<string, unknown>; path: Path } => {
  // Through JSON, not structuredClone: that keeps values shared between roles shared.
  const out = JSON.parse(JSON.stringify(doc)) as Record<string, unknown>;
  const paths = pathsOf(out);
  const path = paths[m.target % paths.length] ?? ['auth'];
  const parent = parentOf(out, path);
  const key = path[path.length - 1] as string | number;
  const own = (k: string, v: unknown) =>
    Object.defineProperty(parent, k, { value: v, enumerable: true, writable: true, configurable: true });
  switch (m.op) {
    case 'delete':
      if (Array.isArray(parent)) parent.splice(key as number, 1);
      else delete parent[key];
      break;
    case 'set':
      parent[key] = clone(m.value);
      break;
    case 'raw':
      raws.push(RAW_YAML[m.raw] ?? '~');
      parent[key] = `__RAW_${raws.length - 1}__`;
      break;
    case 'file':
      if (typeof key === 'string' && /(_file|^policy_dir|^path)$/.test(key)) parent[key] = m.name;
      else parent[key] = m.name === '' ? null : m.name;
      break;
    case 'add-key': {
      const target = parent[key];
      if (typeof target === 'object' && target !== null && !Array.isArray(target)) {
        Object.defineProperty(target, m.key, { value: clone(m.value), enumerable: true, writable: true });
        return { doc: out, path: [...path, m.key] };
      }
      parent[key] = { [m.key]: clone(m.value) };
      break;
    }
    case 'rename':
      if (!Array.isArray(parent) && typeof key === 'string' && !(m.key in parent && m.key !== key)) {
        const value = parent[key];
        delete parent[key];
        own(m.key, value);
        return { doc: out, path: [...path.slice(0, -1), m.key] };
      }
      parent[key] = m.key;
      break;
    case 'case-twin':
      if (!Array.isArray(parent) && typeof key === 'string' && key.toUpperCase() !== key) {
        own(key.toUpperCase(), clone(parent[key]));
        return { doc: out, path: [...path.slice(0, -1), key.toUpperCase()] };
      }
      parent[key] = typeof parent[key] === 'string' ? (parent[key] as string).toUpperCase() : null;
      break;
  }
  return { doc: out, path };
};

/** Changes to the text of a rendered document. */
export type TextChange =
  | { op: 'none' }
  | { op: 'bom' | 'crlf' | 'tabs' | 'second-document' | 'alias-bomb' | 'list' | 'scalar' | 'empty' }
  | { op: 'cut'; at: number }
  | { op: 'insert'; at: number; text: string };

export const TEXT_CHANGE: fc.Arbitrary<TextChange> = fc.oneof(
  { weight: 6, arbitrary: fc.constant({ op: 'none' as const }) },
  fc.constantFrom(
    ...(['bom', 'crlf', 'tabs', 'second-document', 'alias-bomb', 'list', 'scalar', 'empty'] as const).map(
      (op) => ({ op }),
    ),
  ),
  fc.record({ op: fc.constant('cut' as const), at: fc.nat() }),
  fc.record({
    op: fc.constant('insert' as const),
    at: fc.nat(),
    text: fc.oneof(
      fc.constantFrom(
        ':',
        '- ',
        '\t',
        '"',
        "'",
        '&',
        '*',
        '!',
        '|',
        '>',
        '{',
        '[',
        '\n  ',
        '#',
        '%',
        '@',
        '\u0000',
        '\ufeff',
      ),
      fc.string({ unit: 'binary', maxLength: 4 }),
    ),
  }),
);

/** Nine levels of nine aliases each: 9^9 strings if the loader expanded them. */
export const ALIAS_BOMB = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
  .concat(
    'bcdefghi'.split('').map((c, i) => `${c}: &${c} [${Array(9).fill(`*${'abcdefghi'[i]}`).join(',')}]`),
  )
  .join('\n');

/** The document's text: YAML (block style) or JSON, placeholders filled, then `change` applied. */
export const render = (doc: unknown, raws: string[], json: boolean, change: TextChange): string => {
  let text = json ? JSON.stringify(doc, null, 2) : stringify(doc, { lineWidth: 0 });
  raws.forEach((raw, i) => {
    text = text.replace(json ? `"__RAW_${i}__"` : `__RAW_${i}__`, () => raw);
  });
  switch (change.op) {
    case 'none':
      return text;
    case 'bom':
      return `\ufeff${text}`;
    case 'crlf':
      return text.replace(/\n/g, '\r\n');
    case 'tabs':
      return text.replace(/^ {2}/gm, '\t');
    case 'second-document':
      return `${text}\n---\n${text}`;
    case 'alias-bomb':
      return `${ALIAS_BOMB}\n${text}`;
    case 'list':
      return `- ${text.replace(/\n/g, '\n  ')}`;
    case 'scalar':
      return JSON.stringify(text);
    case 'empty':
      return '';
    case 'cut':
      return text.slice(0, change.at % (text.length + 1));
    case 'insert': {
      const at = change.at % (text.length + 1);
      return text.slice(0, at) + change.text + text.slice(at);
    }
  }
};
