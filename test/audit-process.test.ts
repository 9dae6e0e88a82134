import { renameSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditFile, readEntries, recordAuthSecrets, recordSecrets } from './helpers/audit.js';
import {
  runAuthgate,
  startAuthgateServer,
  waitFor,
  type AuthgateServer,
  type Running,
} from './helpers/authgate-process.js';
import { startProcessFixture, type ProcessFixture } from './helpers/process-fixture.js';

const log = auditFile('sighup');
let fx: ProcessFixture;
let server: AuthgateServer;

const podToken = () => fx.podToken();

const login = async (jwt: string) => {
  const res = await fetch(`${server.url}/v1/auth/jwks/login`, {
    method: 'POST',
    body: JSON.stringify({ role: 'nginx', jwt }),
  });
  const json = (await res.json()) as Record<string, unknown>;
  recordAuthSecrets(json);
  return { status: res.status, json };
};

const loginPaths = (path: string) =>
  readEntries(path)
    .filter((e) => e.request['path'] === 'auth/jwks/login')
    .map((e) => e.type);

beforeAll(async () => {
  fx = await startProcessFixture('audit-process');
  server = await startAuthgateServer(fx.dir, 'audited', {
    ...fx.base(),
    audit: { file: { type: 'file', path: log } },
    auth: { jwks: fx.jwksMount() },
  });
});

afterAll(async () => {
  await server?.stop();
  await fx?.close();
});

describe('authgate server with a file audit device', () => {
  it('reopens the file on SIGHUP, so that lines after a logrotate move go to a new file', async () => {
    expect((await login(await podToken())).status).toBe(200);
    expect(loginPaths(log)).toEqual(['request', 'response']);

    renameSync(log, `${log}.1`);
    // Until told, the process writes on into the moved file, as Vault's file device does.
    expect((await login(await podToken())).status).toBe(200);
    expect(loginPaths(`${log}.1`)).toEqual(['request', 'response', 'request', 'response']);
    expect(readEntries(log)).toEqual([]);

    const reopened = server.output().split('audit.reopened').length;
    server.child.kill('SIGHUP');
    await waitFor(() => server.output().split('audit.reopened').length > reopened, 10_000, 'audit.reopened');
    expect((await login(await podToken())).status).toBe(200);
    expect(loginPaths(log)).toEqual(['request', 'response']);
    expect(loginPaths(`${log}.1`)).toHaveLength(4);
    expect(server.child.exitCode).toBeNull();
  });

  it('hashes a value from stdin with `authgate audit hash`, as the entries hold it', async () => {
    const jwt = await podToken();
    expect((await login(jwt)).status).toBe(200);
    const hasher = runAuthgate([
      'audit',
      'hash',
      '--device',
      'file',
      '--address',
      server.url,
      '--token-file',
      join(fx.dir, 'admin-token'),
    ]);
    hasher.child.stdin.end(`${jwt}\n`);
    expect(await hasher.exited).toBe(0);
    const hash = hasher.output().trim();
    expect(hash).toMatch(/^hmac-sha256:[0-9a-f]{64}$/);
    const last = readEntries(log)
      .filter((e) => e.request['path'] === 'auth/jwks/login')
      .pop();
    expect((last?.request['data'] as Record<string, string>)['jwt']).toBe(hash);
  });

  it('follows the file across a logrotate with `authgate audit tail -f`', async () => {
    const tail: Running = runAuthgate(['audit', 'tail', '-f', '-n', '1', '--file', log, '--json']);
    try {
      const lines = () =>
        tail
          .output()
          .split('\n')
          .filter((l) => l.startsWith('{'));
      // The last login already there: the follow has started.
      await waitFor(() => lines().length === 1, 10_000, `the last login: ${tail.output()}`);
      expect((await login(await podToken())).status).toBe(200);
      await waitFor(() => lines().length === 2, 10_000, `a followed login: ${tail.output()}`);
      renameSync(log, `${log}.2`);
      const reopened = server.output().split('audit.reopened').length;
      server.child.kill('SIGHUP');
      await waitFor(
        () => server.output().split('audit.reopened').length > reopened,
        10_000,
        'audit.reopened',
      );
      expect((await login(await podToken())).status).toBe(200);
      await waitFor(() => lines().length === 3, 10_000, `a login after the rotation: ${tail.output()}`);
      expect(lines().map((l) => (JSON.parse(l) as { outcome: string }).outcome)).toEqual(['ok', 'ok', 'ok']);
    } finally {
      tail.child.kill('SIGINT');
      expect(await tail.exited).toBe(0);
    }
  });
});

describe('authgate dev --audit-file', () => {
  it('audits the logins of the dev gateway to the file', async () => {
    const file = auditFile('dev');
    const dev = runAuthgate(['dev', '--port', '0', '--audit-file', file], {
      AUTHGATE_DEV_STATE: join(fx.dir, 'dev.json'),
      AUTHGATE_LOG_LEVEL: 'warn',
    });
    try {
      const endpoint = (await waitFor(() => /Gateway:\s+(http:\/\/\S+)/.exec(dev.output())))[1] ?? '';
      await waitFor(() => /More tokens/.exec(dev.output()));
      expect(dev.output()).toContain(`Audit:          file device "file" → ${file}`);
      const jwt = /\n\s+(eyJ[\w-]+\.[\w-]+\.[\w-]+)\n/.exec(dev.output())?.[1] ?? '';
      const admin = /Admin token:\s+(\S+)/.exec(dev.output())?.[1];
      recordSecrets(jwt, admin);
      const res = await fetch(`${endpoint}/v1/auth/kubernetes/login`, {
        method: 'POST',
        body: JSON.stringify({ role: 'nginx', jwt }),
      });
      expect(res.status).toBe(200);
      recordAuthSecrets(await res.json());
      expect(readEntries(file).map((e) => e.type)).toEqual(['request', 'response']);
    } finally {
      dev.child.kill('SIGTERM');
      await dev.exited;
    }
  });
});
