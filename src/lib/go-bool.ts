const TRUE = ['1', 't', 'T', 'TRUE', 'true', 'True'];
const FALSE = ['0', 'f', 'F', 'FALSE', 'false', 'False'];

/** Go's strconv.ParseBool: true, false, or undefined for anything else (`""` included). */
export const parseGoBool = (s: string): boolean | undefined => {
  if (TRUE.includes(s)) return true;
  if (FALSE.includes(s)) return false;
  return undefined;
};

/** A schema pattern for what {@link parseGoBool} takes, and the empty string. */
export const GO_BOOL_OR_EMPTY_PATTERN = `^(${[...TRUE, ...FALSE].join('|')})?$`;
