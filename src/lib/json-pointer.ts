/**
 * RFC 6901 JSON Pointers (`/kubernetes.io/namespace`), as Vault's JWT method reads claims with
 * `user_claim_json_pointer`, `bound_claims` and `claim_mappings` (mitchellh/pointerstructure).
 *
 * Written here rather than taken from a package: it is a dozen lines, and the packages on npm
 * (`json-pointer`, `jsonpointer`) walk inherited properties, so `/__proto__` or `/constructor`
 * would reach Object's prototype from a token's claims. Only own properties are followed here.
 */

/** Whether `pointer` is a well-formed pointer: empty (the whole document) or `/`-led, `~` only as `~0`/`~1`. */
export const isJsonPointer = (pointer: string): boolean =>
  pointer === '' || (pointer.startsWith('/') && !/~(?![01])/.test(pointer));

/** The reference tokens of a well-formed pointer, unescaped (`~1` → `/`, then `~0` → `~`). */
const tokensOf = (pointer: string): string[] =>
  pointer === ''
    ? []
    : pointer
        .slice(1)
        .split('/')
        .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));

/**
 * The value `pointer` names in `doc`, or undefined when it names nothing (a missing member, an
 * index past the end or not in canonical decimal form, a step into a scalar). Arrays are indexed
 * by decimal position; objects by own property only.
 */
export const getByPointer = (doc: unknown, pointer: string): unknown => {
  let at: unknown = doc;
  for (const token of tokensOf(pointer)) {
    if (Array.isArray(at)) {
      if (!/^(0|[1-9][0-9]*)$/.test(token)) return undefined;
      at = at[Number(token)];
    } else if (typeof at === 'object' && at !== null && Object.hasOwn(at, token)) {
      at = (at as Record<string, unknown>)[token];
    } else {
      return undefined;
    }
  }
  return at;
};
