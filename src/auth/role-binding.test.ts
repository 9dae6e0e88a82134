import { describe, expect, it } from 'vitest';
import type { AuthgateError } from '../errors.js';
import { checkServiceAccountBinding, sanitizePolicies } from './role-binding.js';

const outcome = (names: string[], namespaces: string[], sa: string, ns: string) => {
  try {
    checkServiceAccountBinding(
      { boundServiceAccountNames: names, boundServiceAccountNamespaces: namespaces },
      sa,
      ns,
    );
    return 'allowed';
  } catch (err) {
    return (err as AuthgateError).message;
  }
};

describe('checkServiceAccountBinding', () => {
  it.each([
    [['nginx'], ['test'], 'nginx', 'test', 'allowed'],
    [['*'], ['*'], 'anything', 'anywhere', 'allowed'],
    [['web-*'], ['team-*'], 'web-frontend', 'team-a', 'allowed'],
    [['web-*'], ['team-*'], 'api', 'team-a', 'service account name not authorized'],
    [['web-*'], ['team-*'], 'web-1', 'other', 'namespace not authorized'],
    [['nginx'], ['test'], 'Nginx', 'test', 'service account name not authorized'],
    [['a', 'b*'], ['x', 'y'], 'bee', 'y', 'allowed'],
    [['nginx'], ['test'], 'nginx', 'test2', 'namespace not authorized'],
    [['nginx'], ['*prod'], 'nginx', 'payments-prod', 'allowed'],
    [['nginx'], ['*-prod'], 'nginx', 'payments-dev', 'namespace not authorized'],
  ])('names %j namespaces %j with %s/%s → %s', (names, nss, sa, ns, expected) => {
    expect(outcome(names, nss, sa, ns)).toBe(expected);
  });

  it.each([
    ['a string starting with *', '*-prod'],
    ['a bare * string with more after it', '*x'],
  ])('never reads %s as "any namespace" (defence in depth; config refuses non-lists)', (_what, nss) => {
    expect(outcome(['nginx'], nss as unknown as string[], 'nginx', 'payments-dev')).not.toBe('allowed');
  });

  it('checks the name before the namespace, as Vault does', () => {
    expect(outcome(['a'], ['b'], 'x', 'y')).toBe('service account name not authorized');
  });
});

describe('sanitizePolicies', () => {
  it('adds default, lower-cases, de-duplicates and sorts', () => {
    expect(sanitizePolicies(['Dev', 'dev', ' ops '], true)).toEqual(['default', 'dev', 'ops']);
  });
  it('leaves default out when asked', () => {
    expect(sanitizePolicies(['dev'], false)).toEqual(['dev']);
  });
  it.each([[['root']], [['dev', 'Root']], [[' ROOT ']]])('never emits root: refuses %j', (policies) => {
    expect(() => sanitizePolicies(policies, true)).toThrow(TypeError);
    expect(() => sanitizePolicies(policies, false)).toThrow('auth methods cannot create root tokens');
  });
  it('allows policies that only contain the word root', () => {
    expect(sanitizePolicies(['root-ca', 'uproot'], false)).toEqual(['root-ca', 'uproot']);
  });
});
