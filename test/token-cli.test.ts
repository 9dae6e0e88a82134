import { writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runToken } from '../src/cli/token.js';
import { ADMIN_TOKEN, callWith, startHarness, type Harness } from './helpers/harness.js';

/*
 * `authgate token …` against authgate listening on a real port: lookups and revocations by
 * accessor, and revoke-identity, with the caller's token from a file or VAULT_TOKEN, and never a
 * token printed.
 */

let h: Harness;
let url: string;
let tokenFile: string;
beforeAll(async () => {
  h = await startHarness();
  await h.server.app.listen({ host: '127.0.0.1', port: 0 });
  url = `http://127.0.0.1:${(h.server.app.server.address() as AddressInfo).port}`;
  tokenFile = join(h.dir, 'admin-token');
  writeFileSync(tokenFile, `${ADMIN_TOKEN}\n`);
});
afterAll(async () => {
  await h?.close();
});

/** Runs `authgate token …` with `args`, against the harness unless they say otherwise. */
const token = async (args: string[], env: NodeJS.ProcessEnv = {}) => {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c: Buffer) => (out += c.toString()));
  stderr.on('data', (c: Buffer) => (err += c.toString()));
  const code = await runToken(args, { stdout, stderr, env: { VAULT_ADDR: url, ...env } });
  return { code, out, err };
};

const login = async (pod = 'nginx') => {
  const r = await h.login('kubernetes', { role: 'nginx', jwt: await h.podToken({ pod }) });
  return r.json['auth'] as { client_token: string; accessor: string };
};
const live = async (clientToken: string) =>
  (await callWith(h, 'GET', '/v1/auth/token/lookup-self', clientToken)).status === 200;

describe('authgate token', () => {
  it('looks a token up by its accessor, and the caller itself, never printing a token', async () => {
    const auth = await login();
    const byAccessor = await token(['lookup', '--accessor', auth.accessor, '--token-file', tokenFile]);
    expect(byAccessor.code).toBe(0);
    expect(JSON.parse(byAccessor.out)).toMatchObject({
      accessor: auth.accessor,
      display_name: 'kubernetes-test-nginx',
      meta: { service_account_namespace: 'test' },
    });
    const self = await token(['lookup'], { VAULT_TOKEN: ADMIN_TOKEN });
    expect(self.code).toBe(0);
    expect(JSON.parse(self.out)).toMatchObject({ policies: ['root'] });
    for (const run of [byAccessor, self]) {
      expect(run.out).not.toContain(ADMIN_TOKEN);
      expect(run.out).not.toContain(auth.client_token);
    }
  });

  it('revokes a token by its accessor', async () => {
    const auth = await login();
    const r = await token(['revoke', '--accessor', auth.accessor, '--token-file', tokenFile]);
    expect(r).toMatchObject({ code: 0, out: `revoked the token of accessor ${auth.accessor}\n` });
    expect(await live(auth.client_token)).toBe(false);
  });

  it('says so, and exits 1, when the accessor names no live token', async () => {
    const r = await token(['revoke', '--accessor', 'no-such-accessor', '--token-file', tokenFile]);
    expect(r).toMatchObject({ code: 1, out: '' });
    expect(r.err).toBe('authgate token: no token revoked: No token found with this accessor\n');
  });

  it('takes no redirect for an answer, and says why', async () => {
    const { createServer } = await import('node:http');
    const redirecting = createServer((_req, res) => res.writeHead(308, { location: 'https://x/' }).end());
    await new Promise<void>((resolve) => redirecting.listen(0, '127.0.0.1', resolve));
    const port = (redirecting.address() as AddressInfo).port;
    try {
      for (const args of [['lookup'], ['revoke', '--accessor', 'a'], ['revoke-identity', '--pod-uid', 'u']]) {
        const r = await token([...args, '--address', `http://127.0.0.1:${port}`, '--token-file', tokenFile]);
        expect(r).toMatchObject({ code: 1, out: '' });
        expect(r.err).toContain('308: authgate answered with a redirect');
      }
    } finally {
      redirecting.close();
    }
  });

  it('revokes every token of a service account, and of a pod', async () => {
    const [one, two] = [await login(), await login()];
    const r = await token([
      'revoke-identity',
      '--namespace',
      'test',
      '--service-account',
      'nginx',
      '--token-file',
      tokenFile,
    ]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^revoked [2-9]\d* tokens; dropped \d+ cached verifications\n$/);
    expect(await live(one.client_token)).toBe(false);
    expect(await live(two.client_token)).toBe(false);

    const { uid } = h.cluster.createPod({ namespace: 'test', name: 'nginx-b', serviceAccount: 'nginx' });
    const other = await login('nginx-b');
    const byPod = await token(['revoke-identity', '--pod-uid', uid, '--json', '--token-file', tokenFile]);
    expect(byPod.code).toBe(0);
    expect(JSON.parse(byPod.out)).toMatchObject({ revoked_tokens: 1 });
    expect(await live(other.client_token)).toBe(false);
  });

  it("prints authgate's refusal and exits 1", async () => {
    const auth = await login();
    const r = await token(['revoke-identity', '--mount', 'kubernetes', '--role', 'nginx'], {
      VAULT_TOKEN: auth.client_token,
    });
    expect(r).toMatchObject({ code: 1, err: 'authgate token: 403: permission denied\n' });
    expect(r.err).not.toContain(auth.client_token);
  });

  it("prints Vault's two-error refusal of a token that is not live as one readable line", async () => {
    const r = await token(['lookup'], { VAULT_TOKEN: 'ags.not-a-token-of-this-server' });
    // Vault's text is "2 errors occurred:\n\t* permission denied\n\t* invalid token\n\n".
    expect(r).toMatchObject({ code: 1, err: 'authgate token: 403: permission denied, invalid token\n' });
  });

  it('takes an empty VAULT_ADDR as unset', async () => {
    const r = await token(['lookup', '--token-file', tokenFile], { VAULT_ADDR: '' });
    // Not a usage mistake: the default address, where nothing of this test listens, or authgate.
    expect(r.code).not.toBe(2);
  });

  it('says it cannot reach an address where nothing answers, and exits 1', async () => {
    const r = await token(['lookup', '--address', 'http://127.0.0.1:1', '--token-file', tokenFile]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/cannot reach authgate at http:\/\/127\.0\.0\.1:1.*--address URL or VAULT_ADDR/);
  });

  it('never prints the password of an address that has one (sent as Basic auth)', async () => {
    const address = 'http://svc-user:S3cretPass@127.0.0.1:1';
    const r = await token(['lookup', '--address', address, '--token-file', tokenFile]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('cannot reach authgate at http://***@127.0.0.1:1');
    expect(r.err).not.toContain('S3cretPass');
  });

  it.each<[string, string[], string]>([
    ['no command', [], 'give a command: lookup, revoke or revoke-identity'],
    ['an unknown command', ['delete'], 'unknown command "delete"'],
    ['a flag of another command', ['lookup', '--pod-uid', 'x'], '--pod-uid: not an option of lookup'],
    ['revoke without an accessor', ['revoke'], '--accessor: required'],
    [
      'two targets',
      ['revoke-identity', '--pod-uid', 'x', '--mount', 'm', '--role', 'r'],
      'name exactly one of',
    ],
    ['half a target', ['revoke-identity', '--namespace', 'test'], '--service-account: required with it'],
    [
      'no token',
      ['lookup', '--accessor', 'a'],
      'give the token to act with, with --token-file or VAULT_TOKEN',
    ],
    [
      'a bad address',
      ['lookup', '--address', 'ftp://x', '--token-file', '/dev/null'],
      '--address: must be an http',
    ],
    ['an address that does not parse', ['lookup', '--address', 'http://['], '--address: must be an http'],
    [
      'an address with a query',
      ['lookup', '--address', 'http://h/?x'],
      '--address: must have no query or fragment',
    ],
    [
      'an address with a fragment',
      ['lookup', '--address', 'http://h#f'],
      '--address: must have no query or fragment',
    ],
    ['an empty accessor', ['lookup', '--accessor', ''], '--accessor: must not be empty'],
  ])('refuses %s as a usage mistake (exit 2)', async (_what, args, message) => {
    const r = await token(args);
    expect(r.code).toBe(2);
    expect(r.err).toContain(message);
  });
});
