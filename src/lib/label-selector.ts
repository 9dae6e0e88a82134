/**
 * Kubernetes label keys, values and `LabelSelector` objects (`{matchLabels, matchExpressions}`),
 * as the API machinery validates and matches them (`metav1.LabelSelectorAsSelector`,
 * `labels.Selector.Matches`). Pure: no I/O.
 */

/** A label key: an optional DNS-1123 subdomain prefix and `/`, then a name of at most 63 characters. */
export const LABEL_KEY =
  /^(?:(?=[^/]{1,253}\/)[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*\/)?(?=[^/]{1,63}$)[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
/** A label value: empty, or at most 63 characters of letters, digits, `-`, `_` and `.`, alphanumeric at both ends. */
export const LABEL_VALUE = /^(?:(?=.{1,63}$)[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;

/** The operators of a `matchExpressions` entry, as the API spells them. */
export const SELECTOR_OPERATORS = ['In', 'NotIn', 'Exists', 'DoesNotExist'] as const;
export type SelectorOperator = (typeof SELECTOR_OPERATORS)[number];

export type SelectorRequirement = { key: string; operator: SelectorOperator; values: readonly string[] };

/** A validated selector: every requirement must hold (`matchLabels` entries are `In` with one value). */
export type LabelSelector = { requirements: readonly SelectorRequirement[] };

const isMapping = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Validates a decoded `LabelSelector` object and returns it with its requirements listed, or the
 * problems found (each a sentence naming the field). Stricter than the API machinery's decoder in
 * one way: a field other than `matchLabels` and `matchExpressions` (or, in an expression, other
 * than `key`, `operator` and `values`) is a problem, not ignored, so that a misspelt
 * `matchlabel` does not leave a selector that matches every namespace.
 */
export const parseLabelSelector = (
  value: unknown,
): { selector: LabelSelector; problems: [] } | { selector?: undefined; problems: string[] } => {
  const problems: string[] = [];
  if (!isMapping(value))
    return { problems: ['must be a LabelSelector object: {matchLabels, matchExpressions}'] };
  for (const field of Object.keys(value)) {
    if (field !== 'matchLabels' && field !== 'matchExpressions')
      problems.push(`unknown field "${field}": a LabelSelector has matchLabels and matchExpressions`);
  }
  const requirements: SelectorRequirement[] = [];
  const { matchLabels, matchExpressions } = value;
  if (matchLabels !== undefined && matchLabels !== null) {
    if (!isMapping(matchLabels)) problems.push('matchLabels must be a mapping of label keys to values');
    else {
      for (const [key, v] of Object.entries(matchLabels)) {
        if (!LABEL_KEY.test(key)) problems.push(`matchLabels: invalid label key "${key}"`);
        if (typeof v !== 'string') problems.push(`matchLabels.${key}: a label value is a string`);
        else if (!LABEL_VALUE.test(v)) problems.push(`matchLabels.${key}: invalid label value "${v}"`);
        else requirements.push({ key, operator: 'In', values: [v] });
      }
    }
  }
  if (matchExpressions !== undefined && matchExpressions !== null) {
    if (!Array.isArray(matchExpressions)) problems.push('matchExpressions must be a list');
    else {
      matchExpressions.forEach((e: unknown, i) => {
        const at = `matchExpressions[${i}]`;
        if (!isMapping(e)) {
          problems.push(`${at}: must be a mapping {key, operator, values}`);
          return;
        }
        for (const field of Object.keys(e)) {
          if (field !== 'key' && field !== 'operator' && field !== 'values')
            problems.push(`${at}: unknown field "${field}"`);
        }
        // A `values` of null is an absent one, as Go's decoder reads it into a nil slice.
        const { key, operator } = e;
        const values = e['values'] ?? [];
        if (typeof key !== 'string' || !LABEL_KEY.test(key)) problems.push(`${at}.key: invalid label key`);
        if (!SELECTOR_OPERATORS.includes(operator as SelectorOperator)) {
          problems.push(`${at}.operator: ${JSON.stringify(operator)} is not a valid label selector operator`);
          return;
        }
        if (!Array.isArray(values) || !values.every((v): v is string => typeof v === 'string')) {
          problems.push(`${at}.values: must be a list of strings`);
          return;
        }
        const set = operator === 'In' || operator === 'NotIn';
        if (set && values.length === 0)
          problems.push(`${at}.values: for 'In', 'NotIn' operators, values set can't be empty`);
        if (!set && values.length > 0)
          problems.push(`${at}.values: values set must be empty for exists and does not exist`);
        for (const v of values)
          if (!LABEL_VALUE.test(v)) problems.push(`${at}.values: invalid label value "${v}"`);
        if (typeof key === 'string')
          requirements.push({ key, operator: operator as SelectorOperator, values: [...values] });
      });
    }
  }
  if (problems.length > 0) return { problems };
  return { selector: { requirements }, problems: [] };
};

/**
 * Whether `labels` satisfy every requirement of `selector`: `In` needs the key with one of the
 * values, `NotIn` is met by a missing key or another value, `Exists`/`DoesNotExist` look at the
 * key alone. A selector without requirements matches everything, as the API machinery's does.
 */
export const labelsMatch = (selector: LabelSelector, labels: Readonly<Record<string, string>>): boolean =>
  selector.requirements.every(({ key, operator, values }) => {
    const has = Object.hasOwn(labels, key);
    switch (operator) {
      case 'In':
        return has && values.includes(labels[key] as string);
      case 'NotIn':
        return !has || !values.includes(labels[key] as string);
      case 'Exists':
        return has;
      case 'DoesNotExist':
        return !has;
    }
  });
