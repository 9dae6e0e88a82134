import { LABEL_KEY as KEY, LABEL_VALUE as VALUE } from '../lib/label-selector.js';
import { badRequest } from './api-status.js';
import type { JsonObject } from './shapes.js';

/** A predicate over a served object. */
export type Matcher = (object: JsonObject) => boolean;

const labelsOf = (object: JsonObject): Record<string, string> => {
  const metadata = object['metadata'] as { labels?: Record<string, string> } | undefined;
  return metadata?.labels ?? {};
};

/** Split on commas outside parentheses (`a in (x,y),b=c`). */
const splitTop = (text: string): string[] => {
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of text) {
    if (ch === '(') depth += 1;
    if (ch === ')') depth -= 1;
    if (ch === ',' && depth === 0) {
      parts.push(current);
      current = '';
    } else current += ch;
  }
  parts.push(current);
  return parts.map((p) => p.trim());
};

const unparsable = (requirement: string, why: string) =>
  badRequest(`unable to parse requirement: ${JSON.stringify(requirement)}: ${why}`);

const checkKey = (requirement: string, key: string): string => {
  if (!KEY.test(key)) throw unparsable(requirement, `invalid label key ${JSON.stringify(key)}`);
  return key;
};
const checkValue = (requirement: string, value: string): string => {
  if (!VALUE.test(value)) throw unparsable(requirement, `invalid label value: ${JSON.stringify(value)}`);
  return value;
};

const parseRequirement = (req: string): ((labels: Record<string, string>) => boolean) => {
  const set = /^(\S+)\s+(in|notin)\s*\((.*)\)$/.exec(req);
  if (set) {
    const key = checkKey(req, set[1] as string);
    const values = (set[3] as string).split(',').map((v) => checkValue(req, v.trim()));
    return set[2] === 'in'
      ? (l) => key in l && values.includes(l[key] as string)
      : (l) => !(key in l) || !values.includes(l[key] as string);
  }
  const op = /^([^=!<>\s]+)\s*(==|!=|=|<|>)\s*(.*)$/.exec(req);
  if (op) {
    const key = checkKey(req, op[1] as string);
    const value = (op[3] as string).trim();
    switch (op[2]) {
      case '!=':
        checkValue(req, value);
        return (l) => l[key] !== value;
      case '<':
      case '>': {
        const bound = Number(value);
        if (!Number.isInteger(bound))
          throw unparsable(req, `for 'Gt', 'Lt' operators, the value must be an integer`);
        return (l) => {
          const n = Number(l[key]);
          return key in l && Number.isInteger(n) && (op[2] === '<' ? n < bound : n > bound);
        };
      }
      default:
        checkValue(req, value);
        return (l) => l[key] === value;
    }
  }
  if (req.startsWith('!')) {
    const key = checkKey(req, req.slice(1).trim());
    return (l) => !(key in l);
  }
  const key = checkKey(req, req);
  return (l) => key in l;
};

/**
 * A `labelSelector` query value: equality (`k=v`, `k==v`, `k!=v`), existence (`k`, `!k`), sets
 * (`k in (a,b)`, `k notin (a,b)`) and `k>n`/`k<n`, comma-separated and all required.
 *
 * @throws KubeApiError 400 `unable to parse requirement: …`.
 */
export const parseLabelSelector = (selector: string | undefined): Matcher => {
  if (!selector || selector.trim() === '') return () => true;
  const requirements = splitTop(selector).map(parseRequirement);
  return (object) => {
    const labels = labelsOf(object);
    return requirements.every((r) => r(labels));
  };
};

/** Field paths each resource supports in a `fieldSelector`, as the API server's field label conversion. */
export const FIELD_PATHS = {
  pods: ['metadata.name', 'metadata.namespace', 'spec.nodeName', 'spec.serviceAccountName', 'status.phase'],
  namespaces: ['metadata.name', 'status.phase'],
} as const;

const fieldValue = (object: JsonObject, path: string): string => {
  let value: unknown = object;
  for (const part of path.split('.')) value = (value as Record<string, unknown> | undefined)?.[part];
  return typeof value === 'string' ? value : '';
};

/**
 * A `fieldSelector` query value: `path=value`, `path==value`, `path!=value`, comma-separated.
 *
 * @throws KubeApiError 400 `field label not supported: <path>` or an unparsable selector.
 */
export const parseFieldSelector = (selector: string | undefined, supported: readonly string[]): Matcher => {
  if (!selector || selector.trim() === '') return () => true;
  const terms = selector.split(',').map((term) => {
    const m = /^([^=!]+)(==|!=|=)(.*)$/.exec(term.trim());
    if (!m) throw badRequest(`invalid selector: '${selector}'; can't understand '${term}'`);
    const path = (m[1] as string).trim();
    if (!supported.includes(path)) throw badRequest(`field label not supported: ${path}`);
    const value = m[3] as string;
    return m[2] === '!='
      ? (o: JsonObject) => fieldValue(o, path) !== value
      : (o: JsonObject) => fieldValue(o, path) === value;
  });
  return (object) => terms.every((t) => t(object));
};
