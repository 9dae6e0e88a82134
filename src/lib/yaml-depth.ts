import { CST, Lexer } from 'yaml';

/** Deeper than any config or policy is written; well short of where the YAML parser recurses too far. */
export const MAX_YAML_DEPTH = 64;

/**
 * The first line (1-based) at which YAML `text` nests collections more than `limit` deep, or
 * `undefined` when it never does. To be asked before `parseDocument`: the yaml library parses
 * nested collections by recursion, and a document a thousand flow collections deep (`[[[…`), or
 * a line of thousands of compact sequences (`- - - …`), overflows the stack inside a regular
 * expression's compilation, a fatal V8 error that no `try` catches (the process aborts; seen on
 * the second parse of the same text). The library's lexer is iterative, so it is safe to read
 * any text with.
 *
 * The depth counted is an upper bound of the real nesting: open flow collections, plus the
 * indentation levels open at the line, plus the block indicators (`-`, `?`, `:`) on it. Quoted
 * scalars, block scalars and comments are single tokens: brackets in them count for nothing.
 */
export const yamlTooDeepAt = (text: string, limit: number = MAX_YAML_DEPTH): number | undefined => {
  let line = 1;
  let flow = 0;
  let indicators = 0;
  let atLineStart = true;
  const indents: number[] = [];
  for (const token of new Lexer().lex(text)) {
    const type = CST.tokenType(token);
    if (type === 'newline') {
      line++;
      atLineStart = true;
      indicators = 0;
      continue;
    }
    if (atLineStart && flow === 0 && type !== 'comment') {
      // A line's first token: its indentation closes the deeper levels above it and opens one.
      const indent = type === 'space' ? token.length : 0;
      while (indents.length > 0 && (indents.at(-1) as number) >= indent) indents.pop();
      indents.push(indent);
    }
    atLineStart = false;
    if (type === 'flow-map-start' || type === 'flow-seq-start') flow++;
    else if (type === 'flow-map-end' || type === 'flow-seq-end') flow = Math.max(0, flow - 1);
    else if (
      flow === 0 &&
      (type === 'seq-item-ind' || type === 'explicit-key-ind' || type === 'map-value-ind')
    )
      indicators++;
    if (flow + indents.length + indicators > limit) return line;
    // A token spanning lines (a quoted or block scalar) moves the line count on too.
    for (let i = token.indexOf('\n'); i !== -1; i = token.indexOf('\n', i + 1)) line++;
  }
  return undefined;
};
