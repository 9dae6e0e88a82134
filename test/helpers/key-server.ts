import { generateKeyPairSync, randomUUID, sign, type KeyObject } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { recordSecrets } from './audit.js';
import { segment, type Harness } from './harness.js';

/** A jwks mount's answer to a login while it holds no key: the key source failed. */
export const JWKS_UNAVAILABLE = {
  status: 503,
  json: { errors: ['error fetching JWKS: no signing keys available'] },
};
/** Vault's answer to a token whose signature is not proven. */
export const DENIED = { status: 403, json: { errors: ['permission denied'] } };

/** What the key server answers a request with; `base` is its own `http://127.0.0.1:<port>`. */
export type KeyServerHandler = (req: IncomingMessage, res: ServerResponse, base: string) => void;

/**
 * A stand-in for an issuer's discovery and JWKS endpoints that misbehaves as a test tells it to:
 * `handler` answers every request, `paths` lists what was asked for. Plain HTTP on 127.0.0.1.
 */
export const startKeyServer = async () => {
  const server = {
    handler: ((_req, res) => res.writeHead(404).end()) as KeyServerHandler,
    paths: [] as string[],
    base: '',
    close: async () => {
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
  const http = createServer((req, res) => {
    server.paths.push(req.url ?? '');
    server.handler(req, res, server.base);
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  server.base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  return server;
};
export type KeyServer = Awaited<ReturnType<typeof startKeyServer>>;

/** A handler answering 200 with `body` as JSON. */
export const json =
  (body: unknown): KeyServerHandler =>
  (_req, res) =>
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));

/** A handler serving `{"keys": keys}` at `/jwks` and 404 elsewhere. */
export const jwksAt =
  (keys: unknown[]): KeyServerHandler =>
  (req, res, base) =>
    req.url === '/jwks' ? json({ keys })(req, res, base) : res.writeHead(404).end();

/** The harness's `jwks` settings that read keys from `url` instead of the cluster's discovery. */
export const jwksUrl = (url: string, more: Record<string, unknown> = {}) => ({
  oidc_discovery_url: undefined,
  url,
  ...more,
});

/** Logs in to the harness's jwks mount as role nginx. */
export const jwksLogin = (h: Harness, jwt: string) => h.login('jwks', { role: 'nginx', jwt });

export const rsaKey = () => generateKeyPairSync('rsa', { modulusLength: 2048 });
/** The public JWK of a key pair, with more members (`kid`, `use`, …). */
export const publicJwk = (pair: { publicKey: KeyObject }, more: Record<string, unknown> = {}) => ({
  ...(pair.publicKey.export({ format: 'jwk' }) as Record<string, unknown>),
  ...more,
});

/** Claims of a pod-bound token of test/nginx for the harness's issuer, audience vault. */
export const nginxClaims = (issuer: string) => {
  const now = Math.floor(Date.now() / 1000);
  return {
    aud: ['vault'],
    exp: now + 600,
    iat: now,
    nbf: now,
    iss: issuer,
    jti: randomUUID(),
    sub: 'system:serviceaccount:test:nginx',
    'kubernetes.io': {
      namespace: 'test',
      pod: { name: 'nginx', uid: randomUUID() },
      serviceaccount: { name: 'nginx', uid: randomUUID() },
    },
  };
};

/**
 * A compact JWS with exactly this header, signed with node:crypto (jose's signer refuses some of
 * the headers and keys these tests need). `payload` is JSON-encoded unless already a string.
 */
export const signRaw = (header: Record<string, unknown>, key: KeyObject, payload: unknown): string => {
  const input = `${segment(header)}.${typeof payload === 'string' ? payload : segment(payload)}`;
  const alg = String(header['alg']);
  const hash = `sha${alg.slice(2)}`;
  const signature = alg.startsWith('ES')
    ? sign(hash, Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' })
    : sign(hash, Buffer.from(input), key);
  const jwt = `${input}.${signature.toString('base64url')}`;
  recordSecrets(jwt);
  return jwt;
};
