import { describe, expect, it } from 'vitest';
import { LABEL_KEY, LABEL_VALUE, labelsMatch, parseLabelSelector } from './label-selector.js';

const parsed = (value: unknown) => {
  const r = parseLabelSelector(value);
  if (r.selector === undefined) throw new Error(r.problems.join('; '));
  return r.selector;
};

describe('label keys and values', () => {
  it.each([
    ['team', true],
    ['kubernetes.io/metadata.name', true],
    ['example.com/tier_1.a-b', true],
    ['a'.repeat(63), true],
    ['a'.repeat(64), false],
    [`${'a'.repeat(253)}/x`, true],
    [`${'a'.repeat(254)}/x`, false],
    ['Example.com/x', false],
    ['-team', false],
    ['team-', false],
    ['a/b/c', false],
    ['/x', false],
    ['x/', false],
    ['', false],
  ])('key %j valid: %s', (key, ok) => expect(LABEL_KEY.test(key)).toBe(ok));

  it.each([
    ['', true],
    ['web', true],
    ['v1.2_3-x', true],
    ['a'.repeat(63), true],
    ['a'.repeat(64), false],
    ['-web', false],
    ['web.', false],
    ['a b', false],
    ['a/b', false],
  ])('value %j valid: %s', (value, ok) => expect(LABEL_VALUE.test(value)).toBe(ok));
});

describe('parseLabelSelector', () => {
  it('lists matchLabels as one-value In requirements and keeps matchExpressions', () => {
    expect(
      parsed({
        matchLabels: { team: 'web' },
        matchExpressions: [
          { key: 'tier', operator: 'NotIn', values: ['dev', 'test'] },
          { key: 'pci', operator: 'DoesNotExist' },
        ],
      }).requirements,
    ).toEqual([
      { key: 'team', operator: 'In', values: ['web'] },
      { key: 'tier', operator: 'NotIn', values: ['dev', 'test'] },
      { key: 'pci', operator: 'DoesNotExist', values: [] },
    ]);
  });

  it('takes a null values as none (Exists), as Go decodes it', () => {
    expect(
      parsed({ matchExpressions: [{ key: 'pci', operator: 'Exists', values: null }] }).requirements,
    ).toEqual([{ key: 'pci', operator: 'Exists', values: [] }]);
  });

  it.each([
    ['not a mapping', ['team=web'], /must be a LabelSelector object/],
    ['a misspelt field', { matchlabels: { team: 'web' } }, /unknown field "matchlabels"/],
    ['matchLabels as a list', { matchLabels: ['team'] }, /matchLabels must be a mapping/],
    ['a bad key', { matchLabels: { 'Bad Key': 'x' } }, /invalid label key "Bad Key"/],
    ['a number value', { matchLabels: { tier: 1 } }, /a label value is a string/],
    ['a bad value', { matchLabels: { tier: 'a b' } }, /invalid label value "a b"/],
    ['expressions not a list', { matchExpressions: { key: 'a' } }, /must be a list/],
    [
      'an unknown operator',
      { matchExpressions: [{ key: 'a', operator: 'Gt', values: ['1'] }] },
      /"Gt" is not a valid/,
    ],
    [
      'a lower-case operator',
      { matchExpressions: [{ key: 'a', operator: 'in', values: ['1'] }] },
      /"in" is not a valid/,
    ],
    ['In without values', { matchExpressions: [{ key: 'a', operator: 'In' }] }, /values set can't be empty/],
    [
      'Exists with values',
      { matchExpressions: [{ key: 'a', operator: 'Exists', values: ['x'] }] },
      /must be empty/,
    ],
    [
      'values not strings',
      { matchExpressions: [{ key: 'a', operator: 'In', values: [1] }] },
      /list of strings/,
    ],
    [
      'an unknown expression field',
      { matchExpressions: [{ key: 'a', operator: 'Exists', value: 'x' }] },
      /unknown field "value"/,
    ],
  ])('refuses %s', (_what, value, message) => {
    const r = parseLabelSelector(value);
    expect(r.selector).toBeUndefined();
    expect(r.problems.join('\n')).toMatch(message);
  });
});

describe('labelsMatch', () => {
  const labels = { team: 'web', tier: 'prod' };
  it.each([
    [{ matchLabels: { team: 'web' } }, true],
    [{ matchLabels: { team: 'web', tier: 'dev' } }, false],
    [{ matchLabels: { owner: 'web' } }, false],
    [{ matchExpressions: [{ key: 'tier', operator: 'In', values: ['prod', 'staging'] }] }, true],
    [{ matchExpressions: [{ key: 'tier', operator: 'In', values: ['dev'] }] }, false],
    [{ matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['dev'] }] }, true],
    [{ matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['prod'] }] }, false],
    [{ matchExpressions: [{ key: 'missing', operator: 'NotIn', values: ['prod'] }] }, true],
    [{ matchExpressions: [{ key: 'team', operator: 'Exists' }] }, true],
    [{ matchExpressions: [{ key: 'missing', operator: 'Exists' }] }, false],
    [{ matchExpressions: [{ key: 'missing', operator: 'DoesNotExist' }] }, true],
    [{ matchExpressions: [{ key: 'team', operator: 'DoesNotExist' }] }, false],
    [
      { matchLabels: { team: 'web' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['dev'] }] },
      false,
    ],
  ])('%j on {team: web, tier: prod}: %s', (selector, ok) => {
    expect(labelsMatch(parsed(selector), labels)).toBe(ok);
  });

  it('does not take a key from the prototype for a label', () => {
    expect(labelsMatch(parsed({ matchExpressions: [{ key: 'constructor', operator: 'Exists' }] }), {})).toBe(
      false,
    );
  });
});
