import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseEntryLine, type AuditEntry } from '../src/audit/index.js';
import { auditLogFiles, auditTestDir, recordedSecrets } from './helpers/audit.js';
import { ADMIN_TOKEN, startHarness } from './helpers/harness.js';

/*
 * vitest.config.ts runs this file after every other test file (its own project, a later group):
 * every audit device of the suite wrote under one directory, and every token, JWT and accessor a
 * test saw was recorded there. None may appear in any line in plaintext.
 */

const HMAC = /^hmac-sha256:[0-9a-f]{64}$/;
// Each starting a word, as audit/hash.ts's hashTokensIn reads them: `flags.production_x` in a
// path is no token (and every token a test saw is looked up as it is, below).
const CLIENT_TOKEN = /(?<![A-Za-z0-9_-])ags\.[A-Za-z0-9_-]{20,}/;
const JWT = /(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\./;

/** Every string leaf under `value`, with its path. */
const leaves = (value: unknown, path: string, out: Array<[string, string]> = []): Array<[string, string]> => {
  if (typeof value === 'string') out.push([path, value]);
  else if (Array.isArray(value)) value.forEach((v, i) => leaves(v, `${path}[${i}]`, out));
  else if (value !== null && typeof value === 'object')
    for (const [k, v] of Object.entries(value)) leaves(v, `${path}.${k}`, out);
  return out;
};

/** The places of an entry that must only ever hold HMACs, with what they hold. */
const mustBeHashed = (e: AuditEntry): Array<[string, string]> => {
  const out: Array<[string, string]> = [];
  const response = e.response as { auth?: Record<string, unknown>; data?: unknown } | undefined;
  for (const [where, auth] of [
    ['auth', e.auth],
    ['response.auth', response?.auth],
  ] as const) {
    for (const k of ['client_token', 'accessor']) {
      const v = auth?.[k];
      if (v !== undefined) out.push([`${where}.${k}`, String(v)]);
    }
  }
  for (const k of ['client_token', 'client_token_accessor']) {
    const v = e.request[k];
    if (v !== undefined) out.push([`request.${k}`, String(v)]);
  }
  leaves(e.request['data'], 'request.data', out);
  leaves(response?.data, 'response.data', out);
  return out;
};

describe('every audit line the test suite wrote', () => {
  it('holds no token, jwt or accessor in plaintext', async () => {
    // This file's own traffic, so that the scan always has lines to read.
    const h = await startHarness();
    const jwt = await h.podToken();
    const login = await h.login('kubernetes', { role: 'nginx', jwt });
    const token = (login.json['auth'] as { client_token: string }).client_token;
    const accessor = (login.json['auth'] as { accessor: string }).accessor;
    await h.server.app.inject({
      method: 'GET',
      url: '/v1/auth/token/lookup-self',
      headers: { 'x-vault-token': token },
    });
    // Vault's old form with the token in the URL path (404), then the endpoints that carry
    // another token in the body (and the answer), the last revoking it.
    await h.server.app.inject({
      method: 'GET',
      url: `/v1/auth/token/lookup/${token}`,
      headers: { 'x-vault-token': ADMIN_TOKEN },
    });
    // The same with an encoded slash, which no route of its own takes, by a caller the ACL would
    // refuse there: refused without the path (and so the token) in the entry's detail.
    const encoded = await h.server.app.inject({
      method: 'GET',
      url: `/v1/auth/token/lookup%2F${token}`,
      headers: { 'x-vault-token': token },
    });
    expect(encoded.statusCode).toBe(404);
    const named: Array<[string, object]> = [
      ['lookup', { token }],
      ['renew', { token, increment: '2h' }],
      ['renew-accessor', { accessor }],
      ['revoke', { token }],
    ];
    for (const [path, payload] of named) {
      const res = await h.server.app.inject({
        method: 'POST',
        url: `/v1/auth/token/${path}`,
        headers: { 'x-vault-token': ADMIN_TOKEN },
        payload,
      });
      expect(res.statusCode).toBeLessThan(300);
    }
    await h.login('kubernetes', { role: 'nope', jwt });
    await h.close();

    const dir = auditTestDir();
    const secrets = recordedSecrets(dir);
    secrets.add(ADMIN_TOKEN);
    expect(secrets.has(jwt) && secrets.has(token)).toBe(true);

    const files = auditLogFiles(dir);
    expect(files).toContain(h.auditFile);
    const problems: string[] = [];
    let lines = 0;
    for (const file of files) {
      const fileLines = readFileSync(file, 'utf8').split('\n');
      for (const [i, line] of fileLines.entries()) {
        if (line === '') continue;
        lines++;
        const where = `${file}:${i + 1}`;
        if (CLIENT_TOKEN.test(line)) problems.push(`${where}: a client token`);
        if (JWT.test(line)) problems.push(`${where}: a JWT`);
        // Every run of token characters, looked up among the secrets the tests saw.
        for (const run of line.match(/[A-Za-z0-9_.-]{16,}/g) ?? []) {
          if (secrets.has(run)) problems.push(`${where}: a recorded secret`);
        }
        const entry = parseEntryLine(line) as AuditEntry | undefined;
        if (entry === undefined) continue;
        for (const [path, value] of mustBeHashed(entry)) {
          if (!HMAC.test(value)) problems.push(`${where}: ${path} is not an HMAC`);
        }
      }
    }
    expect(lines).toBeGreaterThan(0);
    expect(problems).toEqual([]);
  });
});
