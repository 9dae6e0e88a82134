import { CST, Lexer } from 'yaml';

/** Deeper than any config or policy is written; well short of where the YAML parser recurses too far. */
export const MAX_YAML_DEPTH = 64;

/** Lexer tokens that mark what follows and take no room on the line. */
const MARKERS = new Set(['byte-order-mark', 'doc-mode', 'flow-error-end', 'scalar']);

/**
 * The first line (1-based) at which YAML `text` nests collections more than `limit` deep, or
 * `undefined` when it never does. To be asked before `parseDocument`: the yaml library parses
 * nested collections by recursion, and a document a thousand collections deep (`[[[…`, a line of
 * thousands of `- `, or lines that each open a few more) overflows the stack, sometimes inside a
 * regular expression's compilation, a fatal V8 error that no `try` catches (the process aborts;
 * seen on the second parse of the same text). The library's lexer is iterative, so it is safe to
 * read any text with.
 *
 * The depth counted is an upper bound of the real nesting, from the tokens alone:
 * - block collections: each `-`, `?` and each mapping key (the start of the entry a `:` ends)
 *   opens one at its column, which stays open until a line starts at or left of that column;
 * - flow collections: each `[` or `{` open, plus the `:`, `?` and `-` of the entry being read (an
 *   entry holds one `:`; `[a: b: c: …]` nests one per `:`, and a `-` after a line break in a flow
 *   collection opens a block sequence there).
 * Quoted scalars, block scalars and comments are single tokens: brackets in them count for nothing.
 */
export const yamlTooDeepAt = (text: string, limit: number = MAX_YAML_DEPTH): number | undefined => {
  let line = 1;
  let column = 0;
  let lineStart = true;
  /** Columns of the block collections open, innermost last. */
  const block: number[] = [];
  /** Per open flow collection, the `:` and `?` of its current entry; and their sum. */
  const entries: number[] = [];
  let inEntries = 0;
  /** Column where the current block entry's key started (after the last indicator of the line). */
  let keyColumn: number | undefined;
  /**
   * Tabs on the line so far, and whether its indentation holds one. The parser counts only spaces
   * as indentation: a tab widens the line for the eye, not for it. So columns here are taken
   * without the tabs, and a line indented with a tab (invalid YAML, which the parser reads on
   * regardless) closes nothing: counted as closing, it let lines the parser nests inside one
   * another look like siblings.
   */
  let tabs = 0;
  let tabIndent = false;
  /** The token after a plain scalar's marker is its text: `---` there is a value, not a document. */
  let scalarText = false;
  const open = (at: number) => {
    while (block.length > 0 && (block.at(-1) as number) > at) block.pop();
    if (block.at(-1) !== at) block.push(at);
  };
  for (const token of new Lexer().lex(text)) {
    const type: ReturnType<typeof CST.tokenType> = scalarText ? null : CST.tokenType(token);
    scalarText = type === 'scalar';
    // The lexer left a flow collection that a line start cut off (`---`, a dedent): back in block
    // context, where the indicators count by column again. A new document starts afresh too.
    if (type === 'flow-error-end' || type === 'doc-start' || type === 'doc-end') {
      entries.length = 0;
      inEntries = 0;
      if (type !== 'flow-error-end') block.length = 0;
    }
    if (type === 'newline') {
      line++;
      column = 0;
      lineStart = true;
      keyColumn = undefined;
      tabs = 0;
      tabIndent = false;
      continue;
    }
    if (type === 'space' && token.includes('\t')) {
      for (const c of token) if (c === '\t') tabs++;
      if (lineStart) tabIndent = true;
    }
    if (type !== null && MARKERS.has(type)) continue;
    const flow = entries.length;
    const at = column - tabs;
    if (lineStart && type !== 'space' && type !== 'comment') {
      lineStart = false;
      // A line closes the block collections that started right of it.
      if (flow === 0 && !tabIndent) while (block.length > 0 && (block.at(-1) as number) > at) block.pop();
    }
    if (flow === 0 && type !== 'space' && type !== 'comment') {
      if (type === 'seq-item-ind' || type === 'explicit-key-ind') {
        open(at);
        keyColumn = undefined;
      } else if (type === 'map-value-ind') {
        open(keyColumn ?? at);
        keyColumn = undefined;
      } else if (keyColumn === undefined) {
        keyColumn = at;
      }
    }
    if (type === 'flow-map-start' || type === 'flow-seq-start') {
      entries.push(0);
    } else if (type === 'flow-map-end' || type === 'flow-seq-end') {
      inEntries -= entries.pop() ?? 0;
    } else if (flow > 0 && type === 'comma') {
      inEntries -= entries[flow - 1] as number;
      entries[flow - 1] = 0;
    } else if (
      flow > 0 &&
      (type === 'map-value-ind' || type === 'explicit-key-ind' || type === 'seq-item-ind')
    ) {
      entries[flow - 1] = (entries[flow - 1] as number) + 1;
      inEntries++;
    }
    if (block.length + entries.length + inEntries > limit) return line;
    // A token spanning lines (a quoted or block scalar) moves the line and column on.
    const lastBreak = token.lastIndexOf('\n');
    if (lastBreak === -1) {
      column += token.length;
    } else {
      for (let i = token.indexOf('\n'); i !== -1; i = token.indexOf('\n', i + 1)) line++;
      column = token.length - lastBreak - 1;
    }
  }
  return undefined;
};
