import type { AclSubject } from './subject.js';

/**
 * Templated policy paths (`secret/data/{{identity.namespace}}/*`), resolved per token from its
 * identity as Vault's `identitytpl.PopulateString` does in ACL mode. Directives are checked when
 * the policy loads (an unknown one is an error); a rule whose directive has no value for a token,
 * or whose value is unsafe, is dropped for that token: it never matches.
 */

/**
 * The alias metadata keys of a Kubernetes login: what Vault's kubernetes auth method puts on the
 * entity alias (path_login.go), so `{{identity.entity.aliases.<accessor>.metadata.<key>}}`
 * grants exactly what it grants in Vault. The token's other metadata (`role`, `pod_name`,
 * `pod_uid`) is not alias metadata there: its long form would never match in Vault, so it is
 * refused here, and the short directives name it.
 */
export const TEMPLATE_METADATA_KEYS = [
  'service_account_namespace',
  'service_account_name',
  'service_account_uid',
  'service_account_secret_name',
] as const;

/** A value a template draws from a token. `id` is unique per source and is part of ACL cache keys. */
export type TemplateVar = { id: string; resolve: (subject: AclSubject) => string | undefined };

export type PathTemplate = {
  /** Literal text and directives, in order. */
  pieces: readonly (string | TemplateVar)[];
  /** Distinct directives used. */
  vars: readonly TemplateVar[];
};

const metadataVar = (key: string): TemplateVar => ({
  id: `m:${key}`,
  resolve: (s) => s.metadata[key],
});

const SHORT: Readonly<Record<string, TemplateVar>> = {
  'identity.namespace': metadataVar('service_account_namespace'),
  'identity.service_account': metadataVar('service_account_name'),
  'identity.pod': metadataVar('pod_name'),
  'identity.pod_uid': metadataVar('pod_uid'),
  'identity.role': { id: 'role', resolve: (s) => s.role },
  'identity.entity.id': { id: 'entity_id', resolve: (s) => s.entityId },
};

const aliasVars = new Map<string, TemplateVar>();
// `identity.entity.aliases.<mount accessor>.metadata.<key>`: the value only for a token of that
// mount. Another mount's token gets nothing, as in Vault, where the entity has no such alias.
const aliasVar = (accessor: string, key: string): TemplateVar => {
  const id = `a:${accessor}:${key}`;
  let v = aliasVars.get(id);
  if (v === undefined) {
    v = { id, resolve: (s) => (s.mountAccessor === accessor ? s.metadata[key] : undefined) };
    aliasVars.set(id, v);
  }
  return v;
};

const ALIAS = /^identity\.entity\.aliases\.([^.]+)\.(.+)$/;

/** The directive's variable, or why it is refused. */
const directive = (input: string): TemplateVar | string => {
  // Own keys only: `{{constructor}}` must not find what every object inherits.
  const short = Object.hasOwn(SHORT, input) ? SHORT[input] : undefined;
  if (short !== undefined) return short;
  const alias = ALIAS.exec(input);
  if (alias !== null) {
    const [, accessor = '', rest = ''] = alias;
    if (rest.startsWith('metadata.')) {
      const key = rest.slice('metadata.'.length);
      if ((TEMPLATE_METADATA_KEYS as readonly string[]).includes(key)) return aliasVar(accessor, key);
      return `unknown alias metadata key "${key}" in {{${input}}} (known: ${TEMPLATE_METADATA_KEYS.join(', ')})`;
    }
    return `{{${input}}} is not available in authgate (alias ${rest.split('.')[0] ?? ''} is not mapped; use metadata.<key>)`;
  }
  if (
    input.startsWith('identity.entity.') ||
    input.startsWith('identity.groups.') ||
    input.startsWith('time.')
  ) {
    return `{{${input}}} is not available in authgate (no Vault entity metadata, groups or time here)`;
  }
  return `unknown template {{${input}}} (known: ${[...Object.keys(SHORT), 'identity.entity.aliases.<mount accessor>.metadata.<key>'].map((k) => `{{${k}}}`).join(', ')})`;
};

/**
 * Parses the directives of a policy path, with Vault's rules: `{{` and `}}` balanced, spaces
 * inside trimmed. `undefined` when the path has none.
 * @returns the template, or a problem message.
 */
export const parseTemplate = (path: string): PathTemplate | string | undefined => {
  const split = path.split('{{');
  if ((split[0] ?? '').includes('}}')) return 'unbalanced templating characters ("}}" without "{{")';
  if (split.length === 1) return undefined;
  const pieces: (string | TemplateVar)[] = [];
  const vars = new Set<TemplateVar>();
  if (split[0] !== '') pieces.push(split[0] as string);
  // What comes before the directive: the path's start, or a literal that ends its segment.
  let before: string | undefined = split[0] as string;
  for (const part of split.slice(1)) {
    const inner = part.split('}}');
    if (inner.length !== 2) return 'unbalanced templating characters ("{{" without "}}")';
    const v = directive((inner[0] as string).trim());
    if (typeof v === 'string') return v;
    // The same from the other side: `prod-{{identity.namespace}}` would give namespace `a` of
    // one role the path of namespace `prod-a` of another, and `{{a}}{{b}}` joins two values.
    if (before === undefined || (before !== '' && !before.endsWith('/'))) {
      const last = before === undefined ? '}}' : `${before.at(-1) ?? ''}`;
      return `{{${(inner[0] as string).trim()}}} must start its path segment (follow "/" or begin the path), not follow "${last}"`;
    }
    pieces.push(v);
    vars.add(v);
    const after = inner[1] as string;
    // A value must be a whole segment: `{{identity.namespace}}*` would let namespace `team` reach
    // `team-b`, and `{{…}}suffix` blurs which value a segment came from.
    if (after !== '' && !after.startsWith('/')) {
      return `{{${(inner[0] as string).trim()}}} must end its path segment (be followed by "/" or end the path), not by "${after[0] ?? ''}"`;
    }
    if (after !== '') pieces.push(after);
    before = after === '' ? undefined : after;
  }
  return { pieces, vars: [...vars] };
};

/**
 * Whether a resolved value may go into a path. Vault refuses `*` and `+`; authgate also refuses
 * `/` and `..` (a value must stay within one path segment: a namespace must not reach into
 * `secret/data/<ns>/../other`), `.`, control characters and the empty value. Kubernetes names
 * never contain any of these, so this only ever bites a forged or broken identity.
 */
export const isSafeTemplateValue = (value: string | undefined): value is string => {
  if (value === undefined || value === '' || value === '.' || value.includes('..')) return false;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    // '/' 47, '*' 42, '+' 43, control characters and DEL
    if (c === 47 || c === 42 || c === 43 || c < 32 || c === 127) return false;
  }
  return true;
};

/** The path for a subject, or `undefined` when a directive has no safe value (the rule is dropped). */
export const resolveTemplate = (template: PathTemplate, subject: AclSubject): string | undefined => {
  let out = '';
  for (const piece of template.pieces) {
    if (typeof piece === 'string') {
      out += piece;
      continue;
    }
    const value = piece.resolve(subject);
    if (!isSafeTemplateValue(value)) return undefined;
    out += value;
  }
  return out;
};

/** The path with every directive replaced by a plain segment: what load-time checks inspect. */
export const placeholderPath = (template: PathTemplate): string =>
  template.pieces.map((p) => (typeof p === 'string' ? p : 'x')).join('');
