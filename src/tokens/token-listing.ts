import { badRequest } from '../errors.js';
import { guard, type TokenStorage } from './token-storage.js';
import type { TokenServiceDeps } from './types.js';

/** The most live tokens `listAccessors` lists by default; see {@link TokenServiceDeps}. */
export const MAX_LISTED_TOKENS = 100_000;

/** Records read at once while listing: enough to keep Redis busy, few enough to spare it. */
const READ_CHUNK = 200;

/** The token service's listing of accessors (see createTokenService). */
export const createTokenListing = (
  storage: TokenStorage,
  deps: Pick<TokenServiceDeps, 'store' | 'keys' | 'maxListedTokens'>,
) => {
  const { store, keys } = deps;
  const limit = deps.maxListedTokens ?? MAX_LISTED_TOKENS;
  if (!Number.isSafeInteger(limit) || limit < 1) {
    throw new TypeError('maxListedTokens must be a whole number of at least 1');
  }
  return {
    /**
     * The accessors of every live token, sorted (Vault's `LIST auth/token/accessors`). There is no
     * index of tokens to read, and none is written at login: the store's token records are
     * scanned (the whole key space, see `Store.scanPrefix`) and each is opened as a lookup opens
     * it, so an accessor comes only from a record whose MAC holds (one that does not is reported
     * as tampered with, and left out), and an expired token's is left out. Tokens are never
     * returned, only what the records hold in clear.
     *
     * @throws AuthgateError BAD_REQUEST `too many tokens to list (more than <limit>)…` when the
     *   store holds more token records than `maxListedTokens`: refused whole rather than cut
     *   short, since a script that revokes what it lists must not silently miss some. A 400, not
     *   a 503: asking again would find as many, and clients retry a 5xx.
     * @throws AuthgateError UNAVAILABLE when the store is down.
     */
    listAccessors: async (): Promise<string[]> => {
      const prefix = keys.token('');
      const scan = await guard(store.scanPrefix(prefix, { limit }));
      if (!scan.complete) {
        throw badRequest(
          `too many tokens to list (more than ${limit}): revoke by identity with auth/token/revoke-identity instead`,
          'accessor_list_too_large',
        );
      }
      const accessors: string[] = [];
      for (let i = 0; i < scan.keys.length; i += READ_CHUNK) {
        const chunk = scan.keys.slice(i, i + READ_CHUNK);
        const records = await Promise.all(chunk.map((key) => storage.load(key.slice(prefix.length))));
        for (const record of records) if (record !== undefined) accessors.push(record.accessor);
      }
      return accessors.sort();
    },
  };
};
