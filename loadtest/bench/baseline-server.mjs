/**
 * The bench's baseline: a bare Fastify process (no logger, default JSON body parser) with
 *
 * - `POST /empty`  → `{}`: what the HTTP stack alone costs with a login-sized body;
 * - `POST /verify` → `{}`: the RS256 signature of `body.jwt` checked with node:crypto against the
 *   cluster's published key (by `kid`), nothing else: the ceiling for a login that verifies a
 *   token it has never seen. A bad signature, an unknown kid or a malformed token answers 403, so
 *   a broken setup shows as failed requests instead of fast ones.
 *
 * Env: `BENCH_BASELINE_JWKS` — the `{"keys":[…]}` document of `/openid/v1/jwks` (required);
 * `BENCH_BASELINE_PORT` — listen port on 127.0.0.1 (default 0, any free port).
 * Prints `Baseline: http://127.0.0.1:PORT` when listening; exits on SIGTERM/SIGINT.
 */
import { Buffer } from 'node:buffer';
import { createPublicKey, verify } from 'node:crypto';
import Fastify from 'fastify';

const jwksText = process.env.BENCH_BASELINE_JWKS;
if (!jwksText) {
  console.error('baseline-server: BENCH_BASELINE_JWKS (the cluster JWKS document) is required');
  process.exit(2);
}
/** kid → public key, RS256 keys only. */
const keys = new Map(
  JSON.parse(jwksText)
    .keys.filter((jwk) => jwk.kty === 'RSA')
    .map((jwk) => [jwk.kid, createPublicKey({ key: jwk, format: 'jwk' })]),
);
if (keys.size === 0) {
  console.error('baseline-server: the JWKS holds no RSA key');
  process.exit(2);
}

/** True when `jwt` is a compact JWS whose RS256 signature verifies under the key its header names. */
const verifies = (jwt) => {
  if (typeof jwt !== 'string') return false;
  const firstDot = jwt.indexOf('.');
  const lastDot = jwt.lastIndexOf('.');
  if (firstDot <= 0 || lastDot === firstDot) return false;
  let header;
  try {
    header = JSON.parse(Buffer.from(jwt.slice(0, firstDot), 'base64url').toString('utf8'));
  } catch {
    return false;
  }
  const key = keys.get(header.kid);
  if (header.alg !== 'RS256' || key === undefined) return false;
  return verify(
    'RSA-SHA256',
    Buffer.from(jwt.slice(0, lastDot)),
    key,
    Buffer.from(jwt.slice(lastDot + 1), 'base64url'),
  );
};

const app = Fastify({ logger: false });
app.post('/empty', async () => ({}));
app.post('/verify', async (request, reply) => {
  const body = /** @type {{ jwt?: unknown } | undefined} */ (request.body);
  if (!verifies(body?.jwt)) return reply.code(403).send({ errors: ['permission denied'] });
  return {};
});

const address = await app.listen({ host: '127.0.0.1', port: Number(process.env.BENCH_BASELINE_PORT ?? 0) });
console.log(`Baseline: ${address}`);

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.once(signal, () => {
    void app.close().then(() => process.exit(0));
  });
}
