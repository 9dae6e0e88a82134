import { parseDocument } from 'yaml';
import { describe, expect, it } from 'vitest';
import { MAX_YAML_DEPTH, yamlTooDeepAt } from './yaml-depth.js';

const staircase = () => {
  let out = '';
  let column = 0;
  for (let k = 1; k <= 62; k++) {
    out += `${' '.repeat(column)}${'- '.repeat(62 - k)}\n`;
    column += 2 * (62 - k);
  }
  return `${out}${' '.repeat(column)}x\n`;
};

const nestedMappings = (depth: number, key = 'k') =>
  Array.from({ length: depth }, (_, i) => `${' '.repeat(i)}${key}${i}:`).join('\n') + ' end\n';

describe('yamlTooDeepAt', () => {
  it.each([
    ['flow sequences', `{"path": ${'['.repeat(1000)}${']'.repeat(1000)}}`, 1],
    ['compact block sequences', `a: 1\n${'- '.repeat(5000)}x\n`, 2],
    ['flow mappings', `${'{a: '.repeat(100)}1${'}'.repeat(100)}`, 1],
    ['indented mappings', nestedMappings(100), MAX_YAML_DEPTH + 1],
    // Each line opens a few sequences more, indented where the last one's ended: no line alone
    // is deep, and the whole is ~1900 levels (the review's way around the first version).
    ['a staircase of compact sequences', staircase(), 2],
    ['keys in one flow entry', `path: [${'a: '.repeat(2000)}x]`, 1],
    ['explicit keys in flow', `[${'? '.repeat(2000)}x]`, 1],
    ['explicit keys in a block', `${'? '.repeat(2000)}x\n`, 1],
    // Found by the second review: a line break in a flow collection, then block sequences there…
    ['block sequences inside a flow collection', `[\n${'- '.repeat(1000)}a]`, 2],
    // …and a flow collection cut off by a document marker, after which the block ones went uncounted.
    ['block sequences after a flow collection cut off', `[\n---\n${'- '.repeat(3000)}a\n`, 3],
    // Found by the third: tabs in the indentation, which the parser does not count as such (each
    // line looked further left than the one before, and closed it)…
    [
      'lines indented with tabs',
      Array.from({ length: 100 }, (_, k) => `${' '.repeat(k)}${'\t'.repeat(2 * (100 - k))}- `).join('\n'),
      MAX_YAML_DEPTH + 1,
    ],
    // …and `---` as a plain value in a flow collection, read as a document start.
    ['a value --- in a flow collection', `${'['.repeat(60)}---`.repeat(40), 1],
  ])('finds %s nested past the limit, and the line where', (_what, text, line) => {
    expect(yamlTooDeepAt(text)).toBe(line);
  });

  it('counts the lines of scalars that span several', () => {
    expect(yamlTooDeepAt(`a: |\n  one\n  two\nb: "x\n  y"\nc: ${'['.repeat(70)}`)).toBe(6);
  });

  it.each([
    [
      'a config as written',
      'listener:\n  port: 8200\nauth:\n  k:\n    roles:\n      r:\n        names: [a, {b: [c]}]\n',
    ],
    [
      'brackets in quoted and block scalars and comments',
      `a: "${'['.repeat(200)}"\nb: |\n  ${'{'.repeat(200)}\n# ${'['.repeat(200)}\n`,
    ],
    [
      'many mappings side by side, each shallow',
      Array.from({ length: 500 }, (_, i) => `k${i}: [1, [2]]`).join('\n'),
    ],
    ['a long sequence of mappings', Array.from({ length: 500 }, (_, i) => `- a: ${i}\n  b: [x]`).join('\n')],
    [
      'a document of JSON on one line',
      JSON.stringify({ a: Array.from({ length: 300 }, (_, i) => ({ [`k${i}`]: { v: [i] } })) }),
    ],
    ['indentation that goes back up', `${nestedMappings(40)}${nestedMappings(40, 'j')}`],
    ['the limit itself', nestedMappings(MAX_YAML_DEPTH)],
    [
      'tabs between a key and its value, and before a comment',
      'a:\t1\nb:\n  c:\t[x,\ty]\n\t# note\n  d: --- \n',
    ],
    [
      'a flow mapping of many keys on one line',
      `{${Array.from({ length: 500 }, (_, i) => `k${i}: ${i}`).join(', ')}}`,
    ],
    [
      'sequences of mappings of sequences, as configs nest',
      'a:\n  - b: [1, 2]\n    c:\n      - d: {e: 1}\n  - ? k\n    : v\n',
    ],
  ])('lets through %s', (_what, text) => {
    expect(yamlTooDeepAt(text)).toBeUndefined();
    expect(parseDocument(text).errors).toEqual([]);
  });

  it('starts each document of a stream afresh', () => {
    // (parseDocument reads one document: a stream is an error there, and nothing deep.)
    expect(yamlTooDeepAt(`${nestedMappings(40)}---\n${nestedMappings(40, 'j')}`)).toBeUndefined();
  });
});
