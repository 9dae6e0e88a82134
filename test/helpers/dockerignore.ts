/*
 * The matching rules of `.dockerignore` (Docker's patternmatcher), enough to tell whether a path
 * is sent to the build: one pattern a line, `#` comments, a leading `!` re-includes, `*` and `?`
 * stay within one path segment, `**` spans any number of them, a pattern that matches a
 * directory matches everything below it, and the last matching line wins.
 */

type Rule = { negated: boolean; pattern: RegExp };

const toRegExp = (glob: string): RegExp => {
  let source = '';
  for (let i = 0; i < glob.length; i++) {
    const ch = glob.charAt(i);
    if (ch === '*' && glob.charAt(i + 1) === '*') {
      i++;
      if (glob.charAt(i + 1) === '/') {
        i++;
        source += '(?:.*/)?';
      } else {
        source += '.*';
      }
    } else if (ch === '*') {
      source += '[^/]*';
    } else if (ch === '?') {
      source += '[^/]';
    } else {
      source += ch.replace(/[.+^${}()|[\]\\]/g, '\\$&');
    }
  }
  return new RegExp(`^${source}$`);
};

/** Parses the text of a `.dockerignore` file. */
export const parseDockerignore = (text: string): Rule[] =>
  text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const negated = line.startsWith('!');
      // Docker cleans each pattern: no leading `/` or `./`, no trailing `/`.
      const glob = (negated ? line.slice(1) : line)
        .trim()
        .replace(/^\.?\//, '')
        .replace(/\/+$/, '');
      return { negated, pattern: toRegExp(glob) };
    });

/** Whether `path` (relative to the context, `/`-separated) is left out of the build context. */
export const isIgnored = (rules: Rule[], path: string): boolean => {
  const segments = path.split('/');
  const candidates = segments.map((_, i) => segments.slice(0, i + 1).join('/'));
  let ignored = false;
  for (const rule of rules) {
    if (candidates.some((c) => rule.pattern.test(c))) ignored = !rule.negated;
  }
  return ignored;
};
