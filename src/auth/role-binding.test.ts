import { describe, expect, it } from 'vitest';
import type { AuthgateError } from '../errors.js';
import { parseLabelSelector, type LabelSelector } from '../lib/label-selector.js';
import { checkNamespaceSelector, checkServiceAccountBinding, sanitizePolicies } from './role-binding.js';

const outcome = (names: string[], namespaces: string[], sa: string, ns: string) => {
  try {
    checkServiceAccountBinding(
      {
        boundServiceAccountNames: names,
        boundServiceAccountNamespaces: namespaces,
        boundServiceAccountNamespaceSelector: undefined,
      },
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

describe('namespace selectors', () => {
  const selector = (value: unknown): { text: string; selector: LabelSelector } => ({
    text: JSON.stringify(value),
    selector: parseLabelSelector(value).selector as LabelSelector,
  });
  const role = {
    boundServiceAccountNames: ['nginx'],
    boundServiceAccountNamespaces: ['test'],
    boundServiceAccountNamespaceSelector: selector({ matchLabels: { team: 'web' } }),
  };
  const reader = (labels: Record<string, Record<string, string>>) => ({
    asked: [] as string[],
    async labelsOf(ns: string) {
      this.asked.push(ns);
      return labels[ns];
    },
  });

  it('admits a listed namespace without the selector, and leaves any other to it', () => {
    expect(checkServiceAccountBinding(role, 'nginx', 'test')).toBe(true);
    expect(checkServiceAccountBinding(role, 'nginx', 'web-a')).toBe(false);
  });

  it('still refuses a service account name before looking at namespaces', () => {
    expect(() => checkServiceAccountBinding(role, 'other', 'web-a')).toThrow(
      'service account name not authorized',
    );
  });

  it('admits a namespace whose labels match, and refuses one whose labels do not or that does not exist', async () => {
    const r = reader({ 'web-a': { team: 'web' }, 'api-a': { team: 'api' } });
    await expect(checkNamespaceSelector(role, 'web-a', r)).resolves.toBeUndefined();
    await expect(checkNamespaceSelector(role, 'api-a', r)).rejects.toMatchObject({
      status: 403,
      message: 'namespace not authorized',
      reason: 'namespace_not_selected',
    });
    await expect(checkNamespaceSelector(role, 'gone', r)).rejects.toMatchObject({
      status: 403,
      message: 'namespace not authorized',
      reason: 'namespace_not_found',
    });
    expect(r.asked).toEqual(['web-a', 'api-a', 'gone']);
  });

  it('passes on what the reader rejects with (a 503 stays a 503)', async () => {
    const down = new Error('down');
    await expect(
      checkNamespaceSelector(role, 'web-a', {
        labelsOf: () => Promise.reject(down),
      }),
    ).rejects.toBe(down);
  });

  it('is a bug (TypeError) without a selector or a reader', async () => {
    await expect(checkNamespaceSelector(role, 'web-a', undefined)).rejects.toThrow(TypeError);
    await expect(
      checkNamespaceSelector({ boundServiceAccountNamespaceSelector: undefined }, 'web-a', reader({})),
    ).rejects.toThrow(TypeError);
  });
});
