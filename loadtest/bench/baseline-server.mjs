/**
 * The bench's baseline: a bare Fastify process (no logger, default JSON body parser) with
 *
 * - `POST /empty`  → `{}`: what the HTTP stack alone costs with a login-sized body;
 * - `POST /verify` → `{}`: the RS256 signature of `body.jwt` checked with node:crypto against the
 *   cluster's published key (by `kid`), nothing else: the ceiling for a login that verifies a
 *   token it has never seen. A bad signature, an unknown kid or a malformed token answers 403, so
 *   a broken setup shows as failed requests instead of fast ones.
 * - `POST /issue`  → a Vault-shaped login answer: the least a login that issues a client token
 *   must do, with no verification, policy, audit or telemetry: the JWT payload decoded, a random
 *   token and accessor, their two HMACs, the token's record serialized into an in-process Map
 *   (kept, as an in-memory store keeps live tokens), and the `auth` block answered. The reference
 *   a cached login can fairly be compared with.
 *
 * Env: `BENCH_BASELINE_JWKS` — the `{"keys":[…]}` document of `/openid/v1/jwks` (required);
 * `BENCH_BASELINE_PORT` — listen port on 127.0.0.1 (default 0, any free port).
 * Prints `Baseline: http://127.0.0.1:PORT` when listening; exits on SIGTERM/SIGINT.
 */
import { Buffer } from 'node:buffer';
import { createHmac, createPublicKey, randomBytes, verify } from 'node:crypto';
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

const hmacKey = randomBytes(32);
const hmac = (value) => createHmac('sha256', hmacKey).update(value).digest('base64url');
/** Issued token records by HMAC, as a memory store holds them. */
const records = new Map();

/** The payload of a compact JWT, decoded but not verified; undefined when malformed. */
const claimsOf = (jwt) => {
  if (typeof jwt !== 'string') return undefined;
  const first = jwt.indexOf('.');
  const last = jwt.lastIndexOf('.');
  if (first <= 0 || last === first) return undefined;
  try {
    return JSON.parse(Buffer.from(jwt.slice(first + 1, last), 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
};

const app = Fastify({ logger: false });
app.post('/empty', async () => ({}));
app.post('/verify', async (request, reply) => {
  const body = /** @type {{ jwt?: unknown } | undefined} */ (request.body);
  if (!verifies(body?.jwt)) return reply.code(403).send({ errors: ['permission denied'] });
  return {};
});

app.post('/issue', async (request, reply) => {
  const body = /** @type {{ role?: unknown, jwt?: unknown } | undefined} */ (request.body);
  const claims = claimsOf(body?.jwt);
  const k8s = claims?.['kubernetes.io'];
  if (k8s === undefined) return reply.code(403).send({ errors: ['permission denied'] });
  const random = randomBytes(48);
  const token = `ags.${random.subarray(0, 32).toString('base64url')}`;
  const accessor = random.subarray(32).toString('base64url');
  const metadata = {
    role: String(body.role),
    service_account_name: k8s.serviceaccount?.name ?? '',
    service_account_namespace: k8s.namespace ?? '',
    service_account_uid: k8s.serviceaccount?.uid ?? '',
  };
  const now = Date.now();
  const record = {
    accessor,
    policies: ['default', String(body.role)],
    metadata,
    issueTimeMs: now,
    expireTimeMs: now + 3_600_000,
  };
  records.set(hmac(token), JSON.stringify(record));
  records.set(hmac(accessor), token.length);
  return {
    request_id: '00000000-0000-4000-8000-000000000000',
    lease_id: '',
    renewable: false,
    lease_duration: 0,
    data: null,
    wrap_info: null,
    warnings: null,
    auth: {
      client_token: token,
      accessor,
      policies: record.policies,
      token_policies: record.policies,
      metadata,
      lease_duration: 3600,
      renewable: true,
      entity_id: '00000000-0000-4000-8000-000000000000',
      token_type: 'service',
      orphan: true,
      mfa_requirement: null,
      num_uses: 0,
    },
    mount_type: '',
  };
});

const address = await app.listen({ host: '127.0.0.1', port: Number(process.env.BENCH_BASELINE_PORT ?? 0) });
console.log(`Baseline: ${address}`);

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.once(signal, () => {
    void app.close().then(() => process.exit(0));
  });
}
