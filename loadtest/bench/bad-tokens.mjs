/**
 * Logins that must be refused, for the mixed-validity scenario (the k6 script mixed-validity.js,
 * plus a token from another cluster): every kind answers 403, and each bad token is distinct, so
 * no verdict is ever served from a cache and each costs what a fresh attacker's token costs.
 *
 * - `tampered`: a real pod token with its signature changed — a full RS256 check that fails;
 * - `wrong-audience`: a real, correctly signed pod token for audience `someone-else` — the
 *   signature holds, the audience claim does not;
 * - `unknown-key`: the claims of a real pod token, signed RS256 by a key the cluster never
 *   published (another cluster's token) — refused on its `kid`; at most one JWKS refetch per
 *   cooldown (30 s by default), which the API calls per 1 000 logins show;
 * - `garbage`: not a JWT at all.
 *
 * An expired token is not among them: the simulated cluster mints for at least 10 minutes and its
 * clock can only be moved in-process, and a token signed by the bench would be an unknown key.
 */
import { Buffer } from 'node:buffer';
import { generateKeyPairSync, randomUUID, sign } from 'node:crypto';

/** Kinds of bad token, in the order they are mixed in. */
export const BAD_KINDS = /** @type {const} */ (['tampered', 'wrong-audience', 'unknown-key', 'garbage']);

/** The audience of the wrong-audience tokens: not the role's (`vault`). */
export const OTHER_AUDIENCE = 'someone-else';

/**
 * `jwt` with the last four characters of its signature replaced: the same header and claims, a
 * signature that no longer verifies. Distinct tokens stay distinct.
 *
 * @param {string} jwt
 */
export const tamper = (jwt) => {
  const tail = jwt.slice(-4);
  return `${jwt.slice(0, -4)}${tail === 'AAAA' ? 'BBBB' : 'AAAA'}`;
};

/**
 * A signer with a fresh RS256 key (2048-bit) that no cluster published: `resign(jwt)` is `jwt`'s
 * claims in a token signed by that key, under its own `kid`; `publicKey` verifies them.
 */
export const createForeignSigner = () => {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const header = Buffer.from(JSON.stringify({ alg: 'RS256', kid: `bench-foreign-${randomUUID()}` })).toString(
    'base64url',
  );
  return {
    publicKey,
    /** @param {string} jwt */
    resign: (jwt) => {
      const payload = jwt.slice(jwt.indexOf('.') + 1, jwt.lastIndexOf('.'));
      const signingInput = `${header}.${payload}`;
      const signature = sign('RSA-SHA256', Buffer.from(signingInput), privateKey).toString('base64url');
      return `${signingInput}.${signature}`;
    },
  };
};

/**
 * Where the bad logins go in a mixed load: body `i` is bad when
 * `floor((i + 1) × badShare) > floor(i × badShare)`, which spreads `badShare` of them evenly (every
 * other one at 0.5); the bad ones cycle through {@link BAD_KINDS}.
 *
 * @param {number} count
 * @param {number} badShare  in [0, 1]
 * @returns {Array<(typeof BAD_KINDS)[number] | 'valid'>}
 */
export const mixLayout = (count, badShare) => {
  if (!(badShare >= 0 && badShare <= 1))
    throw new TypeError(`mixLayout: badShare must be in [0, 1], got ${badShare}`);
  const out = [];
  let bad = 0;
  for (let i = 0; i < count; i++) {
    const isBad = Math.floor((i + 1) * badShare) > Math.floor(i * badShare);
    out.push(isBad ? BAD_KINDS[bad++ % BAD_KINDS.length] : 'valid');
  }
  return out;
};

/**
 * Counts of each kind in a layout, for minting exactly the tokens it needs.
 *
 * @param {ReturnType<typeof mixLayout>} layout
 */
export const countKinds = (layout) => {
  /** @type {Record<string, number>} */
  const counts = { valid: 0 };
  for (const kind of BAD_KINDS) counts[kind] = 0;
  for (const kind of layout) counts[kind]++;
  return counts;
};

/**
 * The JWTs of a layout: `valid` pod tokens as they are; `tampered` and `unknown-key` made from more
 * of them (never sent as they are), `wrong-audience` from tokens minted for {@link OTHER_AUDIENCE},
 * `garbage` numbered. Throws when a pool is too small for the layout.
 *
 * @param {ReturnType<typeof mixLayout>} layout
 * @param {{ valid: string[], spare: string[], otherAudience: string[], signer: { resign: (jwt: string) => string } }} pools
 *   `spare`: as many pod tokens as `tampered` + `unknown-key` in the layout
 * @returns {string[]}
 */
export const buildMix = (layout, pools) => {
  let valid = 0;
  let spare = 0;
  let other = 0;
  let garbage = 0;
  const from = (pool, i, name) => {
    if (i >= pool.length) throw new TypeError(`buildMix: the ${name} pool (${pool.length}) is too small`);
    return pool[i];
  };
  return layout.map((kind) => {
    switch (kind) {
      case 'valid':
        return from(pools.valid, valid++, 'valid');
      case 'tampered':
        return tamper(from(pools.spare, spare++, 'spare'));
      case 'unknown-key':
        return pools.signer.resign(from(pools.spare, spare++, 'spare'));
      case 'wrong-audience':
        return from(pools.otherAudience, other++, 'other-audience');
      default:
        return `not-a-jwt-${garbage++}`;
    }
  });
};
