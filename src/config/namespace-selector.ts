import { parse } from 'yaml';
import { parseLabelSelector } from '../lib/label-selector.js';
import { MAX_YAML_DEPTH, yamlTooDeepAt } from '../lib/yaml-depth.js';
import type { Problem, RoleConfig } from './types.js';

const FIELD = '"bound_service_account_namespace_selector"';

/**
 * Normalizes a role's `bound_service_account_namespace_selector`: a mapping as authgate.yaml
 * writes it, or the JSON or YAML text Vault's role takes. Reports at `at` (in Vault's words,
 * `invalid "bound_service_account_namespace_selector" configured`, then why) a text that is
 * neither, a value that is not a valid LabelSelector, and a selector without requirements.
 *
 * The last is stricter than Vault, which accepts `{}`: an empty selector matches every
 * namespace, and a role meant for labelled namespaces that silently admits all of them is the
 * mistake this refuses (`bound_service_account_namespaces: ['*']` says "any" plainly).
 */
export const normalizeNamespaceSelector = (
  value: string | Record<string, unknown> | undefined,
  at: string,
  problem: Problem,
): RoleConfig['boundServiceAccountNamespaceSelector'] => {
  if (value === undefined) return undefined;
  let decoded: unknown = value;
  if (typeof value === 'string') {
    const deep = yamlTooDeepAt(value);
    if (deep !== undefined) {
      problem(at, `invalid ${FIELD} configured: the text is nested more than ${MAX_YAML_DEPTH} levels deep`);
      return undefined;
    }
    try {
      decoded = parse(value);
    } catch {
      problem(at, `invalid ${FIELD} configured: the text is neither JSON nor YAML`);
      return undefined;
    }
  }
  const parsed = parseLabelSelector(decoded);
  if (parsed.selector === undefined) {
    for (const why of parsed.problems) problem(at, `invalid ${FIELD} configured: ${why}`);
    return undefined;
  }
  if (parsed.selector.requirements.length === 0) {
    problem(
      at,
      "selects every namespace (a selector without requirements matches them all); write bound_service_account_namespaces: ['*'] if that is meant",
    );
    return undefined;
  }
  return { text: typeof value === 'string' ? value : JSON.stringify(value), selector: parsed.selector };
};
