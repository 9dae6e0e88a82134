import { describe, expect, it } from 'vitest';
import { HclSyntaxError, parseHcl, type HclItem } from './hcl.js';

const syntaxError = (text: string): HclSyntaxError => {
  try {
    parseHcl(text);
  } catch (error) {
    if (error instanceof HclSyntaxError) return error;
    throw error;
  }
  throw new Error('expected a syntax error');
};

describe('parseHcl', () => {
  it('reads path blocks with their labels, attributes and lines', () => {
    const items = parseHcl('path "secret/*" {\n  capabilities = ["read", "list"]\n}\n');
    expect(items).toEqual<HclItem[]>([
      {
        kind: 'block',
        type: 'path',
        labels: ['secret/*'],
        at: { line: 1, column: 1 },
        body: [
          {
            kind: 'attribute',
            key: 'capabilities',
            at: { line: 2, column: 3 },
            value: {
              kind: 'list',
              at: { line: 2, column: 18 },
              items: [
                { kind: 'string', value: 'read', at: { line: 2, column: 19 } },
                { kind: 'string', value: 'list', at: { line: 2, column: 27 } },
              ],
            },
          },
        ],
      },
    ]);
  });

  it('skips #, // and /* */ comments, and keeps their lines counted', () => {
    const items = parseHcl('# one\n// two\n/* three\n four */ path "a" { capabilities = ["read"] } # tail\n');
    expect(items).toHaveLength(1);
    expect(items[0]?.at.line).toBe(4);
  });

  it('accepts what HCL v1 accepts and HCL v2 does not: a brace on the next line, items on one line, commas', () => {
    const items = parseHcl(
      'path "a"\n{\n  capabilities = ["read",]\n}\npath "b" { capabilities = ["list"], comment = "x" }',
    );
    expect(items.map((i) => (i.kind === 'block' ? i.labels[0] : ''))).toEqual(['a', 'b']);
  });

  it('reads string escapes and keeps ${ literally, as Vault does', () => {
    const [item] = parseHcl('k = "a\\"b\\\\c\\n\\u00e9${x}"');
    expect(item).toMatchObject({ kind: 'attribute', value: { kind: 'string', value: 'a"b\\c\né${x}' } });
  });

  it('keeps ${…} whole to its closing brace, and refuses one that HCL v1 would read on past a quote', () => {
    const [item] = parseHcl('k = "a${b{c}d}e"');
    expect(item).toMatchObject({ value: { value: 'a${b{c}d}e' } });
    // Vault reads this as ONE rule (read) on the path `secret/${" {capabilities=["deny"]} path "}x`.
    for (const text of [
      'path "secret/${" {capabilities=["deny"]} path "}x" { capabilities = ["read"] }',
      'k = "${\\n}"',
      'k = "${x"',
    ])
      expect(() => parseHcl(text)).toThrow(/must be closed by "}" before any quote, backslash or line end/);
  });

  it('reads numbers, booleans and objects (for keys it then refuses by name)', () => {
    const [item] = parseHcl('allowed_parameters = { "foo" = [] bar = [1, -2.5, true] }');
    expect(item).toMatchObject({
      kind: 'attribute',
      value: {
        kind: 'object',
        body: [
          { key: 'foo', value: { kind: 'list', items: [] } },
          { key: 'bar', value: { kind: 'list', items: [{ value: 1 }, { value: -2.5 }, { value: true }] } },
        ],
      },
    });
  });

  it.each([
    ['a missing closing brace', 'path "a" {\n  capabilities = ["read"]\n', 3, 1, 'missing "}"'],
    [
      'a missing comma in a list',
      'path "a" {\n  capabilities = ["read" "list"]\n}',
      2,
      26,
      'expected "," or "]"',
    ],
    ['an unquoted word', 'path "a" {\n  capabilities = [read]\n}', 2, 19, 'strings must be quoted'],
    ['an unterminated string', 'path "a {\n}', 1, 6, 'unterminated string'],
    ['an unterminated comment', '/* no end\npath "a" {}', 1, 1, 'unterminated /* comment'],
    ['a heredoc', 'k = <<EOF\nx\nEOF', 1, 5, 'heredoc strings are not supported'],
    ['a colon instead of =', 'path "a" {\n  capabilities: ["read"]\n}', 2, 15, 'unexpected character ":"'],
    ['a block written with =', 'path "a" = {}', 1, 10, 'is a block'],
    ['an invalid escape', 'k = "a\\qb"', 1, 7, 'invalid escape'],
    ['a stray closing brace', '}', 1, 1, 'expected a key'],
  ])('refuses %s with its line and column', (_what, text, line, column, reason) => {
    const error = syntaxError(text);
    expect(error.reason).toContain(reason);
    expect([error.line, error.column]).toEqual([line, column]);
  });
});
