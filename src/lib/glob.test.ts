import { describe, expect, it } from 'vitest';
import { globListMatch, globMatch } from './glob.js';

describe('globMatch (Vault go-glob semantics)', () => {
  it.each([
    ['*', '', true],
    ['*', 'anything/at.all', true],
    ['nginx', 'nginx', true],
    ['nginx', 'nginx2', false],
    ['nginx', 'Nginx', false],
    ['ng*', 'nginx', true],
    ['*x', 'nginx', true],
    ['*x', 'nginy', false],
    ['n*i*x', 'nginx', true],
    ['n*i*x', 'ngnx', false],
    ['a*b*a', 'aba', true],
    ['a*a', 'a', false],
    ['team-*-prod', 'team-payments-prod', true],
    ['team-*-prod', 'team-payments-dev', false],
    ['', '', true],
    ['', 'x', false],
    ['?', 'a', false],
    ['[a]', 'a', false],
  ])('pattern %j against %j → %s', (pattern, subject, expected) => {
    expect(globMatch(pattern, subject)).toBe(expected);
  });

  it('matches a list when any entry matches and refuses when none does', () => {
    expect(globListMatch(['a', 'b*'], 'bee')).toBe(true);
    expect(globListMatch(['a', 'b*'], 'cee')).toBe(false);
    expect(globListMatch([], 'x')).toBe(false);
  });
});
