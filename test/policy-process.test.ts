import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEV_ROLE } from '../src/cli/dev.js';
import { seedFirstSetup, startDevCluster, type DevCluster } from '../src/devcluster/index.js';
import { recordAuthSecrets, recordSecrets } from './helpers/audit.js';
import {
  runAuthgate,
  startAuthgateServer,
  waitFor,
  type AuthgateServer,
} from './helpers/authgate-process.js';

/*
 * `authgate server` as operators run it: policies edited in authgate.yaml take effect on SIGHUP,
 * a bad edit keeps the running set (and says why), and a bad policy at start exits 78.
 */

const ADMIN = `admin-${randomBytes(16).toString('hex')}`;
const dir = mkdtempSync(join(tmpdir(), 'authgate-policy-process-'));
let cluster: DevCluster;
let server: AuthgateServer;

const configWith = (policies: Record<string, unknown>) => ({
  listener: { port: 0 },
  log: { level: 'info' },
  server_key_file: join(dir, 'server.key'),
  admin_token_file: join(dir, 'admin-token'),
  policies,
  auth: {
    jwks: {
      type: 'kubernetes',
      verification: 'jwks',
      jwks: { oidc_discovery_url: cluster.url },
      issuers: [cluster.issuer],
      roles: { nginx: DEV_ROLE },
    },
  },
});
const READ_OWN = { nginx: { path: { 'secret/data/{{identity.namespace}}/*': { capabilities: ['read'] } } } };
const READ_NOTHING = { nginx: { path: { 'secret/data/elsewhere/*': { capabilities: ['read'] } } } };

const call = async (method: string, path: string, token: string, body?: unknown) => {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: { 'x-vault-token': token },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const json = (await res.json().catch(() => ({}))) as Record<string, unknown>;
  recordAuthSecrets(json);
  return { status: res.status, json };
};

const workloadToken = async (): Promise<string> => {
  const { token } = await cluster.mintToken({
    namespace: 'test',
    serviceAccount: 'nginx',
    audiences: ['vault'],
    pod: 'nginx',
  });
  recordSecrets(token);
  const res = await fetch(`${server.url}/v1/auth/jwks/login`, {
    method: 'POST',
    body: JSON.stringify({ role: 'nginx', jwt: token }),
  });
  const json = (await res.json()) as { auth: { client_token: string } };
  recordAuthSecrets(json);
  return json.auth.client_token;
};

const hangupAndWait = async (event: string) => {
  const before = server.output().split(event).length;
  server.child.kill('SIGHUP');
  await waitFor(() => server.output().split(event).length > before, 10_000, event);
};

beforeAll(async () => {
  recordSecrets(ADMIN);
  cluster = await startDevCluster();
  seedFirstSetup(cluster);
  writeFileSync(join(dir, 'server.key'), randomBytes(48).toString('base64'));
  writeFileSync(join(dir, 'admin-token'), ADMIN);
  server = await startAuthgateServer(dir, 'policies', configWith(READ_OWN));
  expect((await call('POST', '/v1/secret/data/test/app', ADMIN, { data: { password: 'p-1' } })).status).toBe(
    200,
  );
  recordSecrets('p-1');
});

afterAll(async () => {
  await server?.stop();
  await cluster?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('policies of a running authgate server', () => {
  it('takes an edited authgate.yaml on SIGHUP, for tokens already issued, and keeps the old set after a bad edit', async () => {
    const token = await workloadToken();
    expect((await call('GET', '/v1/secret/data/test/app', token)).status).toBe(200);

    writeFileSync(join(dir, 'policies.yaml'), JSON.stringify(configWith(READ_NOTHING)));
    await hangupAndWait('"event":"policy.loaded"');
    expect((await call('GET', '/v1/secret/data/test/app', token)).status).toBe(403);

    writeFileSync(
      join(dir, 'policies.yaml'),
      JSON.stringify(configWith({ nginx: { path: { 'secret/*': { capabilities: ['reed'] } } } })),
    );
    await hangupAndWait('"event":"policies.reload_failed"');
    expect(server.output()).toMatch(/policies\.reload_failed.*reed/);
    // Still the set before the bad edit; the process is up.
    expect((await call('GET', '/v1/secret/data/test/app', token)).status).toBe(403);
    expect(server.child.exitCode).toBeNull();

    writeFileSync(join(dir, 'policies.yaml'), JSON.stringify(configWith(READ_OWN)));
    await hangupAndWait('"event":"policy.loaded"');
    expect((await call('GET', '/v1/secret/data/test/app', token)).status).toBe(200);
  });

  it('refuses to start on a bad policy, with exit code 78 and the reason', async () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(
      file,
      JSON.stringify(
        configWith({ broken: { path: { 'secret/*': { capabilities: ['read'], allowed_parameters: {} } } } }),
      ),
    );
    const proc = runAuthgate(['server', '--config', file]);
    expect(await proc.exited).toBe(78);
    expect(proc.output()).toMatch(/policy "broken".*allowed_parameters/);
  });
});
