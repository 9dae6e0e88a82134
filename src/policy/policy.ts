import type { AclEntry } from './acl.js';
import { bitsOf, capabilitiesOf, mergeBits } from './bits.js';
import { CAPABILITIES, isCapability, type Capability } from './capabilities.js';
import { problemAt, type PolicyOrigin } from './errors.js';
import { checkPattern, compilePattern, stripLeadingSlash } from './pattern.js';
import { parseTemplate, placeholderPath, type PathTemplate, type TemplateVar } from './template.js';

/** One path rule of a policy, normalized. */
export type PolicyRule = {
  /** The path pattern as written (leading `/` stripped, `{{…}}` directives kept). */
  readonly path: string;
  /**
   * In {@link CAPABILITIES} order, without duplicates; exactly `['deny']` when denied. A path
   * written twice in one policy is one rule: capabilities united, deny winning (Vault's merge).
   */
  readonly capabilities: readonly Capability[];
};

/** A loaded policy, as `sys/policies/acl/<name>` shows it. */
export type Policy = {
  /** Lowercase, as Vault stores names. */
  readonly name: string;
  /** In the order first written. */
  readonly rules: readonly PolicyRule[];
  /** Vault's `policy` field: the file's text as written, or an HCL rendering of an inline document. */
  readonly text: string;
  /** A file path, `policies.<name>` (the config file), or `built-in`. */
  readonly source: string;
  /** Whether any rule has `{{…}}` directives. */
  readonly templated: boolean;
};

/** A policy ready for ACLs: fixed rules compiled once, templated rules resolved per token. */
export type CompiledPolicy = {
  policy: Policy;
  statics: readonly AclEntry[];
  templated: readonly { template: PathTemplate; bits: number }[];
  /** The directives its templated rules use: part of the ACL cache key of a token holding it. */
  vars: readonly TemplateVar[];
};

/** A `path` block before validation, from any syntax. */
export type PathBlockInput = {
  path: string;
  line: number | undefined;
  entries: readonly { key: string; value: unknown; line: number | undefined }[];
};

const LEGACY_POLICY: Readonly<Record<string, readonly Capability[]>> = {
  deny: ['deny'],
  read: ['read', 'list'],
  write: ['create', 'read', 'update', 'delete', 'list'],
  sudo: ['create', 'read', 'update', 'delete', 'list', 'sudo'],
};

// Vault path keys that restrict what a capability allows. Ignoring one would grant more than the
// policy says, so a policy using any of them is refused outright (fail closed).
const UNSUPPORTED_KEYS = new Set([
  'allowed_parameters',
  'denied_parameters',
  'required_parameters',
  'min_wrapping_ttl',
  'max_wrapping_ttl',
  'mfa_methods',
  'control_group',
  'subscribe_event_types',
]);

const NAME = /^[a-z0-9][a-z0-9._-]*$/;
const NAME_MAX = 128;

/** Vault's normalization of policy names: trimmed, lowercase. */
export const normalizePolicyName = (name: string): string => name.trim().toLowerCase();

/** Why a normalized name is refused, or `undefined`. `root` is Vault's reserved name. */
export const checkPolicyName = (name: string): string | undefined => {
  if (name === 'root') return '"root" is reserved: the admin token is the only root';
  if (name.length > NAME_MAX) return `the name is longer than ${NAME_MAX} characters`;
  if (!NAME.test(name)) {
    return 'a policy name has letters, digits, ".", "_" and "-", and starts with a letter or digit';
  }
  return undefined;
};

const capabilityList = (value: unknown): { caps: Capability[]; problem?: string } => {
  if (!Array.isArray(value) || value.length === 0) {
    return { caps: [], problem: 'capabilities must be a non-empty list, e.g. ["read", "list"]' };
  }
  const caps: Capability[] = [];
  const unknown: string[] = [];
  for (const c of value) {
    if (isCapability(c)) caps.push(c);
    else unknown.push(typeof c === 'string' ? JSON.stringify(c) : String(c));
  }
  if (unknown.length > 0) {
    return { caps, problem: `unknown capability ${unknown.join(', ')} (known: ${CAPABILITIES.join(', ')})` };
  }
  return { caps };
};

const blockBits = (block: PathBlockInput, report: Report): number | undefined => {
  const seen = new Set<string>();
  let caps: Capability[] | undefined;
  let ok = true;
  const fail = (line: number | undefined, message: string) => {
    report(line ?? block.line, `path ${JSON.stringify(block.path)}: ${message}`);
    ok = false;
  };
  for (const { key, value, line } of block.entries) {
    if (seen.has(key)) {
      fail(line, `"${key}" is set twice`);
      continue;
    }
    seen.add(key);
    if (key === 'capabilities') {
      const { caps: list, problem } = capabilityList(value);
      if (problem !== undefined) fail(line, problem);
      caps = [...(caps ?? []), ...list];
    } else if (key === 'policy') {
      // Vault's pre-0.9 form, still accepted by Vault: a single word that maps to capabilities.
      const legacy =
        typeof value === 'string' && Object.hasOwn(LEGACY_POLICY, value) ? LEGACY_POLICY[value] : undefined;
      if (legacy === undefined)
        fail(line, `invalid policy ${JSON.stringify(value)} (deny, read, write or sudo)`);
      else caps = [...(caps ?? []), ...legacy];
    } else if (key === 'comment') {
      if (typeof value !== 'string') fail(line, 'comment must be a string');
    } else if (UNSUPPORTED_KEYS.has(key)) {
      fail(
        line,
        `"${key}" is not supported by authgate; refusing the policy rather than ignoring a restriction`,
      );
    } else {
      fail(line, `unknown key "${key}" (a path block takes capabilities, and optionally comment)`);
    }
  }
  if (caps === undefined && ok) fail(block.line, 'capabilities is missing');
  return ok && caps !== undefined ? bitsOf(caps) : undefined;
};

/** Records a problem of the policy being compiled, at a line of its source where known. */
export type Report = (line: number | undefined, message: string) => void;

/**
 * Runs `compile` with a {@link Report}, then appends what it reported to `problems`, ordered by
 * line, in the common format. The result is `undefined` when anything was reported.
 */
export const collectProblems = <T>(
  origin: PolicyOrigin,
  problems: string[],
  compile: (report: Report) => T | undefined,
): T | undefined => {
  const found: { line: number | undefined; message: string }[] = [];
  const result = compile((line, message) => found.push({ line, message }));
  found.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
  for (const { line, message } of found) problems.push(problemAt(origin, line, message));
  return found.length > 0 ? undefined : result;
};

/**
 * Validates and compiles a policy's path blocks, reporting every problem found (not only the
 * first); the result is `undefined` when there was any.
 */
export const compileBlocks = (
  origin: PolicyOrigin,
  blocks: readonly PathBlockInput[],
  text: string,
  report: Report,
): CompiledPolicy | undefined => {
  let failed = false;
  const fail: Report = (line, message) => {
    failed = true;
    report(line, message);
  };
  const nameProblem = checkPolicyName(origin.name);
  if (nameProblem !== undefined) fail(undefined, nameProblem);

  // Same path twice in one policy: one rule, merged as NewACL merges (deny wins, else union).
  const merged = new Map<string, { bits: number; template: PathTemplate | undefined }>();
  for (const block of blocks) {
    const path = stripLeadingSlash(block.path);
    const template = parseTemplate(path);
    if (typeof template === 'string') {
      fail(block.line, `path ${JSON.stringify(block.path)}: ${template}`);
      continue;
    }
    const shape = checkPattern(template === undefined ? path : placeholderPath(template));
    if (shape !== undefined) fail(block.line, `path ${JSON.stringify(block.path)}: ${shape}`);
    const bits = blockBits(block, fail);
    if (shape !== undefined || bits === undefined) continue;
    const existing = merged.get(path);
    merged.set(path, { bits: existing === undefined ? bits : mergeBits(existing.bits, bits), template });
  }
  if (failed) return undefined;

  const rules: PolicyRule[] = [];
  const statics: AclEntry[] = [];
  const templated: { template: PathTemplate; bits: number }[] = [];
  const vars = new Set<TemplateVar>();
  for (const [path, { bits, template }] of merged) {
    rules.push({ path, capabilities: capabilitiesOf(bits) });
    if (template === undefined) {
      statics.push({ pattern: compilePattern(path), bits });
    } else {
      templated.push({ template, bits });
      for (const v of template.vars) vars.add(v);
    }
  }
  return {
    policy: { name: origin.name, rules, text, source: origin.source, templated: templated.length > 0 },
    statics,
    templated,
    vars: [...vars],
  };
};
