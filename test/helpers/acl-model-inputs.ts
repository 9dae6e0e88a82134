import fc from 'fast-check';
import { stringify } from 'yaml';
import type { Capability } from '../../src/policy/index.js';
import {
  directiveValue,
  type Operation,
  type RefSubject,
  type WrittenPolicy,
  type WrittenRule,
} from './acl-reference.js';

/*
 * The generated inputs of test/acl-model.test.ts: policies over a small alphabet of segments (so
 * that rules collide, nest and compete), their text in each syntax authgate reads, token
 * identities for templated rules (unsafe values included), and requests.
 */

/** The accessor the long-form directives name, and another mount's. */
export const ACCESSOR = 'auth_kubernetes_0a0a0a0a';
export const OTHER_ACCESSOR = 'auth_kubernetes_0b0b0b0b';

/** Every directive authgate knows, the long form naming `accessor` (spaces inside are trimmed). */
export const directivesFor = (accessor: string): readonly string[] => [
  '{{identity.namespace}}',
  '{{identity.service_account}}',
  '{{ identity.role }}',
  '{{identity.pod}}',
  '{{identity.pod_uid}}',
  '{{identity.entity.id}}',
  `{{identity.entity.aliases.${accessor}.metadata.service_account_namespace}}`,
  `{{identity.entity.aliases.${accessor}.metadata.service_account_uid}}`,
];

const GRANTS: readonly Capability[] = ['create', 'read', 'update', 'patch', 'delete', 'list', 'sudo'];
export const OPERATIONS: readonly Operation[] = ['read', 'list', 'create', 'update', 'patch', 'delete'];

/** Capabilities of a rule: a few grants; sometimes `deny`, alone or among them. */
export const capabilities: fc.Arbitrary<Capability[]> = fc.oneof(
  { weight: 4, arbitrary: fc.subarray([...GRANTS], { minLength: 1, maxLength: 6 }) },
  { weight: 1, arbitrary: fc.constant<Capability[]>(['deny']) },
  {
    weight: 1,
    arbitrary: fc.subarray([...GRANTS], { minLength: 1, maxLength: 2 }).map((c) => [...c, 'deny' as const]),
  },
);

export type PathShape = {
  /** Literal text before the generated segments (`secret/data/`), or ''. */
  heads: readonly string[];
  /** Literal segments. */
  literals: readonly string[];
  /** The `{{…}}` segments that may appear. */
  directives: readonly string[];
  maxSegments: number;
};

/**
 * A valid policy path: segments of `literals`, `+` and directives, maybe ended by a `*` (glued to
 * a literal segment, or as a segment of its own), maybe with a leading `/`.
 */
export const policyPath = (shape: PathShape): fc.Arbitrary<string> =>
  fc
    .record({
      lead: fc.boolean(),
      head: fc.constantFrom(...shape.heads),
      segments: fc.array(
        fc.oneof(
          { weight: 5, arbitrary: fc.constantFrom(...shape.literals) },
          { weight: 2, arbitrary: fc.constant('+') },
          ...(shape.directives.length > 0
            ? [{ weight: 2, arbitrary: fc.constantFrom(...shape.directives) }]
            : []),
        ),
        { minLength: 1, maxLength: shape.maxSegments },
      ),
      star: fc.constantFrom('none', 'glued', 'segment'),
    })
    .map(({ lead, head, segments, star }) => {
      const last = segments[segments.length - 1] as string;
      // `+*` is refused, and so is a directive not ending its segment: glue `*` to literals only.
      const glued = star === 'glued' && last !== '+' && !last.startsWith('{{');
      const body = `${head}${segments.join('/')}${glued ? '*' : star === 'segment' ? '/*' : ''}`;
      return `${lead ? '/' : ''}${body}`;
    })
    .filter((p) => p.replace(/^\//, '') !== '');

export const rule = (shape: PathShape): fc.Arbitrary<WrittenRule> =>
  fc.record({ path: policyPath(shape), capabilities });

/** How a policy is written: HCL (in several styles, the legacy `policy = "…"` where it maps) or a document. */
export type Syntax = 'hcl' | 'hcl-legacy' | 'hcl-json' | 'json' | 'yaml' | 'document';
export type GeneratedPolicy = WrittenPolicy & { syntax: Syntax };

export const policies = (shape: PathShape, names: readonly string[]): fc.Arbitrary<GeneratedPolicy[]> =>
  fc.tuple(
    ...names.map((name) =>
      fc.record({
        name: fc.constant(name),
        rules: fc.array(rule(shape), { maxLength: 5 }),
        syntax: fc.constantFrom<Syntax>('hcl', 'hcl-legacy', 'hcl-json', 'json', 'yaml', 'document'),
      }),
    ),
  );

const LEGACY: Record<string, readonly Capability[]> = {
  deny: ['deny'],
  read: ['read', 'list'],
  write: ['create', 'read', 'update', 'delete', 'list'],
  sudo: ['create', 'read', 'update', 'delete', 'list', 'sudo'],
};
const sameSet = (a: readonly string[], b: readonly string[]) =>
  new Set(a).size === new Set(b).size && a.every((x) => b.includes(x));

/**
 * Vault's JSON shape; a path written twice becomes one key whose capabilities are the union (JSON
 * and YAML refuse duplicate keys): the same rule, as Vault merges them (deny wins, else union).
 */
export const documentOf = (p: WrittenPolicy) => {
  const path: Record<string, { capabilities: Capability[] }> = {};
  for (const r of p.rules) {
    const existing = path[r.path]?.capabilities ?? [];
    path[r.path] = { capabilities: [...new Set([...existing, ...r.capabilities])] };
  }
  return { path };
};

/** HCL as people write it: blocks, comments, the `{` on the next line, a path written twice. */
export const hclOf = (p: WrittenPolicy, legacy: boolean): string =>
  p.rules
    .map((r, i) => {
      const word = Object.keys(LEGACY).find((w) => sameSet(LEGACY[w] as Capability[], r.capabilities));
      const body =
        legacy && word !== undefined
          ? `policy = "${word}"`
          : `capabilities = [${r.capabilities.map((c) => `"${c}"`).join(', ')}${i % 2 ? ',' : ''}]`;
      return i % 3 === 1
        ? `# rule ${i}\npath "${r.path}"\n{\n  ${body}\n}\n`
        : `path "${r.path}" { ${body} } // rule ${i}\n`;
    })
    .join('');

/** The policy's text in its syntax; `undefined` for a document (given as an object). */
export const textOf = (p: GeneratedPolicy): { text: string; ext: string } | undefined => {
  switch (p.syntax) {
    case 'hcl':
    case 'hcl-legacy':
      return { text: hclOf(p, p.syntax === 'hcl-legacy'), ext: 'hcl' };
    case 'hcl-json':
      return { text: JSON.stringify(documentOf(p), null, 1), ext: 'hcl' };
    case 'json':
      return { text: JSON.stringify(documentOf(p)), ext: 'json' };
    case 'yaml':
      return { text: stringify(documentOf(p)), ext: 'yaml' };
    case 'document':
      return undefined;
  }
};

/** A template value: a plausible name, or one that must never be placed (empty, `/`, `..`, `*`, `+`, `.`). */
export const VALUES = ['a', 'b', 'ab', 'x', 'team-a', '', '.', '..', 'a/b', '*', '+', 'a..b'] as const;
const value = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('a', 'b', 'ab', 'x', 'team-a') },
  { weight: 2, arbitrary: fc.constantFrom(...VALUES) },
);
const maybe = (v: fc.Arbitrary<string>) => fc.option(v, { nil: undefined, freq: 4 });

/** A token's identity, as the registry sees it. */
export const subject = (names: readonly string[]): fc.Arbitrary<RefSubject> =>
  fc
    .record({
      // Mostly the generated policies, in any order; sometimes `default`, unknown names, `root`.
      policies: fc
        .tuple(
          fc.shuffledSubarray([...names], { minLength: 1 }),
          fc.array(fc.constantFrom(...names, 'default', 'unknown', 'root'), { maxLength: 2 }),
        )
        .map(([some, more]) => [...some, ...more]),
      namespace: value,
      serviceAccount: value,
      uid: value,
      pod: maybe(value),
      podUid: maybe(value),
      role: value,
      entityId: value,
      mountAccessor: fc.constantFrom(ACCESSOR, ACCESSOR, OTHER_ACCESSOR),
    })
    .map((s) => ({
      policies: s.policies,
      metadata: {
        role: s.role,
        service_account_name: s.serviceAccount,
        service_account_namespace: s.namespace,
        service_account_uid: s.uid,
        service_account_secret_name: '',
        ...(s.pod === undefined ? {} : { pod_name: s.pod }),
        ...(s.podUid === undefined ? {} : { pod_uid: s.podUid }),
      },
      role: s.role,
      mountAccessor: s.mountAccessor,
      entityId: s.entityId,
    }));

/**
 * A request path: segments of `literals` (which may hold `+` and `*`, read literally), maybe
 * empty ones, leading or trailing slashes.
 */
export const requestPath = (heads: readonly string[], literals: readonly string[]): fc.Arbitrary<string> =>
  fc
    .record({
      lead: fc.constantFrom('', '', '', '/', '//'),
      head: fc.constantFrom(...heads),
      segments: fc.array(fc.constantFrom(...literals), { maxLength: 4 }),
      trail: fc.constantFrom('', '', '/'),
    })
    .map(({ lead, head, segments, trail }) => `${lead}${head}${segments.join('/')}${trail}`);

/**
 * A request path: `raw`, as generated; or derived from the `rule`-th rule of the token's policies
 * (modulo their number), so that requests land on, beside and under what the rules name: its
 * directives filled with the token's values, its `+` segments with `fills`, its `*` with `tail`.
 */
export type PathSpec =
  | { kind: 'raw'; path: string }
  | { kind: 'derived'; rule: number; fills: string[]; tail: string; trail: '' | '/'; lead: '' | '/' };

export const pathSpec = (heads: readonly string[], literals: readonly string[]): fc.Arbitrary<PathSpec> =>
  fc.oneof(
    { weight: 1, arbitrary: requestPath(heads, literals).map((path) => ({ kind: 'raw' as const, path })) },
    {
      weight: 3,
      arbitrary: fc.record({
        kind: fc.constant('derived' as const),
        rule: fc.nat(),
        fills: fc.array(fc.constantFrom(...literals), { minLength: 1, maxLength: 3 }),
        tail: fc.constantFrom('', '', 'b', 'a/b', '/', '/a', 'b/'),
        trail: fc.constantFrom<'' | '/'>('', '', '/'),
        lead: fc.constantFrom<'' | '/'>('', '', '', '/'),
      }),
    },
  );

/** The path a spec names for a token holding `policies`. */
export const pathOf = (spec: PathSpec, policies: readonly WrittenPolicy[], s: RefSubject): string => {
  if (spec.kind === 'raw') return spec.path;
  const rules = policies.flatMap((p) => p.rules);
  if (rules.length === 0) return spec.lead + spec.tail;
  const written = (rules[spec.rule % rules.length] as WrittenRule).path.replace(/^\//, '');
  const filled = written.replace(/\{\{([^}]*)\}\}/g, (_, d: string) => directiveValue(d.trim(), s) ?? 'x');
  const star = filled.endsWith('*');
  const segments = (star ? filled.slice(0, -1) : filled)
    .split('/')
    .map((seg, i) => (seg === '+' ? (spec.fills[i % spec.fills.length] as string) : seg));
  return `${spec.lead}${segments.join('/')}${star ? spec.tail : ''}${spec.trail}`;
};
