import { Document, LineCounter, parseDocument, visit } from 'yaml';
import { MAX_YAML_DEPTH, yamlTooDeepAt } from '../lib/yaml-depth.js';
import type { ConfigProblem } from './load.js';
import { lineOfPath, pathAtOffset } from './yaml-lines.js';

/** A config file read as YAML: its plain value, and the document and lines to place problems with. */
export type YamlConfig = { value: unknown; doc: Document; lineCounter: LineCounter };

/** Clearer words for the parser's errors an operator can make by accident. */
const ERROR_MESSAGES: Partial<Record<string, string>> = {
  MULTIPLE_DOCS: 'the file holds more than one YAML document (a line ---); it must hold one',
  RESOURCE_EXHAUSTION: 'the document is nested too deeply to be read',
};

/** Names of what the YAML 1.1 tags the library still resolves (`!!omap`, `!!set`…) turn into. */
const NOT_PLAIN: ReadonlyArray<[(v: object) => boolean, string]> = [
  [(v) => v instanceof Map, 'an ordered mapping (!!omap)'],
  [(v) => v instanceof Set, 'a set (!!set)'],
  [(v) => v instanceof Date, 'a timestamp (!!timestamp)'],
  [(v) => ArrayBuffer.isView(v), 'binary data (!!binary)'],
];

/**
 * The paths of the values in `value` that are not plain YAML (a string, number, boolean, null,
 * list or mapping). A `!!omap`, `!!set` or `!!timestamp` would otherwise reach the schema as an
 * object with no fields, which every optional section accepts: `listener: !!omap [{port: 1}]`
 * would be read as an empty listener, its port silently dropped.
 */
const notPlain = (value: unknown, path: string, out: Array<{ path: string; what: string }>): void => {
  if (typeof value !== 'object' || value === null) return;
  const at = (key: string) => (path === '' ? key : `${path}.${key}`);
  if (Array.isArray(value)) {
    value.forEach((item, i) => notPlain(item, at(String(i)), out));
  } else if (Object.getPrototypeOf(value) === Object.prototype) {
    for (const [key, item] of Object.entries(value)) notPlain(item, at(key), out);
  } else {
    out.push({ path, what: NOT_PLAIN.find(([is]) => is(value))?.[1] ?? 'a value of an unsupported tag' });
  }
};

/** Each alias that names no anchor before it, at its path; else (an alias bomb) `err` at the root. */
const aliasProblems = (doc: Document, lineCounter: LineCounter, err: Error): ConfigProblem[] => {
  const problems: ConfigProblem[] = [];
  visit(doc, {
    Alias: (_key, alias) => {
      if (alias.resolve(doc) !== undefined || alias.range == null) return;
      problems.push({
        path: pathAtOffset(doc, alias.range[0]),
        message: `the alias *${alias.source} names no anchor (&${alias.source}) before it`,
        line: lineCounter.linePos(alias.range[0]).line,
      });
    },
  });
  return problems.length > 0 ? problems : [{ path: '', message: err.message }];
};

/**
 * Reads `text` as one YAML document. Returns the problems that keep it from being a config's
 * plain value: syntax errors; warnings, which mean the value is not what it seems (a tag the
 * parser cannot resolve, `!foo x`, is read as the string `x`); aliases that expand too much
 * (an alias bomb is stopped at the library's `maxAliasCount`, 100) or name no anchor; and values
 * of YAML 1.1 tags ({@link notPlain}). Never throws.
 */
export const readYaml = (text: string): YamlConfig & { problems: ConfigProblem[] } => {
  const lineCounter = new LineCounter();
  const tooDeep = (line?: number) => ({
    value: undefined,
    doc: new Document(),
    lineCounter,
    problems: [
      {
        path: '',
        message: `the document is nested too deeply to be read (more than ${MAX_YAML_DEPTH} levels)`,
        ...(line === undefined ? {} : { line }),
      },
    ],
  });
  const deep = yamlTooDeepAt(text);
  if (deep !== undefined) return tooDeep(deep);
  // logLevel error: the library's own warnings (a list used as a key) must not reach stderr as
  // Node warnings; what they mean is reported as a problem.
  // YAML 1.2's core schema and no merge keys, whatever a `%YAML 1.1` directive asks: under 1.1,
  // `<<` merges, `off`/`y` are booleans and `1:30` is 90, so a file would mean something else
  // than the same text without the directive.
  let doc: Document;
  try {
    doc = parseDocument(text, {
      lineCounter,
      prettyErrors: true,
      uniqueKeys: true,
      logLevel: 'error',
      schema: 'core',
      merge: false,
    });
  } catch (err) {
    // A nesting the depth check did not foresee: the parser's recursion ran out of stack.
    if (err instanceof RangeError) return tooDeep();
    throw err;
  }
  const problems: ConfigProblem[] = [];
  for (const e of doc.errors) {
    problems.push({
      path: '',
      message: ERROR_MESSAGES[e.code] ?? e.message.split('\n')[0] ?? e.message,
      ...(e.linePos?.[0] ? { line: e.linePos[0].line } : {}),
    });
  }
  // A directive the library does not know (`%FOO`) changes nothing in the value: not a problem.
  for (const w of doc.warnings.filter((w) => w.code !== 'BAD_DIRECTIVE')) {
    problems.push({
      path: pathAtOffset(doc, w.pos[0]),
      message: w.message.split('\n')[0] ?? w.message,
      ...(w.linePos?.[0] ? { line: w.linePos[0].line } : {}),
    });
  }
  if (problems.length > 0) return { value: undefined, doc, lineCounter, problems };
  let value: unknown;
  try {
    value = doc.toJS();
  } catch (err) {
    // The library throws a ReferenceError for an alias of no anchor and for an alias bomb.
    return { value: undefined, doc, lineCounter, problems: aliasProblems(doc, lineCounter, err as Error) };
  }
  const found: Array<{ path: string; what: string }> = [];
  notPlain(value, '', found);
  for (const { path, what } of found) {
    const line = lineOfPath(doc, lineCounter, path);
    problems.push({
      path,
      message: `expected a string, number, boolean, list or mapping, not ${what}`,
      ...(line === undefined ? {} : { line }),
    });
  }
  return { value, doc, lineCounter, problems };
};
