/*
 * Fixtures shared by the verifier tests: keys, Kubernetes-shaped claims, a counting JWKS server.
 * Test-only (no vitest import, so it type-checks with the sources); nothing in src imports it.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type CryptoKey, exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import type { JwksSourceConfig, KubernetesMountConfig } from '../config/index.js';
import type { SigningAlgorithm } from '../config/index.js';
import { AuthgateError } from '../errors.js';
import { parseUnverifiedClaims } from '../identity/index.js';
import { createFakeClock, type FakeClock } from '../lib/clock.js';
import { hmacB64 } from '../lib/hash.js';
import { createJwksVerifier } from './jwks-verifier.js';
import type { VerifierLog } from './verifier-log.js';

export const ISSUER = 'https://kubernetes.default.svc.cluster.local';
export const silent = { debug() {}, info() {}, warn() {}, error() {} } as unknown as VerifierLog;

export type TestKey = {
  alg: SigningAlgorithm;
  kid: string;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  jwk: JWK;
};
export const makeKey = async (alg: SigningAlgorithm, kid = randomUUID()): Promise<TestKey> => {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = { use: 'sig', ...(await exportJWK(publicKey)), kid, alg };
  return { alg, kid, privateKey, publicKey, jwk };
};

/** A JWKS endpoint (and discovery document) on 127.0.0.1 that counts its requests. */
export const startJwksServer = async () => {
  const state = {
    keys: [] as JWK[],
    discoveryIssuer: ISSUER,
    down: false,
    hits: { jwks: 0, discovery: 0 },
    /** When set, requests without `Authorization: Bearer <this>` get 401 (as the API server's own endpoints). */
    requiredBearer: undefined as string | undefined,
    authorizations: [] as Array<string | undefined>,
  };
  const server: Server = createServer((req, res) => {
    state.authorizations.push(req.headers.authorization);
    if (state.down) {
      res.writeHead(500).end('down');
      return;
    }
    if (
      state.requiredBearer !== undefined &&
      req.headers.authorization !== `Bearer ${state.requiredBearer}`
    ) {
      res.writeHead(401).end();
      return;
    }
    if (req.url === '/openid/v1/jwks') {
      state.hits.jwks++;
      res
        .writeHead(200, { 'content-type': 'application/jwk-set+json' })
        .end(JSON.stringify({ keys: state.keys }));
    } else if (req.url === '/.well-known/openid-configuration') {
      state.hits.discovery++;
      res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          issuer: state.discoveryIssuer,
          jwks_uri: `${url}/openid/v1/jwks`,
          response_types_supported: ['id_token'],
        }),
      );
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    state,
    url,
    jwksUrl: `${url}/openid/v1/jwks`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
};

/** A jwks-mode mount reading keys from `source`. */
export const jwksMount = (
  source: JwksSourceConfig,
  over: Partial<KubernetesMountConfig> = {},
): KubernetesMountConfig =>
  mountOf({
    verification: 'jwks',
    jwks: { source, caCert: undefined, cooldownMs: 30_000, maxAgeMs: 600_000, timeoutMs: 2000 },
    issuers: [ISSUER],
    allowedAlgorithms: ['RS256', 'ES256', 'PS256'],
    ...over,
  });

/** Kubernetes-shaped claims of a pod-bound projected token, as of 1.30. */
export const k8sClaims = (clock: FakeClock, over: Record<string, unknown> = {}) => {
  const now = Math.floor(clock.nowMs() / 1000);
  return {
    aud: ['vault'],
    exp: now + 600,
    iat: now,
    iss: ISSUER,
    jti: randomUUID(),
    'kubernetes.io': {
      namespace: 'team-a',
      node: { name: 'worker-1', uid: 'node-uid' },
      pod: { name: 'app-7d9f', uid: 'pod-uid' },
      serviceaccount: { name: 'app', uid: 'sa-uid' },
    },
    nbf: now,
    sub: 'system:serviceaccount:team-a:app',
    ...over,
  };
};

export const sign = (key: TestKey, payload: Record<string, unknown>, header: Record<string, unknown> = {}) =>
  new SignJWT(payload).setProtectedHeader({ alg: key.alg, kid: key.kid, ...header }).sign(key.privateKey);

const TEST_DIGEST_KEY = Buffer.from('test digest key');

/** A login's `VerifyRequest` for `jwt` (the digest under a fixed test key, as a login makes it). */
export const request = (jwt: string, ...aud: [string | undefined] | []) => ({
  jwt,
  tokenDigest: hmacB64(TEST_DIGEST_KEY, jwt),
  claims: parseUnverifiedClaims(jwt),
  audience: aud.length === 0 ? 'vault' : aud[0],
});

/** The AuthgateError `p` rejects with; throws when it resolves or rejects with anything else. */
export const refusal = async (p: Promise<unknown>): Promise<AuthgateError> => {
  const err = await p.then(
    () => new Error('expected a refusal, but it resolved'),
    (e: unknown) => e,
  );
  if (!(err instanceof AuthgateError)) throw err;
  return err;
};

export const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');

/** A logger that records every call: `lines` holds `{ level, fields, msg }`. */
export const captureLog = () => {
  const lines: Array<{ level: string; fields: Record<string, unknown>; msg: string }> = [];
  const at =
    (level: string) =>
    (fields: Record<string, unknown>, msg = '') => {
      lines.push({ level, fields, msg });
    };
  const log = {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
  } as unknown as VerifierLog;
  return { log, lines };
};

/** A mount with every field set, for either verification mode. */
export const mountOf = (over: Partial<KubernetesMountConfig>): KubernetesMountConfig => ({
  path: 'kubernetes',
  type: 'kubernetes',
  description: '',
  kubernetesHost: undefined,
  kubernetesCaCert: undefined,
  tokenReviewerJwtFile: undefined,
  verification: 'tokenreview',
  jwks: undefined,
  tokenReview: {
    cacheTtlSeconds: 60,
    cacheMaxEntries: 1000,
    maxConcurrent: 8,
    maxQueue: 100,
    timeoutMs: 2000,
  },
  issuers: [],
  allowedAlgorithms: ['RS256', 'ES256'],
  leewaySeconds: 60,
  namespaceCacheTtlSeconds: 30,
  defaultLeaseTtlSeconds: 3600,
  maxLeaseTtlSeconds: 7200,
  roles: new Map(),
  ...over,
});

/**
 * A JWKS server holding one RS256 key and a URL-sourced JWKS verifier on a fake clock: the
 * common setup of the JWKS tests. `close()` stops both.
 */
export const urlJwksFixture = async () => {
  const server = await startJwksServer();
  const clock = createFakeClock();
  const rsa = await makeKey('RS256');
  server.state.keys = [rsa.jwk];
  const verifier = createJwksVerifier(jwksMount({ kind: 'url', url: server.jwksUrl }), {
    clock,
    log: silent,
  });
  return {
    server,
    clock,
    rsa,
    verifier,
    close: async () => {
      await verifier.close();
      await server.close();
    },
  };
};
