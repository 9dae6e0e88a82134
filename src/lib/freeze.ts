/**
 * Freezes `value` and every object and array inside it, and returns it. For results that are
 * cached and handed to every caller as the same object: a caller that tried to change one would
 * get a TypeError instead of silently changing what the next caller sees.
 */
export const deepFreeze = <T>(value: T): T => {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
};
