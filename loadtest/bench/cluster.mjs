/**
 * The dev cluster's Kubernetes API, as the bench uses it: pods, pod-bound service-account tokens
 * (TokenRequest) and the published keys; and one login against the gateway, for warming caches and
 * for sanity checks. Everything over real HTTP with the admin bearer.
 */

/** Namespace, service account and audience of the dev role `nginx` (src/cli/dev.ts). */
export const DEV_LOGIN = { namespace: 'test', serviceAccount: 'nginx', audience: 'vault', role: 'nginx' };

/**
 * The dev role `nginx-batch` (src/cli/dev.ts): the bindings of `nginx` (so the same tokens log in),
 * issuing batch tokens — the record sealed into the token itself, nothing stored per login — and
 * the token type its logins must answer, which the batch scenarios check before they measure.
 */
export const BATCH_LOGIN = { role: 'nginx-batch', tokenType: 'batch' };

/** Lifetime asked for each minted token, seconds: far longer than any bench run. */
const TOKEN_SECONDS = 7200;

const http = globalThis.fetch;

/**
 * Runs `task(i)` for i in [0, count) with at most `concurrency` in flight; resolves the results in
 * order of i. The first rejection rejects the whole (remaining tasks are not started).
 *
 * @template T
 * @param {number} count
 * @param {number} concurrency
 * @param {(i: number) => Promise<T>} task
 * @returns {Promise<T[]>}
 */
export const mapLimit = async (count, concurrency, task) => {
  const out = new Array(count);
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (!failed && next < count) {
      const i = next++;
      try {
        out[i] = await task(i);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return out;
};

/**
 * A client of one dev cluster.
 *
 * @param {{ clusterUrl: string, clusterAdminToken: string }} dev
 */
export const createClusterClient = (dev) => {
  const headers = {
    authorization: `Bearer ${dev.clusterAdminToken}`,
    'content-type': 'application/json',
  };
  const call = async (method, path, body, expected) => {
    const res = await http(`${dev.clusterUrl}${path}`, {
      method,
      headers,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    if (res.status !== expected) {
      throw new Error(`${method} ${path}: HTTP ${res.status} (expected ${expected}): ${text.slice(0, 300)}`);
    }
    return JSON.parse(text);
  };
  const { namespace, serviceAccount, audience } = DEV_LOGIN;

  return {
    /**
     * Creates pods `<prefix>-0` … `<prefix>-<count-1>` in the dev namespace, running as the dev
     * service account, `concurrency` creations in flight. Rejects on any non-201 (a name that
     * exists answers 409).
     *
     * @param {string} prefix
     * @param {number} count
     * @param {number} [concurrency]
     * @returns {Promise<string[]>} the pod names
     */
    createPods: async (prefix, count, concurrency = 8) => {
      const names = Array.from({ length: count }, (_, i) => `${prefix}-${i}`);
      await mapLimit(count, concurrency, (i) =>
        call(
          'POST',
          `/api/v1/namespaces/${namespace}/pods`,
          {
            metadata: { name: names[i] },
            spec: { serviceAccountName: serviceAccount, nodeName: 'worker-1' },
          },
          201,
        ),
      );
      return names;
    },

    /**
     * Mints `count` distinct pod-bound RS256 tokens (audience `vault` unless `audience` says
     * otherwise, 2 h), round-robin over `pods`, `concurrency` TokenRequests in flight. Every token
     * is unique (its own jti and iat).
     *
     * @param {{ count: number, pods: string[], audience?: string, concurrency?: number }} opts
     * @returns {Promise<string[]>}
     */
    mintTokens: async ({ count, pods, audience: aud = audience, concurrency = 16 }) => {
      const tokens = await mapLimit(count, concurrency, async (i) => {
        const res = await call(
          'POST',
          `/api/v1/namespaces/${namespace}/serviceaccounts/${serviceAccount}/token`,
          {
            spec: {
              audiences: [aud],
              expirationSeconds: TOKEN_SECONDS,
              boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: pods[i % pods.length] },
            },
          },
          201,
        );
        return /** @type {string} */ (res.status.token);
      });
      if (new Set(tokens).size !== tokens.length) throw new Error('the dev cluster minted a token twice');
      return tokens;
    },

    /** The cluster's `/openid/v1/jwks` document, as text. */
    jwks: async () => {
      const res = await http(`${dev.clusterUrl}/openid/v1/jwks`);
      if (res.status !== 200) throw new Error(`GET /openid/v1/jwks: HTTP ${res.status}`);
      return res.text();
    },
  };
};

/**
 * The request body of a login with `jwt` for `role`, exactly as every scenario sends it. Throws a
 * `TypeError` when `role` is not a string: passed straight to `map`, the element's index would
 * otherwise become the role.
 *
 * @param {string} jwt
 * @param {string} [role]  default the dev role `nginx` ({@link DEV_LOGIN})
 */
export const loginBody = (jwt, role = DEV_LOGIN.role) => {
  if (typeof role !== 'string') throw new TypeError(`loginBody: role must be a string, got ${typeof role}`);
  return JSON.stringify({ role, jwt });
};

/**
 * POSTs `body` to `url` and checks the status; resolves the parsed JSON response.
 *
 * @param {string} url
 * @param {string} body
 * @param {number} expected
 */
export const postJson = async (url, body, expected) => {
  const res = await http(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  const text = await res.text();
  if (res.status !== expected) {
    throw new Error(`POST ${url}: HTTP ${res.status} (expected ${expected}): ${text.slice(0, 300)}`);
  }
  return text === '' ? undefined : JSON.parse(text);
};

/**
 * Logs in once with each body (`concurrency` in flight, default 8), checking for a 200 with a
 * client token — and, with `tokenType`, that `auth.token_type` is that (so a role that issues
 * another kind of token cannot be measured under the wrong name): how a scenario fills a
 * verifier's cache before it is measured, or gets the client tokens its requests carry.
 *
 * @param {string} url  gateway base URL
 * @param {string} path  login path
 * @param {string[]} bodies
 * @param {{ concurrency?: number, tokenType?: string }} [check]
 * @returns {Promise<string[]>} the client tokens, in the order of `bodies`
 */
export const loginEach = (url, path, bodies, { concurrency = 8, tokenType } = {}) =>
  mapLimit(bodies.length, concurrency, async (i) => {
    const res = await postJson(`${url}${path}`, bodies[i], 200);
    if (typeof res?.auth?.client_token !== 'string') {
      throw new Error(`POST ${path}: 200 without auth.client_token`);
    }
    if (tokenType !== undefined && res.auth.token_type !== tokenType) {
      throw new Error(
        `POST ${path}: a token of token_type ${JSON.stringify(res.auth.token_type)}, expected ${JSON.stringify(tokenType)}`,
      );
    }
    return /** @type {string} */ (res.auth.client_token);
  });

/**
 * Writes a KV v2 secret with the gateway's admin token.
 *
 * @param {string} url  gateway base URL
 * @param {string} adminToken
 * @param {string} path  e.g. `secret/data/test/app`
 * @param {Record<string, unknown>} data
 */
export const writeSecret = async (url, adminToken, path, data) => {
  const res = await http(`${url}/v1/${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-vault-token': adminToken },
    body: JSON.stringify({ data }),
  });
  if (res.status !== 200)
    throw new Error(`POST /v1/${path}: HTTP ${res.status}: ${(await res.text()).slice(0, 300)}`);
};
