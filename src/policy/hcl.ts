/**
 * A small, strict parser for the part of HCL that Vault policies use.
 *
 * Why not a package: Vault parses policies with HCL v1 (`github.com/hashicorp/hcl`, `hcl.Parse`),
 * and every npm candidate is HCL v2, a different dialect. We measured the three candidates on
 * Node 20 (2026-11):
 * - `@cdktn/hcl2json` 0.24 (and `@cdktf/hcl2json` 0.21, its predecessor): HashiCorp's Go HCL v2
 *   compiled to WASM. It parses policies and reports good `file:line,col` diagnostics, but it
 *   starts a Go runtime at import time that stays resident: +88 MB RSS for the life of the
 *   process (a bare Node is 40 MB), ~170 ms to start, and its load failure is an unhandled
 *   rejection. Being HCL v2, it refuses policies that Vault accepts (`{` on the line after
 *   `path "…"`, common in the wild), evaluates `${…}` in strings, and turns a bare word
 *   (`[read]`) into the string `"${read}"`. It is a Terraform tool; `fs-extra` comes with it.
 * - `hcl2-parser` 1.0.3: GopherJS build of HCL v2 (3.8 MB of JS), one release, unmaintained,
 *   no types, and a syntax error yields `{}` with no message at all.
 * A policy is a handful of `path "<glob>" { capabilities = [...] }` blocks, so this file reads
 * exactly that grammar, HCL v1's way: whitespace and newlines are insignificant, commas between
 * items are optional, `#`, `//` and `/* *\/` comments, `"…"` strings with HCL's escapes (and
 * `${` kept literally, as Vault does), numbers, `true`/`false`, lists, and objects or nested
 * blocks (so that unsupported keys such as `allowed_parameters = {…}` can be named and refused
 * rather than failing as a syntax error). Heredocs are refused. Every error has a line and column.
 */

/** 1-based line and column of a token. */
export type HclPosition = { line: number; column: number };

/** A value: only literals, lists and objects (HCL v1 has no expressions Vault evaluates). */
export type HclValue =
  | { kind: 'string'; value: string; at: HclPosition }
  | { kind: 'number'; value: number; at: HclPosition }
  | { kind: 'bool'; value: boolean; at: HclPosition }
  | { kind: 'list'; items: HclValue[]; at: HclPosition }
  | { kind: 'object'; body: HclItem[]; at: HclPosition };

/** An item of a body: `key = value`, or a block `type "label"… { body }`. */
export type HclItem =
  | { kind: 'attribute'; key: string; value: HclValue; at: HclPosition }
  | { kind: 'block'; type: string; labels: string[]; body: HclItem[]; at: HclPosition };

/** A syntax error at a 1-based line and column. */
export class HclSyntaxError extends Error {
  constructor(
    readonly line: number,
    readonly column: number,
    readonly reason: string,
  ) {
    super(`${line}:${column}: ${reason}`);
    this.name = 'HclSyntaxError';
  }
}

type Token =
  | { type: 'ident' | 'string' | 'number'; text: string; at: HclPosition }
  | { type: '=' | '{' | '}' | '[' | ']' | ',' | 'eof'; text: string; at: HclPosition };

/** Lists, objects and blocks in one another: deeper than any policy is written. */
export const MAX_HCL_DEPTH = 64;

const IDENT_START = /[A-Za-z_]/;
const IDENT_PART = /[A-Za-z0-9_.-]/;
const NUMBER = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/;

const tokenize = (text: string): Token[] => {
  const tokens: Token[] = [];
  let i = 0;
  let line = 1;
  let lineStart = 0;
  const at = (): HclPosition => ({ line, column: i - lineStart + 1 });
  const fail = (reason: string, pos = at()): never => {
    throw new HclSyntaxError(pos.line, pos.column, reason);
  };
  const newline = () => {
    line += 1;
    lineStart = i + 1;
  };
  while (i < text.length) {
    const c = text[i] as string;
    if (c === '\n') {
      newline();
      i += 1;
    } else if (c === ' ' || c === '\t' || c === '\r' || c === '\uFEFF') {
      i += 1;
    } else if (c === '#' || (c === '/' && text[i + 1] === '/')) {
      while (i < text.length && text[i] !== '\n') i += 1;
    } else if (c === '/' && text[i + 1] === '*') {
      const start = at();
      i += 2;
      while (i < text.length && !(text[i] === '*' && text[i + 1] === '/')) {
        if (text[i] === '\n') newline();
        i += 1;
      }
      if (i >= text.length) fail('unterminated /* comment', start);
      i += 2;
    } else if ('={}[],'.includes(c)) {
      tokens.push({ type: c as '=', text: c, at: at() });
      i += 1;
    } else if (c === '"') {
      const start = at();
      i += 1;
      let value = '';
      for (;;) {
        const d = text[i];
        if (d === undefined || d === '\n') fail('unterminated string', start);
        if (d === '"') break;
        if (d === '$' && text[i + 1] === '{') {
          // HCL v1 (Vault's) reads `${…}` to its matching brace as one piece, quotes and
          // backslashes included, and unquotes nothing in it: `"a${"}b"` is one string there.
          // Taken literally here as there, and refused where the two readings would part.
          let j = i + 2;
          for (let braces = 1; braces > 0; j++) {
            const e = text[j];
            if (e === undefined || e === '\n' || e === '"' || e === '\\')
              fail('a "${" in a string must be closed by "}" before any quote, backslash or line end', start);
            if (e === '{') braces++;
            else if (e === '}') braces--;
          }
          value += text.slice(i, j);
          i = j;
          continue;
        }
        if (d === '\\') {
          const e = text[i + 1];
          const simple: Record<string, string> = { n: '\n', t: '\t', r: '\r', '"': '"', '\\': '\\' };
          if (e !== undefined && simple[e] !== undefined) {
            value += simple[e];
            i += 2;
          } else if (e === 'u' || e === 'U') {
            const width = e === 'u' ? 4 : 8;
            const hex = text.slice(i + 2, i + 2 + width);
            if (!new RegExp(`^[0-9a-fA-F]{${width}}$`).test(hex)) fail(`invalid \\${e} escape`);
            const code = Number.parseInt(hex, 16);
            if (code > 0x10ffff) fail(`invalid \\${e} escape`);
            value += String.fromCodePoint(code);
            i += 2 + width;
          } else {
            fail(`invalid escape \\${e ?? ''} in string`);
          }
        } else {
          value += d;
          i += 1;
        }
      }
      i += 1;
      tokens.push({ type: 'string', text: value, at: start });
    } else if (c === '<' && text[i + 1] === '<') {
      fail('heredoc strings are not supported in policies; use a quoted string');
    } else if (c === '-' || (c >= '0' && c <= '9')) {
      const m = NUMBER.exec(text.slice(i, i + 64));
      if (m === null) fail(`unexpected character "${c}"`);
      const literal = (m as RegExpExecArray)[0];
      tokens.push({ type: 'number', text: literal, at: at() });
      i += literal.length;
    } else if (IDENT_START.test(c)) {
      const start = at();
      let j = i + 1;
      while (j < text.length && IDENT_PART.test(text[j] as string)) j += 1;
      tokens.push({ type: 'ident', text: text.slice(i, j), at: start });
      i = j;
    } else {
      fail(`unexpected character ${JSON.stringify(c)}`);
    }
  }
  tokens.push({ type: 'eof', text: '', at: at() });
  return tokens;
};

const describe = (t: Token): string =>
  t.type === 'eof' ? 'end of file' : t.type === 'string' ? `string ${JSON.stringify(t.text)}` : `"${t.text}"`;

/**
 * Parses HCL text into its items (attributes and blocks, in order).
 * @throws HclSyntaxError on the first syntax error.
 */
export const parseHcl = (text: string): HclItem[] => {
  const tokens = tokenize(text);
  let p = 0;
  const peek = (): Token => tokens[p] as Token;
  const next = (): Token => tokens[p++] as Token;
  const fail = (t: Token, reason: string): never => {
    throw new HclSyntaxError(t.at.line, t.at.column, reason);
  };
  const expect = (type: Token['type'], what: string): Token => {
    const t = next();
    if (t.type !== type) fail(t, `expected ${what}, found ${describe(t)}`);
    return t;
  };

  // Lists, objects and blocks nest by recursion: bounded, so that a file of `[[[[…` is a syntax
  // error and not a stack overflow.
  let depth = 0;
  const nested = <T>(t: Token, parse: () => T): T => {
    if (++depth > MAX_HCL_DEPTH) fail(t, `nested more than ${MAX_HCL_DEPTH} levels deep`);
    const result = parse();
    depth--;
    return result;
  };

  const value = (): HclValue => {
    const t = next();
    switch (t.type) {
      case 'string':
        return { kind: 'string', value: t.text, at: t.at };
      case 'number':
        return { kind: 'number', value: Number(t.text), at: t.at };
      case 'ident':
        if (t.text === 'true' || t.text === 'false')
          return { kind: 'bool', value: t.text === 'true', at: t.at };
        return fail(t, `unexpected word "${t.text}": strings must be quoted ("${t.text}")`);
      case '[':
        return nested(t, () => {
          const items: HclValue[] = [];
          while (peek().type !== ']') {
            items.push(value());
            const sep = peek();
            if (sep.type === ',') next();
            else if (sep.type !== ']') fail(sep, `expected "," or "]" in list, found ${describe(sep)}`);
          }
          next();
          return { kind: 'list', items, at: t.at };
        });
      case '{':
        return nested(t, () => {
          const inner = body('}');
          next();
          return { kind: 'object', body: inner, at: t.at };
        });
      default:
        return fail(t, `expected a value, found ${describe(t)}`);
    }
  };

  const body = (end: '}' | 'eof'): HclItem[] => {
    const items: HclItem[] = [];
    for (;;) {
      const t = peek();
      if (t.type === end) return items;
      if (t.type === ',') {
        next();
        continue;
      }
      if (t.type !== 'ident' && t.type !== 'string') {
        fail(
          t,
          t.type === 'eof' ? 'unexpected end of file: missing "}"' : `expected a key, found ${describe(t)}`,
        );
      }
      next();
      if (peek().type === '=') {
        next();
        items.push({ kind: 'attribute', key: t.text, value: value(), at: t.at });
        continue;
      }
      const labels: string[] = [];
      while (peek().type === 'string' || peek().type === 'ident') labels.push(next().text);
      const open = peek();
      if (open.type === '=') fail(open, `"${t.text}" with labels is a block: write ${t.text} "…" { … }`);
      expect('{', `"=" or "{" after "${t.text}"`);
      const inner = nested(t, () => body('}'));
      next();
      items.push({ kind: 'block', type: t.text, labels, body: inner, at: t.at });
    }
  };

  const items = body('eof');
  return items;
};
