import { isExactNumber } from '../../lib/exact-json.js';

/**
 * JSON helpers for values that come from clients: merge patch, subkeys, and safe object building.
 * Keys are untrusted: `__proto__` is an ordinary key here, never a prototype. A number kept as
 * its text (`ExactNumber`) is a leaf like any number, never an object to walk into.
 */

export type JsonObject = Record<string, unknown>;

/** A plain JSON object (not null, not an array, not a number kept as its text). */
export const isJsonObject = (v: unknown): v is JsonObject =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && !isExactNumber(v);

/** Sets an own, enumerable property, even one named `__proto__`. */
export const setOwn = (target: JsonObject, key: string, value: unknown): void => {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
};

/**
 * RFC 7396 JSON merge patch of `target` by `patch` (neither is modified). A null member of the
 * patch removes that member; an object member is merged recursively; anything else replaces.
 */
export const mergePatch = (target: unknown, patch: unknown): unknown => {
  if (!isJsonObject(patch)) return patch;
  const out: JsonObject = {};
  if (isJsonObject(target)) for (const [k, v] of Object.entries(target)) setOwn(out, k, v);
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else setOwn(out, k, mergePatch(Object.hasOwn(out, k) ? out[k] : undefined, v));
  }
  return out;
};

/**
 * Vault's `subkeys`: the structure of a secret with every leaf (a non-object value, or an empty
 * object) replaced by null. `maxDepth` > 0 makes objects at that depth leaves too (0 = no limit).
 * A new object is built, so the secret's values never reach the answer.
 */
export const subkeysOf = (data: JsonObject, maxDepth: number): JsonObject => {
  const walk = (obj: JsonObject, depth: number): JsonObject => {
    const out: JsonObject = {};
    for (const [k, v] of Object.entries(obj)) {
      const deeper = depth + 1;
      const descend = isJsonObject(v) && Object.keys(v).length > 0 && (maxDepth === 0 || deeper <= maxDepth);
      setOwn(out, k, descend ? walk(v as JsonObject, deeper) : null);
    }
    return out;
  };
  return walk(data, 1);
};
