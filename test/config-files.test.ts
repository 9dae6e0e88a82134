import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { request } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { composeServer } from '../src/cli/compose.js';
import { startServer } from '../src/cli/server.js';
import { parseConfig, type AuthgateConfig } from '../src/config/index.js';
import { TEST_CERT, TEST_KEY } from '../src/config/test-support.js';
import { createLogger } from '../src/telemetry/index.js';
import { runAuthgate } from './helpers/authgate-process.js';

// What config reads from files is what the server uses; a bad file stops `authgate server` as a
// configuration error (exit 78, with the field's path), not as a crash.

const dir = mkdtempSync(join(tmpdir(), 'authgate-config-files-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ADMIN = 'file-admin-token-0123456789';
writeFileSync(join(dir, 'admin-token'), `${ADMIN}\n`);
writeFileSync(join(dir, 'server.key'), 's'.repeat(48));
writeFileSync(join(dir, 'short.key'), 's'.repeat(31));
writeFileSync(join(dir, 'tls.crt'), TEST_CERT);
writeFileSync(join(dir, 'tls.key'), TEST_KEY);

const doc = (over: Record<string, unknown> = {}) => ({
  listener: { port: 0 },
  log: { level: 'silent' },
  auth: {
    kubernetes: {
      type: 'kubernetes',
      kubernetes_host: 'http://127.0.0.1:1',
      verification: 'tokenreview',
      roles: {
        web: {
          bound_service_account_names: ['web'],
          bound_service_account_namespaces: ['prod'],
          audience: 'vault',
        },
      },
    },
  },
  ...over,
});

const lookupAccessorStatus = async (config: AuthgateConfig, token: string, options = {}) => {
  const server = composeServer(config, { log: createLogger('silent'), ...options });
  try {
    const res = await server.app.inject({
      method: 'POST',
      url: '/v1/auth/token/lookup-accessor',
      headers: { 'x-vault-token': token, 'content-type': 'application/json' },
      payload: { accessor: 'no-such-accessor' },
    });
    return res.statusCode;
  } finally {
    await server.close();
  }
};

describe('composeServer with files read by config', () => {
  const config = parseConfig(
    JSON.stringify(doc({ admin_token_file: 'admin-token', server_key_file: 'server.key' })),
    { env: {}, baseDir: dir },
  );

  it('accepts the admin token from admin_token_file on the operator endpoints', async () => {
    expect(config.adminToken).toBe(ADMIN);
    expect(await lookupAccessorStatus(config, ADMIN)).not.toBe(403);
  });

  it('refuses any other token there', async () => {
    expect(await lookupAccessorStatus(config, `${ADMIN}x`)).toBe(403);
  });

  it('lets the compose options override the files', async () => {
    const options = { adminToken: 'option-admin-token-0123456789', serverKey: Buffer.alloc(32, 1) };
    expect(await lookupAccessorStatus(config, ADMIN, options)).toBe(403);
    expect(await lookupAccessorStatus(config, options.adminToken, options)).not.toBe(403);
  });
});

describe('startServer with the TLS files read by config', () => {
  it('serves HTTPS with that certificate', async () => {
    const config = parseConfig(
      JSON.stringify(doc({ listener: { port: 0, tls_cert_file: 'tls.crt', tls_key_file: 'tls.key' } })),
      { env: {}, baseDir: dir },
    );
    const server = await startServer(config, { log: createLogger('silent') });
    try {
      expect(server.address.startsWith('https://')).toBe(true);
      const subject = await new Promise<string>((resolve, reject) => {
        const req = request(
          `${server.address}/v1/sys/health/live`,
          // The test certificate names no address: trust it by its own PEM, skip only the name check.
          { ca: TEST_CERT, checkServerIdentity: () => undefined },
          (res) => {
            res.resume();
            resolve(String((res.socket as TLSSocket).getPeerCertificate().subject.CN));
          },
        );
        req.on('error', reject);
        req.end();
      });
      expect(subject).toBe('authgate-test-a');
    } finally {
      await server.close();
    }
  });
});

describe('authgate server with a bad file', () => {
  it.each([
    ['a short server key', { server_key_file: 'short.key' }, 'server_key_file', 'at least 32 are required'],
    ['a missing admin token file', { admin_token_file: 'missing' }, 'admin_token_file', 'cannot read'],
    [
      'a missing TLS certificate',
      { listener: { port: 0, tls_cert_file: 'missing.crt', tls_key_file: 'missing.key' } },
      'listener.tls_cert_file',
      'cannot read',
    ],
    // Else every JWKS fetch fails TLS, as if the issuer's certificate were wrong.
    [
      'a JWKS CA file that holds no certificate',
      {
        auth: {
          kubernetes: {
            ...doc().auth.kubernetes,
            verification: 'jwks',
            issuers: ['https://kubernetes.default.svc.cluster.local'],
            jwks: { url: 'https://127.0.0.1:1/openid/v1/jwks', ca_cert_file: 'tls.key' },
          },
        },
      },
      'auth.kubernetes.jwks.ca_cert_file',
      'holds no PEM certificate',
    ],
  ])('exits 78 on %s, naming the field', async (_what, over, path, message) => {
    const file = join(dir, `${path}.yaml`);
    writeFileSync(file, JSON.stringify(doc(over)));
    const server = runAuthgate(['server', '--config', file]);
    expect(await server.exited).toBe(78);
    expect(server.output()).toContain(`invalid configuration in ${file}`);
    expect(server.output()).toMatch(
      new RegExp(`- ${path.replaceAll('.', '\\.')}( \\(line \\d+\\))?: .*${message}`),
    );
  });
});
