import { describe, expect, it } from 'vitest';
import { UNIT_NS, durationTerms } from './duration-grammar.js';

describe('durationTerms (Go time.ParseDuration grammar)', () => {
  it.each([
    [
      '1h30m',
      [
        { whole: '1', fraction: undefined, unit: 'h' },
        { whole: '30', fraction: undefined, unit: 'm' },
      ],
    ],
    ['.5h', [{ whole: '', fraction: '5', unit: 'h' }]],
    ['1.h', [{ whole: '1', fraction: '', unit: 'h' }]],
    // The unit runs to the next digit or point, as Go reads it: whether it is one is the reader's call.
    ['3', [{ whole: '3', fraction: undefined, unit: '' }]],
    [
      '1h 30m',
      [
        { whole: '1', fraction: undefined, unit: 'h ' },
        { whole: '30', fraction: undefined, unit: 'm' },
      ],
    ],
    ['1.5µs', [{ whole: '1', fraction: '5', unit: '\u00b5s' }]],
    ['', []],
  ])('splits %j into its terms', (text, terms) => {
    expect([...durationTerms(text)]).toEqual(terms);
  });

  it.each([
    ['-1h', [undefined]],
    ['.s', [undefined]],
    ['1h.', [{ whole: '1', fraction: undefined, unit: 'h' }, undefined]],
    [
      '1h x2s',
      [
        { whole: '1', fraction: undefined, unit: 'h x' },
        { whole: '2', fraction: undefined, unit: 's' },
      ],
    ],
    [
      '1s-2s',
      [
        { whole: '1', fraction: undefined, unit: 's-' },
        { whole: '2', fraction: undefined, unit: 's' },
      ],
    ],
    ['1hx.', [{ whole: '1', fraction: undefined, unit: 'hx' }, undefined]],
  ])('stops at %j’s first place where no number starts', (text, terms) => {
    expect([...durationTerms(text)]).toEqual(terms);
  });

  it('knows Go’s units and no property of an object', () => {
    expect(Object.keys(UNIT_NS).sort()).toEqual(
      ['h', 'm', 'ms', 'ns', 's', 'us', '\u00b5s', '\u03bcs'].sort(),
    );
    expect(UNIT_NS['constructor']).toBeUndefined();
    expect(UNIT_NS['__proto__']).toBeUndefined();
  });
});
