import { describe, expect, it } from 'vitest';
import { buildAcl } from './acl.js';
import { CAPABILITY_BITS, capabilitiesOf } from './bits.js';
import { compilePattern } from './pattern.js';
import { aclOf, capsOf, type Rules } from './test-support.js';

// How a compiled ACL answers lookups: list requests, grantsUnder, allows, and agreement with
// Vault's algorithm on random rules. Matching and priority are in acl.test.ts.

describe('list requests', () => {
  it('lists a folder through the exact rule of the folder without its slash', async () => {
    const acl = await aclOf([{ 'secret/metadata/team-a': ['list'] }]);
    expect(capsOf(acl, 'secret/metadata/team-a/')).toEqual(['list']);
    expect(acl.allows('secret/metadata/team-a/', 'list')).toBe(true);
  });

  it('prefers the exact rule of the folder to a prefix that denies', async () => {
    const acl = await aclOf([{ 'secret/*': ['deny'], 'secret/metadata/team-a': ['list'] }]);
    expect(acl.allows('secret/metadata/team-a/', 'list')).toBe(true);
  });

  it('does not apply the list fallback to other requests', async () => {
    const acl = await aclOf([{ 'secret/metadata/team-a': ['list', 'read'] }]);
    expect(capsOf(acl, 'secret/metadata/team-a/', false)).toEqual([]);
    expect(acl.allows('secret/metadata/team-a/', 'read')).toBe(false);
  });

  it('lets a + pattern without a trailing slash match a list (Vault 1.15+)', async () => {
    const acl = await aclOf([{ '+/sys/policies/acl': ['list'] }]);
    expect(acl.allows('ns1/sys/policies/acl/', 'list')).toBe(true);
  });

  it('weighs the rules of both forms of a list path: the one that grants list wins', async () => {
    const acl = await aclOf([{ 'secret/fo*': ['read'], 'secret/foo/*': ['list'] }]);
    expect(acl.allows('secret/foo/', 'list')).toBe(true);
    expect(acl.allows('secret/foo/x', 'read')).toBe(false);
    expect(capsOf(acl, 'secret/foo/x')).toEqual(['list']);
  });

  it('refuses a list that a more specific prefix denies, though a broader rule grants it', async () => {
    // The trimmed path `secret/metadata/private` does not start with the deny's prefix
    // `secret/metadata/private/`; weighing only the trimmed form let the broad grant through.
    const acl = await aclOf([{ 'secret/metadata/*': ['list'], 'secret/metadata/private/*': ['deny'] }]);
    expect(acl.allows('secret/metadata/private/', 'list')).toBe(false);
    expect(capsOf(acl, 'secret/metadata/private/')).toEqual([]);
    expect(acl.allows('secret/metadata/public/', 'list')).toBe(true);
  });

  it('lets a more specific rule that grants list win over a broader deny', async () => {
    const acl = await aclOf([{ 'secret/*': ['deny'], 'secret/metadata/team-a/*': ['list'] }]);
    expect(acl.allows('secret/metadata/team-a/', 'list')).toBe(true);
    expect(acl.allows('secret/metadata/team-b/', 'list')).toBe(false);
  });

  it('lists through a prefix that ends in a slash', async () => {
    const acl = await aclOf([{ 'secret/metadata/team-a/*': ['list'] }]);
    expect(acl.allows('secret/metadata/team-a/', 'list')).toBe(true);
    expect(acl.allows('secret/metadata/team-b/', 'list')).toBe(false);
  });
});

describe('grantsUnder (which mounts a token may see named)', () => {
  it.each([
    [{ 'secret/data/team-a/*': ['read'] }, 'secret/', true],
    [{ 'secret/*': ['list'] }, 'secret/', true],
    [{ '*': ['read'] }, 'secret/', true],
    [{ 'secret/data/team-a': ['read'] }, 'secret/', true],
    // As Vault's CheckAllowedFromNonExactPaths(path, bareMount): a + rule whose first segments
    // match the mount reaches below it.
    [{ '+/data/*': ['read'] }, 'secret/', true],
    [{ '+/*': ['read'] }, 'secret/', true],
    [{ 'secret/data/+/dev/*': ['read'] }, 'secret/', true],
    [{ 'secret/+/dev': ['read'] }, 'team/kv/', false],
    [{ 'team/+/x/*': ['read'] }, 'team/kv/', true],
    [{ 'secret/data/+/dev/*': ['deny'] }, 'secret/', false],
    [{ 'secre/+/x': ['read'] }, 'secret/', false],
    [{ 'other/data/*': ['read'] }, 'secret/', false],
    [{ 'secret/data/*': ['deny'] }, 'secret/', false],
    [{ 'secretive/*': ['read'] }, 'secret/', false],
    [{}, 'secret/', false],
  ] as Array<[Rules, string, boolean]>)('%j under %s: %s', async (rules, path, expected) => {
    const acl = await aclOf([rules]);
    expect(acl.grantsUnder(path)).toBe(expected);
  });
});

describe('Acl.allows and the returned sets', () => {
  it('allows exactly the granted capabilities', async () => {
    const acl = await aclOf([{ 'secret/data/app': ['read', 'update'] }]);
    expect(acl.allows('secret/data/app', 'read')).toBe(true);
    expect(acl.allows('secret/data/app', 'update')).toBe(true);
    expect(acl.allows('secret/data/app', 'create')).toBe(false);
    expect(acl.allows('secret/data/other', 'read')).toBe(false);
  });

  it('allows nothing on a denied path, sudo included', async () => {
    const acl = await aclOf([{ 'sys/*': ['sudo', 'read'] }, { 'sys/*': ['deny'] }]);
    for (const c of ['read', 'sudo', 'list'] as const) expect(acl.allows('sys/audit', c)).toBe(false);
  });

  it('refuses to be asked about deny', async () => {
    const acl = await aclOf([{ 'secret/*': ['deny'] }]);
    expect(() => acl.allows('secret/x', 'deny')).toThrow(TypeError);
  });

  it('hands out sets that cannot be changed', async () => {
    const acl = await aclOf([{ 'secret/*': ['read'] }]);
    const caps = acl.capabilities('secret/x') as Set<string>;
    expect(() => caps.add('sudo')).toThrow(TypeError);
    expect(() => caps.clear()).toThrow(TypeError);
    expect(capsOf(acl, 'secret/x')).toEqual(['read']);
  });
});

describe('agreement with a literal transcription of Vault acl.go', () => {
  // Vault's AllowOperation and CheckAllowedFromNonExactPaths written out naively (every prefix
  // scanned, every + pattern collected and sorted), against the compiled ACL, on random rules.
  type Rule = { path: string; bits: number };
  const reference = (rules: Rule[], rawPath: string, list: boolean): number => {
    const exact = new Map<string, number>();
    const prefix = new Map<string, number>();
    const segment = new Map<string, number>();
    for (const { path, bits } of rules) {
      const sw = path === '+' || path.includes('/+') || path.startsWith('+/');
      const [tree, key] = sw
        ? [segment, path]
        : path.endsWith('*')
          ? [prefix, path.slice(0, -1)]
          : [exact, path];
      const old = tree.get(key);
      tree.set(key, old === undefined ? bits : (old | bits) & 1 ? 1 : old | bits);
    }
    type D = { firstWildcard: number; isPrefix: boolean; wildcards: number; wcPath: string; bits: number };
    // prefixAndWCCandidatesForPath
    const candidates = (path: string): D[] => {
      const descrs: D[] = [];
      const longest = [...prefix.keys()]
        .filter((k) => path.startsWith(k))
        .sort((a, b) => b.length - a.length)[0];
      if (longest !== undefined) {
        descrs.push({
          firstWildcard: longest.length,
          isPrefix: true,
          wildcards: 0,
          wcPath: longest,
          bits: prefix.get(longest)!,
        });
      }
      const pathParts = path.split('/');
      outer: for (const [full, bits] of segment) {
        const d: D = {
          firstWildcard: full.indexOf('+'),
          isPrefix: full.endsWith('*'),
          wildcards: 0,
          wcPath: '',
          bits,
        };
        d.wcPath = d.isPrefix ? full.slice(0, -1) : full;
        const parts = d.wcPath.split('/');
        if (pathParts.length < parts.length) continue;
        if (!d.isPrefix && parts.length !== pathParts.length) continue;
        for (let i = 0; i < parts.length; i++) {
          if (parts[i] === '+') d.wildcards++;
          else if (parts[i] === pathParts[i]) continue;
          else if (d.isPrefix && i === parts.length - 1 && pathParts[i]!.startsWith(parts[i]!)) continue;
          else continue outer;
        }
        descrs.push(d);
      }
      return descrs;
    };
    // wildcardPathDescriptorComparePriority
    const less = (a: D, b: D) =>
      a.firstWildcard !== b.firstWildcard
        ? a.firstWildcard < b.firstWildcard
        : a.isPrefix !== b.isPrefix
          ? a.isPrefix
          : a.wildcards !== b.wildcards
            ? a.wildcards > b.wildcards
            : a.wcPath.length !== b.wcPath.length
              ? a.wcPath.length < b.wcPath.length
              : a.wcPath < b.wcPath;
    const top = (descrs: D[]): D | undefined =>
      [...descrs].sort((a, b) => (less(a, b) ? -1 : less(b, a) ? 1 : 0))[descrs.length - 1];
    // resolveACLPermsForListOp
    const listOp = (all: D[]): number => {
      const bestDeny = top(all.filter((d) => d.bits & 1));
      const bestList = top(all.filter((d) => d.bits & CAPABILITY_BITS.list));
      if (bestDeny !== undefined && (bestList === undefined || less(bestList, bestDeny)))
        return bestDeny.bits;
      if (bestList !== undefined) return bestList.bits;
      return top(all)!.bits;
    };
    const path = rawPath.replace(/^\/+/, '');
    if (exact.has(path)) return exact.get(path)!;
    const trimmed = path.endsWith('/') ? path.slice(0, -1) : path;
    if (list && exact.has(trimmed)) return exact.get(trimmed)!;
    if (list && path.endsWith('/')) {
      const all = [...candidates(trimmed), ...candidates(path)];
      return all.length === 0 ? 0 : listOp(all);
    }
    return top(candidates(path))?.bits ?? 0;
  };

  it('gives the same capabilities for 20 000 random rule sets and paths', () => {
    // mulberry32: a small seeded generator, so that a failure replays.
    let seed = 42;
    const random = (n: number): number => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) % n;
    };
    const pick = <T>(xs: readonly T[]): T => xs[random(xs.length)] as T;
    const segments = ['a', 'b', 'ab', '+'];
    const pathSegments = ['a', 'b', 'ab', ''];
    for (let round = 0; round < 2000; round++) {
      const rules: Rule[] = [];
      for (let i = random(8) + 1; i > 0; i--) {
        let path = Array.from({ length: random(4) + 1 }, () => pick(segments)).join('/');
        if (random(2) === 0 && !path.endsWith('+')) path += '*';
        else if (random(4) === 0) path += '/*';
        rules.push({ path, bits: random(5) === 0 ? 1 : (random(63) + 1) << 1 });
      }
      const acl = buildAcl(rules.map((r) => ({ pattern: compilePattern(r.path), bits: r.bits })));
      for (let j = 0; j < 10; j++) {
        let path = Array.from({ length: random(3) + 1 }, () => pick(pathSegments)).join('/');
        if (random(3) === 0) path += '/';
        for (const list of [true, false]) {
          const expected = reference(rules, path, list);
          const got = [...acl.capabilities(path, { list })];
          expect({ rules, path, list, got }).toEqual({
            rules,
            path,
            list,
            got: expected & 1 ? [] : capabilitiesOf(expected),
          });
        }
      }
    }
  });
});
