import { createHmac, createPublicKey, type JsonWebKey } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevCluster, type DevCluster } from '../src/devcluster/index.js';
import { ADMIN_TOKEN, segment, startHarness, withPayload, type Harness } from './helpers/harness.js';

let h: Harness;
let other: DevCluster;

beforeAll(async () => {
  h = await startHarness({
    roles: {
      nginx: {
        bound_service_account_names: ['nginx'],
        bound_service_account_namespaces: ['test'],
        audience: 'vault',
        token_policies: ['nginx', 'Shared'],
        token_ttl: '1h',
        token_max_ttl: '24h',
      },
      globs: {
        bound_service_account_names: ['web-*'],
        bound_service_account_namespaces: ['team-*'],
        audience: 'vault',
      },
      cidr: {
        bound_service_account_names: ['nginx'],
        bound_service_account_namespaces: ['test'],
        audience: 'vault',
        token_bound_cidrs: ['10.0.0.0/8'],
      },
      legacy: {
        bound_service_account_names: ['old'],
        bound_service_account_namespaces: ['test'],
        allow_missing_audience: true,
      },
    },
    // The simulator signs with a new key at once; the real API server publishes it an hour
    // before. A short cooldown lets the JWKS mount fetch it as soon as a token names it.
    jwks: { cooldown: '0s' },
  });
  // A second cluster with the same issuer but its own keys: its tokens carry an unknown kid.
  other = await startDevCluster({ issuers: [h.cluster.issuer] });
  other.createPod({ namespace: 'test', name: 'nginx', serviceAccount: 'nginx' });
});

afterAll(async () => {
  await h?.close();
  await other?.close();
});

const MOUNTS = ['kubernetes', 'jwks'] as const;

/** Creates a pod unless an earlier case of the same table made it. */
const ensurePod = (p: { namespace: string; name: string; serviceAccount: string }) => {
  try {
    h.cluster.createPod(p);
  } catch (err) {
    if ((err as { code?: number }).code !== 409) throw err;
  }
};

describe.each(MOUNTS)('login through the %s mount', (mount) => {
  it('issues a Vault-shaped client token for a projected pod token', async () => {
    const jwt = await h.podToken();
    const res = await h.login(mount, { role: 'nginx', jwt });
    expect(res.status).toBe(200);
    const auth = res.json['auth'] as Record<string, unknown>;
    expect(res.json).toMatchObject({
      lease_id: '',
      renewable: false,
      lease_duration: 0,
      data: null,
      mount_type: 'kubernetes',
    });
    expect(auth).toMatchObject({
      policies: ['default', 'nginx', 'shared'],
      token_policies: ['default', 'nginx', 'shared'],
      lease_duration: 3600,
      renewable: true,
      token_type: 'service',
      orphan: true,
      num_uses: 0,
    });
    expect(String(auth['client_token'])).toMatch(/^ags\./);
    const metadata = auth['metadata'] as Record<string, string>;
    expect(metadata).toMatchObject({
      role: 'nginx',
      service_account_name: 'nginx',
      service_account_namespace: 'test',
      service_account_secret_name: '',
      pod_name: 'nginx',
    });
    expect(metadata['service_account_uid']).toMatch(/^[0-9a-f-]{36}$/);
    expect(metadata['pod_uid']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it.each([
    ['missing role', { jwt: 'x.y.z' }, 400, 'missing role'],
    ['empty role', { role: '', jwt: 'x.y.z' }, 400, 'missing role'],
    ['missing jwt', { role: 'nginx' }, 400, 'missing jwt'],
    ['unknown role', { role: 'plugin-test-bad', jwt: 'x.y.z' }, 400, 'invalid role name "plugin-test-bad"'],
    [
      'an unknown role of 500 000 characters, its name cut short',
      { role: 'r'.repeat(500_000), jwt: 'x.y.z' },
      400,
      `invalid role name "${'r'.repeat(128)}…(500000 chars)"`,
    ],
    // Vault's FieldData reads a JSON null as an absent field.
    ['a null role', { role: null, jwt: 'x.y.z' }, 400, 'missing role'],
    ['a null jwt', { role: 'nginx', jwt: null }, 400, 'missing jwt'],
    [
      'a client token where the role goes, without quoting it',
      { role: 'ags.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', jwt: 'x.y.z' },
      400,
      'invalid role name "not quoted: it holds a token"',
    ],
    [
      'a batch token where the role goes, without quoting it',
      { role: `agb.${'A'.repeat(200)}`, jwt: 'x.y.z' },
      400,
      'invalid role name "not quoted: it holds a token"',
    ],
    [
      'the admin token where the role goes, without quoting it (it has no shape of its own)',
      { role: ADMIN_TOKEN, jwt: 'x.y.z' },
      400,
      'invalid role name "not quoted: it holds a token"',
    ],
    [
      'a JWT where the role goes, without quoting it',
      { role: 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln', jwt: 'x.y.z' },
      400,
      'invalid role name "not quoted: it holds a token"',
    ],
    [
      'a JWT after other characters where the role goes, without quoting it',
      { role: 'nginx-eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln', jwt: 'x.y.z' },
      400,
      'invalid role name "not quoted: it holds a token"',
    ],
    [
      'a role that is not a string',
      { role: 5, jwt: 'x.y.z' },
      400,
      'invalid value for "role": must be string',
    ],
  ])('refuses %s', async (_what, body, status, message) => {
    const res = await h.login(mount, body);
    expect(res.status).toBe(status);
    expect(res.json).toEqual({ errors: [message] });
  });

  it('looks for a token in a long role name in linear time', async () => {
    // 150 000 characters of `eyJ` with no dot: a scan for a JWT restarted at each `eyJ` took
    // seconds of the event loop for this one request, and minutes for a body at its limit.
    const started = performance.now();
    const res = await h.login(mount, { role: 'eyJ'.repeat(50_000), jwt: 'x.y.z' });
    expect(performance.now() - started).toBeLessThan(1000);
    expect(res).toEqual({
      status: 400,
      json: { errors: [`invalid role name "${'eyJ'.repeat(42)}ey…(150000 chars)"`] },
    });
  });

  it('looks roles up case-insensitively, as Vault does', async () => {
    const res = await h.login(mount, { role: 'NGINX', jwt: await h.podToken() });
    expect(res.status).toBe(200);
  });

  it('refuses a service account outside the role before any API call', async () => {
    ensurePod({ namespace: 'test', name: 'api', serviceAccount: 'api' });
    const jwt = await h.podToken({ serviceAccount: 'api', pod: 'api' });
    const before = h.cluster.stats().tokenReviews;
    const res = await h.login(mount, { role: 'nginx', jwt });
    expect(res).toEqual({ status: 403, json: { errors: ['service account name not authorized'] } });
    expect(h.cluster.stats().tokenReviews).toBe(before);
  });

  it('refuses a namespace outside the role', async () => {
    ensurePod({ namespace: 'other', name: 'nginx', serviceAccount: 'nginx' });
    const jwt = await h.podToken({ namespace: 'other' });
    expect(await h.login(mount, { role: 'nginx', jwt })).toEqual({
      status: 403,
      json: { errors: ['namespace not authorized'] },
    });
  });

  it('matches names and namespaces with globs', async () => {
    ensurePod({ namespace: 'team-a', name: 'web-1', serviceAccount: 'web-frontend' });
    ensurePod({ namespace: 'team-a', name: 'api-1', serviceAccount: 'api-backend' });
    ensurePod({ namespace: 'staging', name: 'web-2', serviceAccount: 'web-frontend' });
    const ok = await h.podToken({ namespace: 'team-a', serviceAccount: 'web-frontend', pod: 'web-1' });
    const badName = await h.podToken({ namespace: 'team-a', serviceAccount: 'api-backend', pod: 'api-1' });
    const badNs = await h.podToken({ namespace: 'staging', serviceAccount: 'web-frontend', pod: 'web-2' });
    expect((await h.login(mount, { role: 'globs', jwt: ok })).status).toBe(200);
    expect((await h.login(mount, { role: 'globs', jwt: badName })).json).toEqual({
      errors: ['service account name not authorized'],
    });
    expect((await h.login(mount, { role: 'globs', jwt: badNs })).json).toEqual({
      errors: ['namespace not authorized'],
    });
  });

  it('refuses a token minted for another audience', async () => {
    const jwt = await h.podToken({ audiences: ['https://kubernetes.default.svc.cluster.local'] });
    expect(await h.login(mount, { role: 'nginx', jwt })).toEqual({
      status: 403,
      json: { errors: ['invalid audience (aud) claim: audience claim does not match any expected audience'] },
    });
  });

  it('refuses a login from outside the bound CIDRs', async () => {
    const res = await h.login(mount, { role: 'cidr', jwt: await h.podToken() });
    expect(res).toEqual({ status: 403, json: { errors: ['permission denied'] } });
  });

  it('refuses a token from another issuer', async () => {
    const foreign = await startDevCluster({ issuers: ['https://evil.example.com'] });
    try {
      foreign.createPod({ namespace: 'test', name: 'nginx', serviceAccount: 'nginx' });
      const { token } = await foreign.mintToken({
        namespace: 'test',
        serviceAccount: 'nginx',
        audiences: ['vault'],
        pod: 'nginx',
      });
      expect(await h.login(mount, { role: 'nginx', jwt: token })).toEqual({
        status: 403,
        json: { errors: ['invalid issuer (iss) claim'] },
      });
    } finally {
      await foreign.close();
    }
  });

  it('refuses a token signed by an unknown key (unknown kid)', async () => {
    const { token } = await other.mintToken({
      namespace: 'test',
      serviceAccount: 'nginx',
      audiences: ['vault'],
      pod: 'nginx',
    });
    expect(await h.login(mount, { role: 'nginx', jwt: token })).toEqual({
      status: 403,
      json: { errors: ['permission denied'] },
    });
  });

  it('refuses a token whose claims were altered after signing', async () => {
    const jwt = withPayload(await h.podToken(), (p) => {
      p['exp'] = Number(p['exp']) + 86400;
    });
    expect(await h.login(mount, { role: 'nginx', jwt })).toEqual({
      status: 403,
      json: { errors: ['permission denied'] },
    });
  });

  it('refuses alg none', async () => {
    const [, payload] = (await h.podToken()).split('.');
    const jwt = `${segment({ alg: 'none', kid: '' })}.${payload}.c2ln`;
    expect(await h.login(mount, { role: 'nginx', jwt })).toEqual({
      status: 403,
      json: { errors: ['invalid algorithm (alg) header parameter: token signed with unexpected algorithm'] },
    });
  });

  it.each(['constructor', '__proto__', 'toString'])(
    'refuses alg %s, a name every plain object inherits, as any other unexpected algorithm',
    async (alg) => {
      const [head, payload, sig] = (await h.podToken()).split('.');
      const header = JSON.parse(Buffer.from(head ?? '', 'base64url').toString()) as object;
      const jwt = `${segment({ ...header, alg })}.${payload}.${sig}`;
      expect(await h.login(mount, { role: 'nginx', jwt })).toEqual({
        status: 403,
        json: {
          errors: ['invalid algorithm (alg) header parameter: token signed with unexpected algorithm'],
        },
      });
    },
  );

  it('refuses an HS256 token signed with the public key as the secret', async () => {
    const jwk = h.cluster.jwks().keys[0] as JsonWebKey & { kid: string };
    const pem = createPublicKey({ key: jwk, format: 'jwk' }).export({ type: 'spki', format: 'pem' });
    const [, payload] = (await h.podToken()).split('.');
    const head = segment({ alg: 'HS256', kid: jwk.kid });
    const sig = createHmac('sha256', pem).update(`${head}.${payload}`).digest('base64url');
    expect(await h.login(mount, { role: 'nginx', jwt: `${head}.${payload}.${sig}` })).toEqual({
      status: 403,
      json: { errors: ['invalid algorithm (alg) header parameter: token signed with unexpected algorithm'] },
    });
  });

  it.each([
    ['truncated', (t: string) => t.slice(0, t.lastIndexOf('.'))],
    ['cut mid-signature', (t: string) => t.slice(0, t.length - 20)],
    ['not base64', () => 'not.a!jwt.at-all'],
    ['garbage', () => 'eyJhbGciOiJSUzI1NiJ9'],
    ['JSON', () => '{"alg":"RS256"}'],
  ])('refuses a %s token with permission denied', async (_what, mangle) => {
    const jwt = mangle(await h.podToken());
    expect(await h.login(mount, { role: 'nginx', jwt })).toEqual({
      status: 403,
      json: { errors: ['permission denied'] },
    });
  });

  it('refuses a legacy secret-based token when its issuer is not configured', async () => {
    h.cluster.createServiceAccount('test', 'old');
    const jwt = await h.cluster.mintLegacyToken('test', 'old');
    expect(await h.login(mount, { role: 'legacy', jwt })).toEqual({
      status: 403,
      json: { errors: ['invalid issuer (iss) claim'] },
    });
  });

  it('keeps tokens of the old key valid after a key rotation, and accepts the new key', async () => {
    const before = await h.podToken();
    await h.cluster.rotateKey('ES256');
    const after = await h.podToken();
    expect(after.split('.')[0]).not.toBe(before.split('.')[0]);
    expect((await h.login(mount, { role: 'nginx', jwt: before })).status).toBe(200);
    expect((await h.login(mount, { role: 'nginx', jwt: after })).status).toBe(200);
  });
});

describe('the HTTP envelope', () => {
  it('refuses a body over the limit with 413', async () => {
    const res = await h.server.app.inject({
      method: 'POST',
      url: '/v1/auth/kubernetes/login',
      payload: JSON.stringify({ role: 'nginx', jwt: 'x'.repeat(1024 * 1024) }),
      headers: { 'content-type': 'application/json' },
    });
    expect(res.statusCode).toBe(413);
    expect(res.json()).toEqual({ errors: ['request body too large'] });
  });

  it('reads the body as JSON whatever the content type, as Vault does (curl -d)', async () => {
    const jwt = await h.podToken();
    const res = await h.server.app.inject({
      method: 'POST',
      url: '/v1/auth/kubernetes/login',
      payload: JSON.stringify({ role: 'nginx', jwt }),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(res.statusCode).toBe(200);
  });

  it.each([
    [
      'form fields Go cannot read',
      'role=nginx;jwt=abc',
      'application/x-www-form-urlencoded',
      'error parsing form data',
    ],
    ['form fields typed as JSON', 'role=nginx&jwt=abc', 'application/json', 'error parsing JSON'],
    ['broken JSON', '{"role":', 'application/json', 'error parsing JSON'],
    ['text', 'hello', 'text/plain', 'error parsing JSON'],
  ])('refuses %s with 400', async (_what, payload, type, message) => {
    const res = await h.server.app.inject({
      method: 'POST',
      url: '/v1/auth/kubernetes/login',
      payload,
      headers: { 'content-type': type },
    });
    expect(res.statusCode).toBe(400);
    expect((res.json() as { errors: string[] }).errors[0]).toBe(message);
  });

  it('refuses a JSON body that is not an object', async () => {
    const res = await h.login('kubernetes', '[1,2]');
    expect(res.status).toBe(400);
    expect(res.json.errors).toHaveLength(1);
  });

  it('answers an unknown mount as Vault: 403 before its token check, 404 only to a caller it lets ask', async () => {
    // No login path exists there, so the request is an ordinary one: Vault checks its token first.
    expect(await h.login('nope', { role: 'x', jwt: 'y' })).toEqual({
      status: 403,
      json: { errors: ['permission denied'] },
    });
    const res = await h.server.app.inject({
      method: 'POST',
      url: '/v1/auth/nope/login',
      headers: { 'x-vault-token': ADMIN_TOKEN, 'content-type': 'application/json' },
      payload: JSON.stringify({ role: 'x', jwt: 'y' }),
    });
    expect([res.statusCode, res.json()]).toEqual([
      404,
      { errors: ['no handler for route "auth/nope/login". route entry not found.'] },
    ]);
  });
});

describe('legacy secret-based tokens', () => {
  let lh: Harness;
  beforeAll(async () => {
    lh = await startHarness({
      mount: { issuers: ['https://kubernetes.default.svc.cluster.local', 'kubernetes/serviceaccount'] },
      roles: {
        legacy: {
          bound_service_account_names: ['old'],
          bound_service_account_namespaces: ['test'],
          allow_missing_audience: true,
        },
        nginx: {
          bound_service_account_names: ['old'],
          bound_service_account_namespaces: ['test'],
          audience: 'vault',
        },
      },
    });
    lh.cluster.createServiceAccount('test', 'old');
  });
  afterAll(async () => {
    await lh?.close();
  });

  it('log in through TokenReview with the flat legacy claims when the role has no audience', async () => {
    const jwt = await lh.cluster.mintLegacyToken('test', 'old', 'old-token-abcde');
    const res = await lh.login('kubernetes', { role: 'legacy', jwt });
    expect(res.status).toBe(200);
    expect((res.json['auth'] as { metadata: Record<string, string> }).metadata).toMatchObject({
      service_account_name: 'old',
      service_account_namespace: 'test',
      service_account_secret_name: 'old-token-abcde',
    });
  });

  it('are refused through TokenReview once the token cleaner marked their Secret invalid', async () => {
    const jwt = await lh.cluster.mintLegacyToken('test', 'old', 'old-token-unused');
    const mark = (since: string | null) =>
      lh.cluster.labelSecret('test', 'old-token-unused', {
        'kubernetes.io/legacy-token-invalid-since': since,
      });
    mark('2024-04-01');
    expect(await lh.login('kubernetes', { role: 'legacy', jwt })).toEqual({
      status: 403,
      json: { errors: ['permission denied'] },
    });
  });

  it('are refused through JWKS verification, which cannot see their Secret deleted', async () => {
    const jwt = await lh.cluster.mintLegacyToken('test', 'old');
    expect(await lh.login('jwks', { role: 'legacy', jwt })).toEqual({
      status: 403,
      json: { errors: ['invalid expiration time (exp) claim: token has no expiry'] },
    });
  });

  it.each(MOUNTS)('are refused through %s by a role that requires an audience', async (mount) => {
    const jwt = await lh.cluster.mintLegacyToken('test', 'old');
    expect(await lh.login(mount, { role: 'nginx', jwt })).toEqual({
      status: 403,
      json: { errors: ['invalid audience (aud) claim: audience claim does not match any expected audience'] },
    });
  });
});
