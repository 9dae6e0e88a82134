import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateRawSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { segment, startHarness, type Harness } from './helpers/harness.js';
import {
  DENIED,
  JWKS_UNAVAILABLE,
  json,
  jwksAt,
  jwksLogin,
  jwksUrl,
  nginxClaims,
  publicJwk,
  rsaKey,
  signRaw,
  startKeyServer,
  type KeyServer,
  type KeyServerHandler,
} from './helpers/key-server.js';
import { createLogger } from '../src/telemetry/index.js';
import { jsonLogLines } from './helpers/log-lines.js';
import { makeCa, makeServerCert, type TestCa } from './helpers/tls-files.js';

// A jwks mount whose key source misbehaves fails closed: a login is 503 while no key can be had,
// never 500 and never accepted, and the keys it already holds keep serving.
//
// What a jwks mount makes of the members of a key set, and of the headers of a token: a key is
// used only for what it is (a public RSA or EC signing key of the token's family), and nothing a
// token says about keys (jku, x5u, jwk) is fetched or trusted.

const ALG_DENIED = {
  status: 403,
  json: { errors: ['invalid algorithm (alg) header parameter: token signed with unexpected algorithm'] },
};

let keys: KeyServer;
beforeAll(async () => {
  keys = await startKeyServer();
});
afterAll(async () => {
  await keys.close();
});

const rsa = rsaKey();
const other = rsaKey();
const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
const small = generateKeyPairSync('rsa', { modulusLength: 1024 });
const rsaPrivate = rsa.privateKey.export({ format: 'jwk' });
const goodJwks = [publicJwk(rsa, { kid: 'k1', use: 'sig', alg: 'RS256' })];
const tokenFor = (h: Harness, kid = 'k1') =>
  signRaw({ alg: 'RS256', kid }, rsa.privateKey, nginxClaims(h.cluster.issuer));

describe('a login through a jwks mount whose JWKS URL misbehaves', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  const stall: KeyServerHandler = (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write('{"keys":[');
  };
  const huge: KeyServerHandler = (_req, res) => {
    // 2 MiB of whitespace before a valid set: past the 1 MiB bound on a key document.
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(`${' '.repeat(2 * 1024 * 1024)}${JSON.stringify({ keys: goodJwks })}`);
  };
  it.each<[string, KeyServerHandler]>([
    ['never answers (bounded by jwks.timeout)', () => undefined],
    ['sends headers, then stalls in the body', stall],
    ['answers 500', (_req, res) => res.writeHead(500).end('internal error')],
    ['answers 404', (_req, res) => res.writeHead(404).end('not found')],
    [
      'redirects to a working JWKS (not followed)',
      (req, res, base) =>
        req.url === '/jwks'
          ? res.writeHead(302, { location: `${base}/moved` }).end()
          : json({ keys: goodJwks })(req, res, base),
    ],
    ['answers HTML', (_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html></html>')],
    ['answers a body over 1 MiB', huge],
    ['answers a set without "keys"', json({ jwks: goodJwks })],
    ['answers "keys" that is not an array', json({ keys: goodJwks[0] })],
    ['answers a set with no signing key', json({ keys: [{ kty: 'oct', k: 'c2VjcmV0', kid: 'k1' }] })],
  ])('is 503 when the endpoint %s', async (_what, handler) => {
    keys.handler = handler;
    keys.paths.length = 0;
    h = await startHarness({ jwks: jwksUrl(`${keys.base}/jwks`, { timeout: '1s' }) });
    expect(await jwksLogin(h, tokenFor(h))).toEqual(JWKS_UNAVAILABLE);
    expect(keys.paths).not.toContain('/moved');
  });

  it('is 503 when the endpoint refuses connections', async () => {
    const gone = await startKeyServer();
    await gone.close();
    h = await startHarness({ jwks: jwksUrl(`${gone.base}/jwks`) });
    expect(await jwksLogin(h, tokenFor(h))).toEqual(JWKS_UNAVAILABLE);
  });
});

describe('a login through a jwks mount whose discovery document misbehaves', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  const discovery =
    (doc: (base: string) => Record<string, unknown>): KeyServerHandler =>
    (req, res, base) =>
      req.url === '/.well-known/openid-configuration'
        ? json(doc(base))(req, res, base)
        : jwksAt(goodJwks)(req, res, base);
  const discover = async (doc: (base: string) => Record<string, unknown>) => {
    keys.handler = discovery(doc);
    keys.paths.length = 0;
    h = await startHarness({ jwks: { oidc_discovery_url: keys.base } });
    return jwksLogin(h, tokenFor(h));
  };
  const issuer = 'https://kubernetes.default.svc.cluster.local';

  it('finds the keys through a jwks_uri on another host', async () => {
    const other = (base: string) => base.replace('127.0.0.1', 'localhost');
    const res = await discover((base) => ({ issuer, jwks_uri: `${other(base)}/jwks` }));
    expect(res.status).toBe(200);
  });

  it.each<[string, (base: string) => Record<string, unknown>]>([
    ['a relative jwks_uri', () => ({ issuer, jwks_uri: '/jwks' })],
    ['a file: jwks_uri', () => ({ issuer, jwks_uri: 'file:///etc/passwd' })],
    ['a jwks_uri that is not a string', () => ({ issuer, jwks_uri: 7 })],
    ['no jwks_uri', () => ({ issuer })],
    [
      'the issuer of another cluster',
      (base) => ({ issuer: 'https://evil.example', jwks_uri: `${base}/jwks` }),
    ],
    ['no issuer', (base) => ({ jwks_uri: `${base}/jwks` })],
    // The discovery URL on loopback allows plain HTTP there, not to another host.
    [
      'a plain-http jwks_uri on a host that is not loopback',
      () => ({ issuer, jwks_uri: 'http://keys.example.test/jwks' }),
    ],
  ])('is 503 on %s, and fetches no keys', async (_what, doc) => {
    expect(await discover(doc)).toEqual(JWKS_UNAVAILABLE);
    expect(keys.paths).toEqual(['/.well-known/openid-configuration']);
  });

  /** A load that fails quoting what the endpoint wrote: quoted in log lines and audit entries, cut short. */
  const expectQuotedShort = async (handler: KeyServerHandler, quoted: string) => {
    const { raw, stream } = jsonLogLines();
    keys.handler = handler;
    h = await startHarness({ jwks: { oidc_discovery_url: keys.base }, log: createLogger('warn', stream) });
    expect(await jwksLogin(h, tokenFor(h))).toEqual(JWKS_UNAVAILABLE);
    expect(raw.join('\n')).toContain(quoted);
    const audit = readFileSync(h.auditFile ?? '', 'utf8').split('\n');
    expect(audit.some((l) => l.includes(quoted))).toBe(true);
    expect(Math.max(...[...raw, ...audit].map((l) => l.length))).toBeLessThan(10_000);
  };

  it('quotes an issuer of 500 000 characters in its log lines and audit entries only cut short', async () => {
    await expectQuotedShort(
      discovery((base) => ({ issuer: 'i'.repeat(500_000), jwks_uri: `${base}/jwks` })),
      'is not one of the configured issuers',
    );
  });

  it('quotes a jwks_uri of 12 000 characters that fails in its log lines and audit entries only cut short', async () => {
    const doc = json({ issuer, jwks_uri: `${keys.base}/jwks/${'u'.repeat(12_000)}` });
    await expectQuotedShort((req, res, base) => {
      if (req.url === '/.well-known/openid-configuration') return doc(req, res, base);
      res.writeHead(500).end();
    }, 'answered HTTP 500');
  });
});

describe('a jwks mount whose JWKS URL fails after its keys were loaded', () => {
  let h: Harness;
  beforeAll(async () => {
    keys.handler = jwksAt(goodJwks);
    h = await startHarness({ jwks: jwksUrl(`${keys.base}/jwks`) });
    expect((await jwksLogin(h, tokenFor(h))).status).toBe(200);
    keys.handler = (_req, res) => res.writeHead(503).end();
    keys.paths.length = 0;
  });
  afterAll(async () => {
    await h.close();
  });

  it('refuses tokens naming unknown kids with one refetch per cooldown, and keeps serving known keys', async () => {
    for (let i = 0; i < 20; i++) expect(await jwksLogin(h, tokenFor(h, `unknown-${i}`))).toEqual(DENIED);
    expect(keys.paths).toEqual(['/jwks']); // one refetch, then the 30 s cooldown
    expect((await jwksLogin(h, tokenFor(h))).status).toBe(200);
  });
});

describe('the members of a key set', () => {
  /** Logs in with a token of `alg` and header `kid`, signed by `key`, against a mount serving `set`. */
  const loginWith = async (
    set: unknown[],
    sign: { alg?: string; kid?: string; key?: typeof rsa.privateKey } = {},
  ) => {
    keys.handler = jwksAt(set);
    const h = await startHarness({
      jwks: jwksUrl(`${keys.base}/jwks`),
      mount: { allowed_algorithms: ['RS256', 'ES256', 'ES384'] },
    });
    try {
      const { alg = 'RS256', kid = 'k1', key = rsa.privateKey } = sign;
      return await jwksLogin(h, signRaw({ alg, kid }, key, nginxClaims(h.cluster.issuer)));
    } finally {
      await h.close();
    }
  };

  it('uses a key without kid (a set written by hand) for a token that names one', async () => {
    expect((await loginWith([publicJwk(rsa)])).status).toBe(200);
  });

  it('tries every key of a duplicated kid', async () => {
    expect((await loginWith([publicJwk(other, { kid: 'k1' }), publicJwk(rsa, { kid: 'k1' })])).status).toBe(
      200,
    );
  });

  it('refuses a token whose alg is not the one its key is published for', async () => {
    expect(await loginWith([publicJwk(rsa, { kid: 'k1', alg: 'RS512' })])).toEqual(DENIED);
  });

  it('refuses an ES384 token for a P-256 key', async () => {
    const set = [publicJwk(p256, { kid: 'k1' })];
    expect(await loginWith(set, { alg: 'ES384', key: p384.privateKey })).toEqual(DENIED);
  });

  it('refuses an HS256 token whatever symmetric key the set holds', async () => {
    keys.handler = jwksAt([{ kty: 'oct', k: 'c2VjcmV0', kid: 'k1' }, publicJwk(rsa, { kid: 'k2' })]);
    const h = await startHarness({ jwks: jwksUrl(`${keys.base}/jwks`) });
    try {
      const jwt = `${segment({ alg: 'HS256', kid: 'k1' })}.${segment(nginxClaims(h.cluster.issuer))}.c2ln`;
      expect(await jwksLogin(h, jwt)).toEqual(ALG_DENIED);
    } finally {
      await h.close();
    }
  });

  it('ignores x5c: the key is its n and e', async () => {
    const set = [publicJwk(rsa, { kid: 'k1', x5c: ['bm90IGEgY2VydGlmaWNhdGU='] })];
    expect((await loginWith(set)).status).toBe(200);
  });

  // Where a member holds a usable public key, the token is signed with its private half: only the
  // member's refusal stands between that token and a login.
  it.each<[string, unknown[], { alg?: string; key?: typeof rsa.privateKey }]>([
    ['an encryption key (use: enc)', [publicJwk(rsa, { kid: 'k1', use: 'enc' })], {}],
    ['a symmetric key (kty: oct)', [{ kty: 'oct', k: 'c2VjcmV0', kid: 'k1' }], {}],
    ['a private key (d)', [{ ...rsaPrivate, kid: 'k1' }], {}],
    ['a member with private parts (q)', [publicJwk(rsa, { kid: 'k1', q: rsaPrivate.q })], {}],
    ['an RSA key under 2048 bits', [publicJwk(small, { kid: 'k1' })], { key: small.privateKey }],
    [
      'an EC key whose point is not on its curve',
      [publicJwk(p256, { kid: 'k1', crv: 'P-384' })],
      { alg: 'ES384', key: p384.privateKey },
    ],
  ])('never uses %s: a set of only that holds no key (503)', async (_what, set, sign) => {
    expect(await loginWith(set, sign)).toEqual(JWKS_UNAVAILABLE);
  });
});

describe('the log of a key set with many members it cannot use', () => {
  it('writes a bounded number of lines, none longer than a bound, and still uses the good key', async () => {
    const { lines, raw, stream } = jsonLogLines();
    keys.handler = jwksAt([
      ...Array.from({ length: 2000 }, (_, i) => (i % 2 === 0 ? 1 : { kty: 'x'.repeat(500) })),
      publicJwk(rsa, { kid: 'k1', use: 'y'.repeat(10_000) }),
      publicJwk(rsa, { kid: 'k1' }),
    ]);
    const h = await startHarness({ jwks: jwksUrl(`${keys.base}/jwks`), log: createLogger('warn', stream) });
    try {
      expect((await jwksLogin(h, tokenFor(h))).status).toBe(200);
    } finally {
      await h.close();
    }
    const skipped = lines.filter((l) => String(l['event']).startsWith('jwks.key'));
    expect(skipped.length).toBeGreaterThan(0);
    expect(skipped.length).toBeLessThanOrEqual(11);
    expect(skipped.at(-1)).toMatchObject({ event: 'jwks.keys_skipped', skipped: 2001 });
    expect(Math.max(...raw.map((l) => l.length))).toBeLessThan(2000);
  });
});

describe('the headers of a token at a jwks mount', () => {
  let h: Harness;
  beforeAll(async () => {
    keys.handler = (req, res, base) =>
      req.url === '/evil'
        ? jwksAt([publicJwk(other, { kid: 'evil' })])(req, res, base)
        : jwksAt(goodJwks)(req, res, base);
    h = await startHarness({ jwks: jwksUrl(`${keys.base}/jwks`) });
  });
  afterAll(async () => {
    await h.close();
  });
  const claims = () => nginxClaims(h.cluster.issuer);
  const evil = () => `${keys.base}/evil`;

  it.each<[string, () => Record<string, unknown>]>([
    ['typ other than JWT (not checked, as Vault)', () => ({ typ: 'at+jwt' })],
    ['a jku, which is not fetched', () => ({ jku: evil() })],
    ['an x5u, which is not fetched', () => ({ x5u: evil() })],
    ['kid: null, read as no kid (as go-jose reads it)', () => ({ kid: null })],
  ])('accepts a token signed with the set’s key and carrying %s', async (_what, extra) => {
    keys.paths.length = 0;
    const jwt = signRaw({ alg: 'RS256', kid: 'k1', ...extra() }, rsa.privateKey, claims());
    expect((await jwksLogin(h, jwt)).status).toBe(200);
    expect(keys.paths).not.toContain('/evil');
  });

  it.each<[string, Record<string, unknown>]>([
    ['nbf as a string', { nbf: '0' }],
    ['iat as a string', { iat: '0' }],
    ['exp as a string', { exp: '9999999999' }],
    ['iat as a list', { iat: [0] }],
  ])(
    "refuses a token signed with the set's key whose %s: go-jose reads no NumericDate there",
    async (_what, times) => {
      const res = await jwksLogin(
        h,
        signRaw({ alg: 'RS256', kid: 'k1' }, rsa.privateKey, { ...claims(), ...times }),
      );
      expect(res.status).toBe(403);
      expect(res.json).toStrictEqual({ errors: ['permission denied'] });
    },
  );

  it('reads a null nbf or iat as none, as go-jose does', async () => {
    const jwt = signRaw({ alg: 'RS256', kid: 'k1' }, rsa.privateKey, { ...claims(), nbf: null, iat: null });
    expect((await jwksLogin(h, jwt)).status).toBe(200);
  });

  it.each<[string, () => string]>([
    [
      'a jku naming its own key set',
      () => signRaw({ alg: 'RS256', kid: 'evil', jku: evil() }, other.privateKey, claims()),
    ],
    [
      'an x5u naming its own key',
      () => signRaw({ alg: 'RS256', kid: 'evil', x5u: evil() }, other.privateKey, claims()),
    ],
    [
      'its own key embedded (jwk)',
      () => signRaw({ alg: 'RS256', kid: 'k1', jwk: publicJwk(other) }, other.privateKey, claims()),
    ],
    [
      'a crit header',
      () => signRaw({ alg: 'RS256', kid: 'k1', crit: ['exp'], exp: 1 }, rsa.privateKey, claims()),
    ],
    [
      'an unencoded payload (b64: false)',
      () => signRaw({ alg: 'RS256', kid: 'k1', crit: ['b64'], b64: false }, rsa.privateKey, claims()),
    ],
    ['a kid that is a number', () => signRaw({ alg: 'RS256', kid: 1 }, rsa.privateKey, claims())],
    ['a kid that is an object', () => signRaw({ alg: 'RS256', kid: { id: 'k1' } }, rsa.privateKey, claims())],
    [
      'a compressed payload (zip)',
      () =>
        signRaw(
          { alg: 'RS256', kid: 'k1', zip: 'DEF' },
          rsa.privateKey,
          deflateRawSync(JSON.stringify(claims())).toString('base64url'),
        ),
    ],
    [
      'a nested JWT (cty: JWT)',
      () => {
        const inner = signRaw({ alg: 'RS256', kid: 'k1' }, rsa.privateKey, claims());
        return signRaw(
          { alg: 'RS256', kid: 'k1', cty: 'JWT' },
          rsa.privateKey,
          Buffer.from(inner).toString('base64url'),
        );
      },
    ],
    [
      'five parts (a JWE)',
      () => `${segment({ alg: 'RSA-OAEP', enc: 'A256GCM', kid: 'k1' })}.a2V5.aXY.Y2lwaGVy.dGFn`,
    ],
  ])('refuses a token with %s: permission denied, and fetches nothing it names', async (_what, token) => {
    keys.paths.length = 0;
    expect(await jwksLogin(h, token())).toEqual(DENIED);
    expect(keys.paths).not.toContain('/evil');
  });
});

describe('a jwks mount whose JWKS URL is https', () => {
  let dir: string;
  let ca: TestCa;
  let otherCa: TestCa;
  let server: Server;
  let url: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'authgate-jwks-tls-'));
    [ca, otherCa] = await Promise.all([makeCa(dir, 'issuer'), makeCa(dir, 'other')]);
    const cert = await makeServerCert(dir, ca, 'jwks');
    server = createHttpsServer({ cert: readFileSync(cert.cert), key: readFileSync(cert.key) }, (_req, res) =>
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: goodJwks })),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  it.each<[string, () => Record<string, unknown>, number]>([
    ['trusts its certificate through jwks.ca_cert_file', () => ({ ca_cert_file: ca.cert }), 200],
    ['refuses it under another CA (503)', () => ({ ca_cert_file: otherCa.cert }), 503],
    ['refuses it under the system roots (503)', () => ({}), 503],
  ])('%s', async (_what, more, status) => {
    const h = await startHarness({ jwks: jwksUrl(url, more()) });
    try {
      expect((await jwksLogin(h, tokenFor(h))).status).toBe(status);
    } finally {
      await h.close();
    }
  });
});
