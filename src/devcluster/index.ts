/**
 * A Kubernetes API server simulator for tests and `authgate dev`: TokenRequest minting, TokenReview,
 * OIDC discovery/JWKS, namespaces and pods (get, list, watch, delete), over real HTTP on 127.0.0.1,
 * faithful to `shared/reference/kubernetes-tokens.md` so that `@kubernetes/client-node` and a
 * verifier talk to it unchanged. It stands in for the API server; it is never a mock of authgate.
 */
import { randomBytes } from 'node:crypto';
import { systemClock, type Clock } from '../lib/clock.js';
import { createTokenAuthenticator } from './authenticator.js';
import { startSimServer, type Faults, type Stats } from './http-server.js';
import { generateServiceAccountKey, startKeyRing, type SigningAlg } from './keys.js';
import { createObjectStore } from './objects.js';
import { createRoutes } from './routes.js';
import { watchedJson } from './shapes.js';
import { createTokenRequestService } from './token-request.js';
import type { Wording } from './validators.js';
import { createWatchHub } from './watch.js';

/** Errors the programmatic API throws, with the API server's status and message. */
export { KubeApiError } from './api-status.js';
export type { StatusBody } from './api-status.js';
export type { Faults, Stats } from './http-server.js';
export type { SigningAlg } from './keys.js';
export type { Wording } from './validators.js';
/** The bounds of a TokenRequest's `expirationSeconds`, as the API server checks them. */
export { MAX_TOKEN_SECONDS, MIN_TOKEN_SECONDS } from './token-request.js';

/** Options of `startDevCluster`; every member is optional. */
export type DevClusterOptions = {
  /** Listen address; default `127.0.0.1`. */
  host?: string;
  /** Listen port; default 0 (any free port). */
  port?: number;
  /** `--service-account-issuer` values: the first signs, all are accepted. Default `['https://kubernetes.default.svc.cluster.local']`. */
  issuers?: string[];
  /** `--api-audiences`; when absent or empty, the issuers. */
  apiAudiences?: string[];
  /** Algorithm of the initial signing key; default `RS256`. */
  signingAlg?: SigningAlg;
  /** Time source; default the system clock. Watch timeouts, bookmarks and latency use real time. */
  clock?: Clock;
  /** Error wording: `current` (1.29+, default) or `legacy` (1.19-era, which also ignores kid when selecting keys). */
  wording?: Wording;
  /** Feature gates, all default true (1.33 behaviour): jti, node info in pod-bound tokens, node-bound tokens. */
  features?: { jti?: boolean; podNodeInfo?: boolean; nodeBinding?: boolean };
  /** A static bearer token with all rights; random when absent. */
  adminToken?: string;
  /** `--service-account-max-token-expiration` in seconds; default 0 (no cap). */
  maxTokenExpirationSeconds?: number;
  /** `--service-account-extend-token-expiration`; default true. */
  extendTokenExpiration?: boolean;
  /** Events the watch window keeps; a watch from an older resourceVersion gets 410 Expired. Default 1000. */
  watchHistoryEvents?: number;
  /** Interval of BOOKMARK events on watches that allow them (real time); default 60000. */
  bookmarkIntervalMs?: number;
};

/** A bound-token request for `mintToken` (TokenRequest semantics; at most one of pod, secret, node). */
export type MintTokenRequest = {
  namespace: string;
  serviceAccount: string;
  /** Default: the API audiences. */
  audiences?: string[];
  /** Default 3600; at least 600, at most 2^32. 3607 on a pod-bound API-audience token is extended to 1 year with warnafter. */
  expirationSeconds?: number;
  pod?: string;
  secret?: string;
  node?: string;
};

/** A running simulator. */
export type DevCluster = {
  /** `http://127.0.0.1:<port>`. */
  url: string;
  /** The first issuer (tokens' `iss`). */
  issuer: string;
  adminToken: string;
  /** Create a namespace (idempotent; labels replace the user labels of an existing one). */
  createNamespace(name: string, labels?: Record<string, string>): { uid: string };
  /** Delete a namespace and everything in it. @throws KubeApiError 404. */
  deleteNamespace(name: string): void;
  /** Create a service account (and its namespace); idempotent: returns the existing one. */
  createServiceAccount(namespace: string, name: string): { uid: string };
  /** Delete a service account and its legacy token Secrets. @throws KubeApiError 404. */
  deleteServiceAccount(namespace: string, name: string): void;
  /** Create an Opaque Secret (idempotent), e.g. to bind a token to. */
  createSecret(namespace: string, name: string): { uid: string };
  /** Delete a Secret. @throws KubeApiError 404. */
  deleteSecret(namespace: string, name: string): void;
  /**
   * Set (or, with `null`, remove) labels of a Secret, as a merge patch would; e.g.
   * `kubernetes.io/legacy-token-invalid-since`, which the legacy token cleaner sets on an unused
   * legacy token's Secret (1.29+). @throws KubeApiError 404.
   */
  labelSecret(namespace: string, name: string, labels: Record<string, string | null>): void;
  /** Create a Node (idempotent). */
  createNode(name: string): { uid: string };
  /** Delete a Node. @throws KubeApiError 404. */
  deleteNode(name: string): void;
  /** Create a pod, its namespace and service account when missing. @throws KubeApiError 409 if it exists. */
  createPod(p: {
    namespace: string;
    name: string;
    serviceAccount: string;
    nodeName?: string;
    labels?: Record<string, string>;
  }): { uid: string };
  /**
   * Delete a pod: deletionTimestamp = now (MODIFIED), then removed (DELETED). With `terminating`,
   * only the first step: the pod lingers (its tokens stay valid for the 60 s grace); call again to
   * remove it. @throws KubeApiError 404.
   */
  deletePod(namespace: string, name: string, options?: { terminating?: boolean }): void;
  /** TokenRequest semantics. @throws KubeApiError with the API server's status and message. */
  mintToken(r: MintTokenRequest): Promise<{ token: string; expirationTimestamp: string }>;
  /**
   * A legacy Secret token (§1.5), creating (or overwriting) its Secret. It carries the signing key's
   * kid, as the token controller signs; `emptyKid` gives the `kid: ""` of a token minted before kid
   * support. @throws KubeApiError 404 if the SA is missing.
   */
  mintLegacyToken(
    namespace: string,
    serviceAccount: string,
    secretName?: string,
    options?: { emptyKid?: boolean },
  ): Promise<string>;
  /** Bind `system:auth-delegator` to a service account so its tokens may create TokenReviews. */
  grantAuthDelegator(namespace: string, serviceAccount: string): void;
  /**
   * Bind a ClusterRole with `get`, `list` and `watch` on namespaces to a service account (what
   * authgate's reviewer needs for roles with a namespace selector). Without it, only the cluster
   * admin reads namespaces: 403, as RBAC answers.
   */
  grantNamespaceReader(namespace: string, serviceAccount: string): void;
  /** Publish a new key and sign with it from now on; old keys stay published and valid. */
  rotateKey(alg?: SigningAlg): Promise<{ kid: string }>;
  /** Stop publishing and accepting a key. @throws TypeError for an unknown kid or the last key. */
  removeKey(kid: string): void;
  /** The published JWKS (a copy). */
  jwks(): { keys: object[] };
  faults: Faults;
  stats(): Stats;
  /** Stop listening and end every connection. */
  close(): Promise<void>;
};

const DEFAULT_ISSUER = 'https://kubernetes.default.svc.cluster.local';

const validate = (o: DevClusterOptions): void => {
  const problems: string[] = [];
  const issuers = o.issuers ?? [DEFAULT_ISSUER];
  if (issuers.length === 0) problems.push('issuers: at least one issuer is required');
  if (issuers.some((i) => i === '')) problems.push('issuers: empty issuer');
  if (new Set(issuers).size !== issuers.length) problems.push('issuers: duplicate issuer');
  if (o.signingAlg !== undefined && o.signingAlg !== 'RS256' && o.signingAlg !== 'ES256')
    problems.push('signingAlg: must be RS256 or ES256');
  if (o.wording !== undefined && o.wording !== 'current' && o.wording !== 'legacy')
    problems.push('wording: must be current or legacy');
  if (o.port !== undefined && (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535))
    problems.push('port: must be an integer in 0..65535');
  const max = o.maxTokenExpirationSeconds;
  if (max !== undefined && max !== 0 && (!Number.isInteger(max) || max < 3600 || max > 2 ** 32))
    problems.push('maxTokenExpirationSeconds: must be 0 or within [3600, 2^32]');
  if (problems.length > 0) throw new TypeError(`startDevCluster: ${problems.join('; ')}`);
};

/**
 * Start a simulator listening on `host:port`.
 *
 * @throws TypeError for invalid options (all problems listed); rejects if the port cannot be bound.
 */
export const startDevCluster = async (options: DevClusterOptions = {}): Promise<DevCluster> => {
  validate(options);
  const clock = options.clock ?? systemClock;
  const issuers = [...(options.issuers ?? [DEFAULT_ISSUER])];
  // An empty --api-audiences means the issuers, as the API server completes its options.
  const apiAudiences = [...(options.apiAudiences?.length ? options.apiAudiences : issuers)];
  const issuer = issuers[0] as string;
  const features = {
    jti: options.features?.jti ?? true,
    podNodeInfo: options.features?.podNodeInfo ?? true,
    nodeBinding: options.features?.nodeBinding ?? true,
  };
  const wording = options.wording ?? 'current';
  const adminToken = options.adminToken ?? randomBytes(32).toString('base64url');
  const authDelegators = new Set<string>();
  const namespaceReaders = new Set<string>();

  // Reads the skew through `server`, which exists by the time anything asks for the time.
  let skewSeconds = (): number => 0;
  const nowMs = (): number => clock.nowMs() + skewSeconds() * 1000;

  const keys = await startKeyRing(await generateServiceAccountKey(options.signingAlg ?? 'RS256'));
  const hub = createWatchHub(options.watchHistoryEvents ?? 1000);
  const objects = createObjectStore({
    nowMs,
    onEvent: ({ type, object }) =>
      hub.publish({
        type,
        resource: object.kind === 'Pod' ? 'pods' : 'namespaces',
        ...(object.meta.namespace === undefined ? {} : { namespace: object.meta.namespace }),
        resourceVersion: object.meta.resourceVersion,
        object: watchedJson(object),
      }),
  });
  const authenticator = createTokenAuthenticator({
    keys,
    objects,
    issuers,
    apiAudiences,
    nowMs,
    wording,
    features,
  });
  const tokenRequests = createTokenRequestService({
    objects,
    keys,
    issuer,
    apiAudiences,
    nowMs,
    features,
    maxTokenExpirationSeconds: options.maxTokenExpirationSeconds ?? 0,
    extendTokenExpiration: options.extendTokenExpiration ?? true,
  });

  let baseUrl = '';
  let countTokenReview = (): void => undefined;
  let stats = (): Stats => ({ tokenReviews: 0, requests: 0, byPath: {} });
  const server = await startSimServer({
    host: options.host ?? '127.0.0.1',
    port: options.port ?? 0,
    handle: createRoutes({
      objects,
      hub,
      keys,
      authenticator,
      tokenRequests,
      issuer,
      baseUrl: () => baseUrl,
      adminToken,
      authDelegators,
      namespaceReaders,
      countTokenReview: () => countTokenReview(),
      stats: () => stats(),
      bookmarkIntervalMs: options.bookmarkIntervalMs ?? 60_000,
    }),
  });
  baseUrl = server.url;
  countTokenReview = server.countTokenReview;
  stats = server.stats;
  skewSeconds = () => server.faults.clockSkewSeconds;

  return {
    url: server.url,
    issuer,
    adminToken,
    createNamespace: (name, labels) => ({ uid: objects.createNamespace(name, labels).meta.uid }),
    deleteNamespace: (name) => objects.deleteNamespace(name),
    createServiceAccount: (namespace, name) => ({
      uid: objects.createServiceAccount(namespace, name).meta.uid,
    }),
    deleteServiceAccount: (namespace, name) => objects.deleteServiceAccount(namespace, name),
    createSecret: (namespace, name) => ({ uid: objects.putSecret(namespace, name).meta.uid }),
    deleteSecret: (namespace, name) => objects.deleteSecret(namespace, name),
    labelSecret: (namespace, name, labels) => objects.labelSecret(namespace, name, labels),
    createNode: (name) => ({ uid: objects.createNode(name).meta.uid }),
    deleteNode: (name) => objects.deleteNode(name),
    createPod: (p) => ({ uid: objects.createPod(p).meta.uid }),
    deletePod: (namespace, name, opts) => void objects.deletePod(namespace, name, opts),
    mintToken: async (r) => {
      const kinds = [r.pod ? 'Pod' : '', r.secret ? 'Secret' : '', r.node ? 'Node' : ''].filter(Boolean);
      if (kinds.length > 1) throw new TypeError('mintToken: bind to at most one of pod, secret, node');
      const result = await tokenRequests.create({
        namespace: r.namespace,
        name: r.serviceAccount,
        audiences: r.audiences ?? null,
        expirationSeconds: r.expirationSeconds ?? null,
        boundObjectRef: kinds[0]
          ? { kind: kinds[0], apiVersion: 'v1', name: (r.pod ?? r.secret ?? r.node) as string }
          : null,
      });
      return { token: result.token, expirationTimestamp: result.expirationTimestamp };
    },
    mintLegacyToken: (namespace, serviceAccount, secretName, opts) =>
      tokenRequests.createLegacy(namespace, serviceAccount, secretName, opts),
    grantAuthDelegator: (namespace, serviceAccount) => {
      authDelegators.add(`system:serviceaccount:${namespace}:${serviceAccount}`);
    },
    grantNamespaceReader: (namespace, serviceAccount) => {
      namespaceReaders.add(`system:serviceaccount:${namespace}:${serviceAccount}`);
    },
    rotateKey: async (alg = 'RS256') => {
      const key = await generateServiceAccountKey(alg);
      await keys.add(key);
      return { kid: key.kid };
    },
    removeKey: (kid) => keys.remove(kid),
    jwks: () => ({ keys: keys.jwks().map((k) => ({ ...k })) }),
    faults: server.faults,
    stats: server.stats,
    close: server.close,
  };
};
export { REVIEWER, seedFirstSetup } from './seed.js';
