import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose';
import { expect } from 'vitest';
import { createSecretCipher } from '../../src/secrets/index.js';
import { createKeys, type Store } from '../../src/store/index.js';
import { auditFile, recordSecrets } from './audit.js';
import { NGINX_ROLE, adminCall, signIdentityToken, startHarness, type Harness } from './harness.js';

/**
 * Rotating the encryption key end to end, over the HTTP API of composed servers sharing one store:
 * values written under key A; a server with B current and A previous reads them all and seals new
 * ones under B; `POST /v1/sys/rewrap` re-seals the rest; a server with B only reads everything; a
 * server with neither answers what it answers for any value that does not open. The audit
 * device's salt, sealed with the same keys, gives the same `sys/audit-hash` answers throughout.
 */
export const runRekeyScenario = async (
  /** The store of one more server (each its own connection, or the one shared memory store). */
  storeFor: () => Promise<Store>,
  /** Where the test reads the sealed values themselves. */
  inspect: Pick<Store, 'get'>,
): Promise<void> => {
  const dir = mkdtempSync(join(tmpdir(), 'authgate-rekey-'));
  const harnesses: Harness[] = [];
  const keyFile = (name: string) => {
    const path = join(dir, name);
    writeFileSync(path, randomBytes(48).toString('base64'), { mode: 0o600 });
    return path;
  };
  const [keyA, keyB, keyC] = [keyFile('a.key'), keyFile('b.key'), keyFile('c.key')];
  const issuer = 'https://authgate.example.test';
  /**
   * A server with these `secrets` settings. `ownAudit`: an audit device of its own rather than the
   * shared `test`, for a server whose keys cannot open the shared device's salt (it would serve
   * nothing: audit fails closed).
   */
  const server = async (secrets: Record<string, unknown>, ownAudit?: string): Promise<Harness> => {
    const h = await startHarness({
      store: await storeFor(),
      ...(ownAudit === undefined
        ? {}
        : { audit: { [ownAudit]: { type: 'file', path: auditFile(ownAudit) } } }),
      roles: { nginx: { ...NGINX_ROLE, token_policies: ['sign-web'] } },
      config: {
        secrets,
        identity: { issuer, roles: { web: { audience: 'web-service', ttl: '30m' } } },
        policies: { 'sign-web': { path: { 'identity/oidc/token/web': { capabilities: ['read'] } } } },
      },
    });
    harnesses.push(h);
    return h;
  };
  const call = adminCall;
  const write = async (h: Harness, path: string, data: Record<string, string>) => {
    recordSecrets(...Object.values(data));
    expect((await call(h, 'POST', `/v1/secret/data/${path}`, { data })).status).toBe(200);
  };
  const read = (h: Harness, path: string, version: number) =>
    call(h, 'GET', `/v1/secret/data/${path}?version=${version}`);
  const readsAll = async (h: Harness, expected: Array<[string, number, Record<string, string>]>) => {
    for (const [path, version, data] of expected) {
      const res = await read(h, path, version);
      expect(res.status, `${path} v${version}`).toBe(200);
      expect((res.json?.['data'] as { data: unknown }).data).toEqual(data);
    }
  };
  const sign = (h: Harness) => signIdentityToken(h);
  /** Signs a token and verifies it against the server's JWKS; its kid. */
  const signedKid = async (h: Harness) => {
    const res = await sign(h);
    expect(res.status).toBe(200);
    const jwt = res.json.data?.token ?? '';
    recordSecrets(jwt);
    const jwks = (
      await h.server.app.inject({ url: '/v1/identity/oidc/.well-known/keys' })
    ).json<JSONWebKeySet>();
    await jwtVerify(jwt, createLocalJWKSet(jwks), {
      issuer: `${issuer}/v1/identity/oidc`,
      audience: 'web-service',
    });
    return decodeProtectedHeader(jwt).kid;
  };
  const keys = createKeys();
  const auditHash = async (h: Harness) =>
    (await call<{ hash?: string }>(h, 'POST', '/v1/sys/audit-hash/test', { input: 'pin-1234' })).json?.hash;
  const rawSalt = async () => (await inspect.get(keys.auditSalt('test'))) ?? '';
  const raw = async (path: string, version: number) =>
    (await inspect.get(keys.kvVersion('secret', path, version))) ?? '';
  const keyIdOf = (file: string) => {
    return createSecretCipher(Buffer.from(readFileSync(file, 'utf8').trim()))
      .seal('', '')
      .split('.')[1];
  };

  try {
    const a = await server({ encryption_key_file: keyA });
    const db1 = { password: `pw-1-${randomBytes(6).toString('hex')}` };
    const db2 = { password: `pw-2-${randomBytes(6).toString('hex')}` };
    const top = { token: `top-${randomBytes(6).toString('hex')}` };
    await write(a, 'app/db', db1);
    await write(a, 'app/db', db2);
    await write(a, 'top', top);
    const kid = await signedKid(a);
    const hash = await auditHash(a);
    expect(hash).toMatch(/^hmac-sha256:/);
    expect((await rawSalt()).split('.')[1]).toBe(keyIdOf(keyA));
    const written: Array<[string, number, Record<string, string>]> = [
      ['app/db', 1, db1],
      ['app/db', 2, db2],
      ['top', 1, top],
    ];

    // B current, A previous (every replica is deployed so before the re-key).
    const ab = await server({ encryption_key_file: keyB, previous_encryption_key_files: [keyA] });
    await readsAll(ab, written);
    expect(await signedKid(ab)).toBe(kid);
    expect(await auditHash(ab)).toBe(hash);
    const db3 = { password: `pw-3-${randomBytes(6).toString('hex')}` };
    await write(ab, 'app/db', db3);
    written.push(['app/db', 3, db3]);
    expect((await raw('app/db', 3)).split('.')[1]).toBe(keyIdOf(keyB));
    expect((await raw('app/db', 1)).split('.')[1]).toBe(keyIdOf(keyA));

    // A value under a key no server holds: counted, left as it was.
    const c = await server({ encryption_key_file: keyC }, 'rekey-c');
    await write(c, 'stray', { s: `stray-${randomBytes(6).toString('hex')}` });
    const strayBefore = await raw('stray', 1);

    // Only the operator may re-key: a token without sudo on sys/rewrap is refused.
    const login = await ab.login('jwks', { role: 'nginx', jwt: await ab.podToken() });
    const plain = await ab.server.app.inject({
      method: 'POST',
      url: '/v1/sys/rewrap',
      headers: { 'x-vault-token': (login.json['auth'] as { client_token: string }).client_token },
    });
    expect(plain.statusCode).toBe(403);

    const rewrap = await call(ab, 'POST', '/v1/sys/rewrap');
    expect(rewrap.status).toBe(200);
    // app/db v1 and v2, top v1, the identity key ring, and the audit device's salt.
    expect(rewrap.json?.['data']).toEqual({ resealed: 5, unopenable: 1 });
    expect((await rawSalt()).split('.')[1]).toBe(keyIdOf(keyB));
    expect(await raw('stray', 1)).toBe(strayBefore);
    expect((await raw('app/db', 1)).split('.')[1]).toBe(keyIdOf(keyB));
    // Safe to run again: nothing left to do.
    expect((await call(ab, 'POST', '/v1/sys/rewrap')).json?.['data']).toEqual({ resealed: 0, unopenable: 1 });
    expect((await call(ab, 'DELETE', '/v1/secret/metadata/stray')).status).toBe(204);

    // A removed: everything still reads, and the same identity key signs.
    const b = await server({ encryption_key_file: keyB });
    await readsAll(b, written);
    expect(await signedKid(b)).toBe(kid);
    expect(await auditHash(b)).toBe(hash);
    expect((await call(b, 'POST', '/v1/sys/rewrap')).json?.['data']).toEqual({ resealed: 0, unopenable: 0 });

    // Neither A nor B (the key derived from this server's own server key): today's failure.
    const neither = await server({}, 'rekey-neither');
    const kv = await read(neither, 'app/db', 1);
    expect({ status: kv.status, json: kv.json }).toEqual({
      status: 500,
      json: { errors: ['internal error'] },
    });
    const signed = await sign(neither);
    expect(signed.status).toBe(500);
    expect(signed.json).toEqual({ errors: ['internal error'] });
  } finally {
    for (const h of harnesses.reverse()) await h.close();
    rmSync(dir, { recursive: true, force: true });
  }
};
