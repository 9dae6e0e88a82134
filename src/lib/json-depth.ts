/** Go's encoding/json refuses JSON nested deeper than this ("exceeded max depth"), as Vault then does. */
export const MAX_JSON_DEPTH = 10_000;

/**
 * Whether JSON `text` opens more than `limit` arrays and objects inside one another, by one linear
 * pass that skips strings (escapes included). Asked before `JSON.parse`, whose cost on deep
 * nesting is out of proportion to the text: a 1 MiB body of half a million `[` took 200 ms of the
 * event loop to parse, where a flat one takes 20. Not a validator: text that is no JSON passes
 * unless it is deep, and JSON.parse refuses it after.
 */
export const jsonTooDeep = (text: string, limit: number = MAX_JSON_DEPTH): boolean => {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // A string: on to its closing quote, one not escaped (an even run of backslashes before
      // it), found by indexOf: a login body is mostly one long JWT string.
      for (let open = i; ;) {
        const quote = text.indexOf('"', open + 1);
        if (quote === -1) return false; // unterminated: JSON.parse refuses it
        let slashes = 0;
        while (text.charCodeAt(quote - 1 - slashes) === 0x5c) slashes++;
        i = open = quote;
        if (slashes % 2 === 0) break;
      }
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > limit) return true;
    } else if (c === 0x5d || c === 0x7d) {
      depth--;
    }
  }
  return false;
};
