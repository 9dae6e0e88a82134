import { isMap, isScalar, LineCounter, parseDocument, type Document } from 'yaml';
import { MAX_YAML_DEPTH, yamlTooDeepAt } from '../lib/yaml-depth.js';
import { PolicyLoadError, problemAt, type PolicyOrigin } from './errors.js';
import { HclSyntaxError, parseHcl, type HclItem, type HclValue } from './hcl.js';
import {
  collectProblems,
  compileBlocks,
  normalizePolicyName,
  type CompiledPolicy,
  type PathBlockInput,
  type Policy,
} from './policy.js';

/**
 * The three ways to write a policy, all compiled by the same rules (policy.ts): Vault's HCL,
 * and Vault's JSON shape `{ "path": { "<glob>": { "capabilities": [...] } } }` as a JSON or
 * YAML file, or as a `policies.<name>` object of the config file.
 */

/** The syntax of a policy text. */
export type PolicyFormat = 'hcl' | 'json' | 'yaml';

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const hclToJs = (value: HclValue): unknown => {
  switch (value.kind) {
    case 'list':
      return value.items.map(hclToJs);
    case 'object':
      return hclBodyToJs(value.body);
    default:
      return value.value;
  }
};

const hclBodyToJs = (items: readonly HclItem[]): Record<string, unknown> => {
  const out: Record<string, unknown> = {};
  for (const item of items) {
    out[item.kind === 'attribute' ? item.key : item.type] =
      item.kind === 'attribute' ? hclToJs(item.value) : hclBodyToJs(item.body);
  }
  return out;
};

/** Compiles HCL policy text; problems (with lines) are appended, `undefined` when any. */
export const compileHclPolicy = (
  origin: PolicyOrigin,
  text: string,
  problems: string[],
): CompiledPolicy | undefined =>
  collectProblems(origin, problems, (report) => {
    let items: HclItem[];
    try {
      items = parseHcl(text);
    } catch (error) {
      if (!(error instanceof HclSyntaxError)) throw error;
      report(error.line, `HCL syntax error at column ${error.column}: ${error.reason}`);
      return undefined;
    }
    const blocks: PathBlockInput[] = [];
    for (const item of items) {
      const line = item.at.line;
      if (item.kind === 'block' && item.type === 'path') {
        if (item.labels.length !== 1) {
          report(line, 'a path block takes one label: path "<glob>" { capabilities = [...] }');
          continue;
        }
        const entries = item.body.map((e) =>
          e.kind === 'attribute'
            ? { key: e.key, value: hclToJs(e.value), line: e.at.line }
            : { key: e.type, value: hclBodyToJs(e.body), line: e.at.line },
        );
        blocks.push({ path: item.labels[0] as string, line, entries });
      } else if (item.kind === 'attribute' && item.key === 'name' && item.value.kind === 'string') {
        // Vault accepts a top-level `name` and ignores it: the name is the file's.
      } else if (item.kind === 'attribute' && item.key === 'path') {
        report(line, 'write each path as a block: path "<glob>" { capabilities = [...] }');
      } else {
        const key = item.kind === 'attribute' ? item.key : item.type;
        report(line, `unknown top-level key "${key}" (a policy has path blocks)`);
      }
    }
    return compileBlocks(origin, blocks, text, report);
  });

/** An HCL rendering of rules, for `sys/policies/acl/<name>` of a policy written as a document. */
export const renderHcl = (policy: Pick<Policy, 'rules'>): string =>
  policy.rules
    .map(
      (r) =>
        `path ${JSON.stringify(r.path)} {\n  capabilities = [${r.capabilities.map((c) => `"${c}"`).join(', ')}]\n}\n`,
    )
    .join('\n');

/**
 * Compiles a document in Vault's JSON shape. `lineOf` gives the line of a path key in the
 * source, where known. Problems are appended; `undefined` when any.
 */
export const compileDocumentPolicy = (
  origin: PolicyOrigin,
  document: unknown,
  problems: string[],
  lineOf: (glob: string) => number | undefined = () => undefined,
): CompiledPolicy | undefined =>
  collectProblems(origin, problems, (report) => {
    const shape = 'a policy is { path: { "<glob>": { capabilities: [...] } } }';
    if (!isPlainObject(document)) {
      report(undefined, `expected an object: ${shape}`);
      return undefined;
    }
    const blocks: PathBlockInput[] = [];
    for (const [key, value] of Object.entries(document)) {
      if (key === 'name' && typeof value === 'string') continue; // accepted and ignored, as Vault does
      if (key !== 'path') {
        report(undefined, `unknown top-level key "${key}" (${shape})`);
      } else if (!isPlainObject(value)) {
        report(undefined, `"path" must be an object of globs: ${shape}`);
      } else {
        for (const [glob, body] of Object.entries(value)) {
          const line = lineOf(glob);
          if (!isPlainObject(body)) {
            report(
              line,
              `path ${JSON.stringify(glob)}: expected an object such as { capabilities: ["read"] }`,
            );
            continue;
          }
          blocks.push({
            path: glob,
            line,
            entries: Object.entries(body).map(([k, v]) => ({ key: k, value: v, line })),
          });
        }
      }
    }
    const compiled = compileBlocks(origin, blocks, '', report);
    return compiled && { ...compiled, policy: { ...compiled.policy, text: renderHcl(compiled.policy) } };
  });

/** The line of `path.<glob>`'s key in a YAML/JSON document. */
const yamlLineOf =
  (doc: Document, lines: LineCounter) =>
  (glob: string): number | undefined => {
    const paths = doc.get('path', true);
    if (!isMap(paths)) return undefined;
    const pair = paths.items.find((p) => isScalar(p.key) && String(p.key.value) === glob);
    const range = pair !== undefined && isScalar(pair.key) ? pair.key.range : undefined;
    return range ? lines.linePos(range[0]).line : undefined;
  };

const jsonErrorLine = (text: string, message: string): number | undefined => {
  const explicit = /line (\d+)/.exec(message);
  if (explicit !== null) return Number(explicit[1]);
  const position = /position (\d+)/.exec(message);
  if (position === null) return undefined;
  return text.slice(0, Number(position[1])).split('\n').length;
};

/** Compiles a policy text of any format; problems are appended, `undefined` when any. */
export const compilePolicyText = (
  origin: PolicyOrigin,
  text: string,
  format: PolicyFormat,
  problems: string[],
): CompiledPolicy | undefined => {
  // As Vault's hcl.Parse: HCL text that is a JSON object is read as JSON (a policy written in
  // Vault's JSON form, in a .hcl file or an inline string).
  if (format === 'hcl' && !text.trimStart().startsWith('{')) return compileHclPolicy(origin, text, problems);
  if (format === 'hcl') return compilePolicyText(origin, text, 'json', problems);
  if (format === 'json') {
    // Strict JSON first; the YAML reader then finds duplicate keys (which JSON.parse would
    // silently collapse, possibly dropping a deny) and lines.
    try {
      JSON.parse(text);
    } catch (error) {
      const message = (error as Error).message;
      problems.push(problemAt(origin, jsonErrorLine(text, message), `JSON syntax error: ${message}`));
      return undefined;
    }
  }
  const deep = yamlTooDeepAt(text);
  if (deep !== undefined) {
    problems.push(problemAt(origin, deep, `nested more than ${MAX_YAML_DEPTH} levels deep`));
    return undefined;
  }
  const lines = new LineCounter();
  let doc: Document;
  try {
    doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true });
  } catch (error) {
    // A nesting the depth check above did not foresee: the parser's recursion ran out of stack.
    if (!(error instanceof RangeError)) throw error;
    problems.push(problemAt(origin, undefined, 'nested too deeply to be read'));
    return undefined;
  }
  if (doc.errors.length > 0) {
    for (const e of doc.errors) {
      const line = e.linePos?.[0].line;
      if (e.code === 'DUPLICATE_KEY') {
        problems.push(problemAt(origin, line, 'a key is written twice (one of the two would be lost)'));
        continue;
      }
      const message = (e.message.split('\n')[0] ?? '').replace(/:$/, '');
      problems.push(problemAt(origin, line, `${format.toUpperCase()} syntax error: ${message}`));
    }
    return undefined;
  }
  const compiled = compileDocumentPolicy(
    origin,
    doc.toJS({ maxAliasCount: 100 }),
    problems,
    yamlLineOf(doc, lines),
  );
  return compiled === undefined ? undefined : { ...compiled, policy: { ...compiled.policy, text } };
};

const orThrow = (compile: (problems: string[]) => CompiledPolicy | undefined): Policy => {
  const problems: string[] = [];
  const compiled = compile(problems);
  if (compiled === undefined || problems.length > 0) throw new PolicyLoadError(problems);
  return compiled.policy;
};

/**
 * Parses a policy written in Vault's HCL. `name` is normalized (trimmed, lowercase); `source`
 * names the origin in messages (a file path; default `inline`).
 * @throws PolicyLoadError listing every problem, with lines.
 */
export const parsePolicyHcl = (name: string, text: string, source = 'inline'): Policy =>
  orThrow((p) => compilePolicyText({ name: normalizePolicyName(name), source }, text, 'hcl', p));

/**
 * Parses a policy document in Vault's JSON shape (`{ path: { "<glob>": { capabilities } } }`),
 * as found under `policies.<name>` of the config file. Its `text` is an HCL rendering.
 * @throws PolicyLoadError listing every problem.
 */
export const parsePolicyDocument = (name: string, document: unknown, source = 'inline'): Policy =>
  orThrow((p) => compileDocumentPolicy({ name: normalizePolicyName(name), source }, document, p));

/**
 * Parses a policy file's text in the given format (`.hcl`, `.json`, `.yaml`/`.yml`); `text` is
 * kept as the policy's text.
 * @throws PolicyLoadError listing every problem, with lines where known.
 */
export const parsePolicyText = (
  name: string,
  text: string,
  format: PolicyFormat,
  source = 'inline',
): Policy => orThrow((p) => compilePolicyText({ name: normalizePolicyName(name), source }, text, format, p));
