import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordAuthSecrets, recordSecrets } from './helpers/audit.js';
import {
  runAuthgate,
  startAuthgateServer,
  waitFor,
  type AuthgateServer,
} from './helpers/authgate-process.js';
import { startProcessFixture, type ProcessFixture } from './helpers/process-fixture.js';

/*
 * `authgate server` as operators run it: policies edited in authgate.yaml take effect on SIGHUP,
 * a bad edit keeps the running set (and says why), and a bad policy at start exits 78.
 */

let fx: ProcessFixture;
let server: AuthgateServer;

const configWith = (policies: Record<string, unknown>) => ({
  ...fx.base(),
  policies,
  auth: { jwks: fx.jwksMount() },
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
  const res = await fetch(`${server.url}/v1/auth/jwks/login`, {
    method: 'POST',
    body: JSON.stringify({ role: 'nginx', jwt: await fx.podToken() }),
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
  fx = await startProcessFixture('policy-process');
  server = await startAuthgateServer(fx.dir, 'policies', configWith(READ_OWN));
  expect(
    (await call('POST', '/v1/secret/data/test/app', fx.admin, { data: { password: 'p-1' } })).status,
  ).toBe(200);
  recordSecrets('p-1');
});

afterAll(async () => {
  await server?.stop();
  await fx?.close();
});

describe('policies of a running authgate server', () => {
  it('takes an edited authgate.yaml on SIGHUP, for tokens already issued, and keeps the old set after a bad edit', async () => {
    const token = await workloadToken();
    expect((await call('GET', '/v1/secret/data/test/app', token)).status).toBe(200);

    writeFileSync(join(fx.dir, 'policies.yaml'), JSON.stringify(configWith(READ_NOTHING)));
    await hangupAndWait('"event":"policy.loaded"');
    expect((await call('GET', '/v1/secret/data/test/app', token)).status).toBe(403);

    writeFileSync(
      join(fx.dir, 'policies.yaml'),
      JSON.stringify(configWith({ nginx: { path: { 'secret/*': { capabilities: ['reed'] } } } })),
    );
    await hangupAndWait('"event":"config.reload_failed"');
    expect(server.output()).toMatch(/config\.reload_failed.*reed/);
    // Still the set before the bad edit; the process is up.
    expect((await call('GET', '/v1/secret/data/test/app', token)).status).toBe(403);
    expect(server.child.exitCode).toBeNull();

    writeFileSync(join(fx.dir, 'policies.yaml'), JSON.stringify(configWith(READ_OWN)));
    await hangupAndWait('"event":"policy.loaded"');
    expect((await call('GET', '/v1/secret/data/test/app', token)).status).toBe(200);
  });

  it('refuses to start on a bad policy, with exit code 78 and the reason', async () => {
    const file = join(fx.dir, 'bad.yaml');
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

  it('says which listener it cannot listen on, and exits 1', async () => {
    const file = join(fx.dir, 'taken.yaml');
    const base = configWith(READ_OWN) as { listener?: Record<string, unknown> };
    const taken = new URL(server.url).port;
    writeFileSync(file, JSON.stringify({ ...base, listener: { ...base.listener, port: Number(taken) } }));
    const proc = runAuthgate(['server', '--config', file]);
    expect(await proc.exited).toBe(1);
    expect(proc.output()).toMatch(
      /cannot listen on listener\.address 127\.0\.0\.1, port \d+: listen EADDRINUSE/,
    );
  });
});
