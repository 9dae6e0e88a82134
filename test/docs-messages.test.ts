import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/*
 * The error messages the docs quote against the code: every message that README.md or docs/
 * quotes right after its status (400 `invalid role name "…"`, 403 `{"errors":["permission
 * denied"]}`) is a string of src/, whole: a literal, or a template literal whose static parts
 * match around the placeholders (`<name>`, `…`) the quote writes. A message reworded in the code
 * without the docs following fails here.
 */

const ROOT = join(import.meta.dirname, '..');
const FILES = [
  'README.md',
  ...readdirSync(join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];

/** Where a quote's placeholder was. */
const HOLE = '\u0000';

type Quote = { file: string; status: string; message: string };

/** The messages quoted right after a status: a bare message, or each message of a Vault error body. */
const quotes = (file: string, text: string): Quote[] =>
  [...text.matchAll(/\b([45]\d\d) `([^`]+)`/g)].flatMap((m) => {
    const span = (m[2] ?? '').replace(/\s+/g, ' ');
    let messages = [span];
    if (span.startsWith('{')) {
      const body = JSON.parse(span) as { errors?: string[] };
      messages = body.errors ?? []; // another JSON answer (`{"token_type":…}`) quotes no message
    }
    return messages.map((message) => ({ file, status: m[1] ?? '', message }));
  });

const QUOTES = FILES.flatMap((file) => quotes(file, readFileSync(join(ROOT, file), 'utf8')));

/**
 * The strings of the sources (tests and the Kubernetes API simulator of src/devcluster, whose
 * messages are the API server's, left out), each as its static parts: one for a literal, those
 * around each `${…}` for a template.
 */
const sourceStrings = (): string[][] => {
  const found: string[][] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) found.push([node.text]);
    else if (ts.isTemplateExpression(node))
      found.push([node.head.text, ...node.templateSpans.map((s) => s.literal.text)]);
    ts.forEachChild(node, visit);
  };
  for (const entry of readdirSync(join(ROOT, 'src'), { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.ts') || entry.name.endsWith('.test.ts')) continue;
    if (entry.parentPath.includes(`${join('src', 'devcluster')}`)) continue;
    const path = join(entry.parentPath, entry.name);
    visit(ts.createSourceFile(path, readFileSync(path, 'utf8'), ts.ScriptTarget.Latest));
  }
  return found;
};

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Whether `parts` (a string's static parts) can read as `probe` (the quote, its placeholders
 * `HOLE`). Either each `${…}` stands for what the quote has there, and the static parts are most of
 * the quote (so that `${a}: ${b}` matches no quote that merely contains `: `); or each placeholder
 * of the quote stands for what the string has there (`403 preflight capability check returned
 * 403, …` elides the rest of the message).
 */
const readsAs = (parts: string[], probe: string): boolean => {
  const statics = parts.join('').length;
  const holes = (glob: string[]) => new RegExp(`^${glob.map(escape).join('.*')}$`, 's');
  return (
    (statics >= 0.6 * probe.replaceAll(HOLE, '').length && holes(parts).test(probe)) ||
    (probe.includes(HOLE) &&
      probe.replaceAll(HOLE, '').length >= 10 &&
      holes(probe.split(HOLE)).test(parts.join(HOLE)))
  );
};

describe('the error messages the docs quote', () => {
  const strings = sourceStrings();

  it('finds the quotes and the strings it compares', () => {
    expect(QUOTES.length).toBeGreaterThan(25);
    expect(strings.length).toBeGreaterThan(1000);
  });

  it('quotes only messages that the code writes', () => {
    const unknown = QUOTES.filter(({ message }) => {
      const probe = message.replace(/…|<[a-z_ ]+>/g, HOLE);
      return !strings.some((parts) => readsAs(parts, probe));
    }).map(({ file, status, message }) => `${file}: ${status} ${message}`);
    expect(unknown).toEqual([]);
  });
});
