import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { LRUCache } from 'lru-cache';
import { buildAcl, type Acl, type AclEntry, type CompiledAcl } from './acl.js';
import { DENY_BIT } from './bits.js';
import type { Capability } from './capabilities.js';
import { BUILT_IN_DEFAULT } from './default-policy.js';
import { PolicyLoadError, problemAt } from './errors.js';
import { grantingPolicies, type HeldPolicy } from './granting.js';
import { compileDocumentPolicy, compilePolicyText, type PolicyFormat } from './parse.js';
import { compilePattern } from './pattern.js';
import { checkPolicyName, normalizePolicyName, type CompiledPolicy, type Policy } from './policy.js';
import type { AclSubject } from './subject.js';
import { isSafeTemplateValue, resolveTemplate, type TemplateVar } from './template.js';

/** Where policies come from (the config's `policies` and `policy_dir`; same shape as `PolicySourcesConfig`). */
export type PolicySources = {
  /** `policies.<name>`: a document in Vault's JSON shape, or a string of HCL. */
  inline: Record<string, unknown>;
  /** `policy_dir`: `*.hcl`, `*.json`, `*.yaml`/`*.yml`, each one policy named after the file. */
  dir: string | undefined;
};

/** The logger calls the registry makes (pino's signature). */
export type PolicyLog = {
  info(fields: object, event: string): void;
  warn(fields: object, event: string): void;
};

export type PolicyRegistryDeps = {
  log: PolicyLog;
  /** Compiled ACLs kept (LRU), one per distinct policy set and template values. Default 10 000. */
  maxCachedAcls?: number;
};

const FORMATS: Readonly<Record<string, PolicyFormat>> = {
  '.hcl': 'hcl',
  '.json': 'json',
  '.yaml': 'yaml',
  '.yml': 'yaml',
};
const MAX_FILE_BYTES = 1024 * 1024;
const DEFAULT_MAX_CACHED_ACLS = 10_000;
// Names never contain these (checkPolicyName), nor do safe template values (control characters
// are unsafe), so cache keys built with them cannot collide.
const NAME_SEP = '\n';
const VALUE_SEP = '\u0000';
const NO_VALUE = '\u0001';
const MAX_WARNED = 1000;

/** The policies held by one token, found once per distinct set. */
type Group = {
  policies: readonly CompiledPolicy[];
  vars: readonly TemplateVar[];
  statics: readonly AclEntry[];
  /** The ACL, when no policy of the set is templated: the same for every token holding the set. */
  acl: CompiledAcl | undefined;
};

type State = {
  policies: ReadonlyMap<string, CompiledPolicy>;
  names: readonly string[];
  groups: LRUCache<string, Group>;
  acls: LRUCache<string, CompiledAcl>;
  /** Unknown policy names already logged, so that a misconfigured role logs once per load, not per request. */
  warned: Set<string>;
};

const errorCode = (error: unknown): string => (error as NodeJS.ErrnoException).code ?? String(error);

/**
 * The loaded policies and the ACL of each token. `load` replaces the whole set atomically: it
 * parses every source first and, on any problem, throws {@link PolicyLoadError} listing them
 * all and keeps the previous set. `aclFor` is on every request's path: it finds a cached ACL by
 * the token's policy names and the template values they use, and compiles one (merging the
 * policies' precompiled rules) only on a miss. Caches are dropped on each successful load.
 *
 * Until the first `load`, only the built-in `default` policy exists.
 * @throws TypeError when `maxCachedAcls` is not a positive integer.
 */
export const createPolicyRegistry = (deps: PolicyRegistryDeps) => {
  const max = deps.maxCachedAcls ?? DEFAULT_MAX_CACHED_ACLS;
  if (!Number.isInteger(max) || max < 1) throw new TypeError('maxCachedAcls must be a positive integer');

  const newState = (policies: Map<string, CompiledPolicy>): State => ({
    policies,
    names: [...policies.keys()].sort(),
    groups: new LRUCache({ max }),
    acls: new LRUCache({ max }),
    warned: new Set(),
  });
  let state = newState(new Map([['default', BUILT_IN_DEFAULT]]));

  const readDir = async (dir: string, problems: string[], add: (name: string, source: string) => boolean) => {
    const found: CompiledPolicy[] = [];
    let entries: string[];
    try {
      entries = (await readdir(dir)).sort();
    } catch (error) {
      problems.push(`policy_dir ${dir}: cannot be read (${errorCode(error)})`);
      return found;
    }
    const ignored: string[] = [];
    for (const entry of entries) {
      // Hidden files, and the `..data` / `..<timestamp>` entries of a mounted ConfigMap.
      if (entry.startsWith('.')) continue;
      const ext = extname(entry);
      const format = FORMATS[ext.toLowerCase()];
      if (format === undefined) {
        ignored.push(entry);
        continue;
      }
      const file = join(dir, entry);
      const name = normalizePolicyName(entry.slice(0, -ext.length));
      let text: string;
      try {
        const info = await stat(file); // follows symlinks, as ConfigMap files are
        if (!info.isFile()) {
          ignored.push(entry);
          continue;
        }
        if (info.size > MAX_FILE_BYTES) {
          problems.push(
            problemAt({ name, source: file }, undefined, `file larger than ${MAX_FILE_BYTES} bytes`),
          );
          continue;
        }
        text = await readFile(file, 'utf8');
      } catch (error) {
        problems.push(problemAt({ name, source: file }, undefined, `cannot be read (${errorCode(error)})`));
        continue;
      }
      if (!add(name, file)) continue;
      const compiled = compilePolicyText({ name, source: file }, text, format, problems);
      if (compiled !== undefined) found.push(compiled);
    }
    if (ignored.length > 0)
      deps.log.info({ event: 'policy.files_ignored', dir, files: ignored }, 'policy.files_ignored');
    return found;
  };

  const parseSources = async (sources: PolicySources): Promise<Map<string, CompiledPolicy>> => {
    if (
      typeof sources !== 'object' ||
      sources === null ||
      typeof sources.inline !== 'object' ||
      sources.inline === null
    ) {
      throw new TypeError('policy sources must be { inline: object, dir: string | undefined }');
    }
    const problems: string[] = [];
    const origins = new Map<string, string>();
    // Registers a name; false (with a problem) when it is refused or already defined.
    const add = (name: string, source: string): boolean => {
      const bad = checkPolicyName(name);
      if (bad !== undefined) {
        problems.push(problemAt({ name, source }, undefined, bad));
        return false;
      }
      const previous = origins.get(name);
      if (previous !== undefined) {
        problems.push(problemAt({ name, source }, undefined, `defined twice (also in ${previous})`));
        return false;
      }
      origins.set(name, source);
      return true;
    };
    const found: CompiledPolicy[] = [];
    for (const [raw, value] of Object.entries(sources.inline)) {
      const name = normalizePolicyName(raw);
      const source = `policies.${raw}`;
      if (!add(name, source)) continue;
      const compiled =
        typeof value === 'string'
          ? compilePolicyText({ name, source }, value, 'hcl', problems)
          : compileDocumentPolicy({ name, source }, value, problems);
      if (compiled !== undefined) found.push(compiled);
    }
    if (sources.dir !== undefined) found.push(...(await readDir(sources.dir, problems, add)));
    if (problems.length > 0) throw new PolicyLoadError(problems);
    const policies = new Map(found.map((c) => [c.policy.name, c]));
    if (!policies.has('default')) policies.set('default', BUILT_IN_DEFAULT);
    return policies;
  };

  // Loads run one after another, so that the last one asked for is the one that stays.
  let loading: Promise<unknown> = Promise.resolve();

  const groupOf = (s: State, key: string): Group => {
    const policies = key === '' ? [] : key.split(NAME_SEP).map((n) => s.policies.get(n) as CompiledPolicy);
    const vars = [...new Set(policies.flatMap((p) => p.vars))];
    const statics = policies.flatMap((p) => p.statics);
    return { policies, vars, statics, acl: vars.length === 0 ? buildAcl(statics) : undefined };
  };

  /** The policies of a group as they apply to `subject`: templated rules resolved for it. */
  const heldPolicies = (group: Group, subject: AclSubject): HeldPolicy[] =>
    group.policies.map((policy) => {
      if (policy.templated.length === 0) return { name: policy.policy.name, entries: policy.statics };
      const entries = [...policy.statics];
      for (const { template, bits } of policy.templated) {
        const path = resolveTemplate(template, subject);
        if (path !== undefined) {
          entries.push({ pattern: compilePattern(path), bits });
        } else if ((bits & DENY_BIT) !== 0) {
          // A deny that cannot be placed for this token: Vault drops the rule, which would leave
          // the policy's grants without the exception its author wrote. Fail closed instead: the
          // whole policy grants this token nothing.
          return { name: policy.policy.name, entries: [] };
        }
        // No safe value for an allowing directive: the rule does not exist for this token (Vault).
      }
      return { name: policy.policy.name, entries };
    });

  /** The group of the policies `subject` holds, and its ACL (cached). */
  const resolve = (subject: AclSubject): { group: Group; acl: CompiledAcl } => {
    const s = state;
    let key = '';
    for (const name of subject.policies) {
      if (s.policies.has(name)) key = key === '' ? name : key + NAME_SEP + name;
      else if (!s.warned.has(name) && s.warned.size < MAX_WARNED) {
        s.warned.add(name);
        deps.log.warn({ event: 'policy.unknown', policy: name }, 'policy.unknown');
      }
    }
    let group = s.groups.get(key);
    if (group === undefined) {
      group = groupOf(s, key);
      s.groups.set(key, group);
    }
    if (group.acl !== undefined) return { group, acl: group.acl };
    let aclKey = key;
    for (const v of group.vars) {
      const value = v.resolve(subject);
      aclKey += VALUE_SEP + (isSafeTemplateValue(value) ? value : NO_VALUE);
    }
    let acl = s.acls.get(aclKey);
    if (acl === undefined) {
      acl = buildAcl(heldPolicies(group, subject).flatMap((p) => p.entries));
      s.acls.set(aclKey, acl);
    }
    return { group, acl };
  };

  return {
    /**
     * Reads every source, checks every policy, then swaps the new set in and drops the ACL
     * caches. Concurrent calls run in turn. `alongside`, if given, runs only when the new set is
     * taken, in the same synchronous step as the swap: a request sees both changes or neither
     * (the config reload swaps the roles of the auth mounts there).
     * @throws PolicyLoadError listing every problem; the previous set stays in force, and
     *   `alongside` is not called.
     * @throws TypeError when `sources` is not of the documented shape.
     */
    load: (sources: PolicySources, alongside?: () => void): Promise<void> => {
      const run = loading.then(async () => {
        const policies = await parseSources(sources);
        const next = newState(policies);
        alongside?.();
        state = next;
        deps.log.info(
          { event: 'policy.loaded', policies: state.names.length, dir: sources.dir },
          'policy.loaded',
        );
      });
      loading = run.catch(() => undefined);
      return run;
    },

    /**
     * The ACL of a token. Policy names it holds that are not loaded grant nothing (logged once
     * per load as `policy.unknown`); `root` grants nothing either (the admin token is checked
     * before any ACL). Cached; never throws for any subject.
     */
    aclFor: (subject: AclSubject): Acl => resolve(subject).acl,

    /**
     * Vault's `granting_policies` of a request by this token that needs `capability` on `path`
     * (see {@link grantingPolicies}): policy names in the order the token holds them; empty
     * when its policies do not grant it. For audit entries only: it costs far more than `aclFor`.
     * @throws TypeError for `deny`.
     */
    grantingPolicies: (subject: AclSubject, path: string, capability: Capability): string[] => {
      const { group, acl } = resolve(subject);
      return grantingPolicies(acl, heldPolicies(group, subject), path, capability);
    },

    /** Loaded policy names, sorted (`default` included; `root` is not a stored policy). */
    names: (): string[] => [...state.names],

    /** A loaded policy by its (lowercase) name, for the read-only `sys/policies` endpoints. */
    get: (name: string): Policy | undefined => state.policies.get(name)?.policy,
  };
};

export type PolicyRegistry = ReturnType<typeof createPolicyRegistry>;
