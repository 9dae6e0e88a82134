import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../src/telemetry/index.js';
import { recordSecrets } from './helpers/audit.js';
import { ADMIN_TOKEN, NGINX_ROLE, startHarness, type Harness } from './helpers/harness.js';

/*
 * An attacker's view of authgate's side channels: every secret a request can carry (client
 * tokens, accessors, JWTs, the admin and reviewer tokens, KV values, the server key), sent
 * through the HTTP API in well-formed and malformed requests alike, must never reach a log line
 * (at trace level: every line the code can write), a metric, a span attribute or an audit entry
 * in plaintext. Each canary is one recognisable run of characters, so a substring search finds it
 * however it was quoted.
 */

const canary = (label: string): string => {
  const value = `canary${label}${randomBytes(8).toString('hex')}`;
  recordSecrets(value);
  return value;
};

const logText: string[] = [];
const exporter = new InMemorySpanExporter();
const auditLines: string[] = [];
const serverKey = randomBytes(32);
let h: Harness;

beforeAll(async () => {
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      logText.push(chunk.toString());
      done();
    },
  });
  const auditStdout = new Writable({
    write(chunk: Buffer, _enc, done) {
      auditLines.push(chunk.toString());
      done();
    },
  });
  h = await startHarness({
    log: createLogger('trace', stream),
    telemetry: { traces: exporter },
    serverKey,
    auditStdout,
    audit: { out: { type: 'stdout' } },
    roles: { nginx: { ...NGINX_ROLE, token_policies: ['rw'] } },
    config: {
      policies: {
        rw: {
          path: {
            'secret/*': { capabilities: ['create', 'read', 'update', 'patch', 'delete', 'list'] },
            'identity/oidc/token/*': { capabilities: ['read'] },
          },
        },
      },
      secrets: { kv: { secret: {} } },
      identity: { issuer: 'https://authgate.example', roles: { web: { audience: 'web', ttl: '5m' } } },
    },
  });
});
afterAll(async () => {
  await h?.close();
});

/** `value` wrapped `depth` objects deep (`{a:{a:…value}}`). */
const nested = (depth: number, value: object): object =>
  depth === 0 ? value : { a: nested(depth - 1, value) };

type Req = { method?: string; url: string; token?: string; headers?: Record<string, string>; body?: unknown };
const send = async (r: Req) => {
  const payload =
    r.body === undefined ? undefined : typeof r.body === 'string' ? r.body : JSON.stringify(r.body);
  const res = await h.server.app.inject({
    method: (r.method ?? 'GET') as 'GET',
    url: r.url,
    headers: {
      ...(r.token === undefined ? {} : { 'x-vault-token': r.token }),
      ...(payload === undefined ? {} : { 'content-type': 'application/json' }),
      ...r.headers,
    },
    ...(payload === undefined ? {} : { payload }),
  });
  return { status: res.statusCode, body: res.body, headers: res.headers };
};

/** Every place a secret must not be, as text: logs, metrics, span attributes, audit entries. */
const sideChannels = async (): Promise<Record<string, string>> => {
  const metrics = await h.server.app.inject({ method: 'GET', url: '/metrics' });
  const spans = exporter
    .getFinishedSpans()
    .map((s) =>
      JSON.stringify({ name: s.name, attributes: s.attributes, events: s.events, status: s.status }),
    );
  return {
    logs: logText.join(''),
    metrics: metrics.body,
    spans: spans.join('\n'),
    audit: auditLines.join(''),
  };
};

/** Each secret found in a channel, with the text around it (for the failure message). */
const leaks = (channels: Record<string, string>, secrets: Record<string, string>): string[] => {
  const found: string[] = [];
  for (const [where, text] of Object.entries(channels)) {
    for (const [name, value] of Object.entries(secrets)) {
      const at = value === '' ? -1 : text.indexOf(value);
      if (at >= 0) found.push(`${name} in ${where}: …${text.slice(Math.max(0, at - 200), at + 60)}…`);
    }
  }
  return found;
};

describe('secrets sent to the API reach no log line, metric, span or audit entry', () => {
  it('client tokens, accessors, JWTs, admin and reviewer tokens, KV values, server key', async () => {
    const jwt = await h.podToken();
    const login = await h.login('kubernetes', { role: 'nginx', jwt });
    expect(login.status).toBe(200);
    const auth = login.json['auth'] as { client_token: string; accessor: string };
    const token = auth.client_token;
    const accessor = auth.accessor;
    const reviewer = readFileSync(join(h.dir, 'reviewer-token'), 'utf8').trim();
    const kvValue = canary('kv');
    // A key of the data is a name, audited in clear as in Vault: not recorded as a secret.
    const kvKey = `key${randomBytes(4).toString('hex')}`;
    const bogusJwt = `eyJhbGciOiJSUzI1NiJ9.${canary('jwtbody')}.sig`;
    const wellFormedUnknown = `ags.${randomBytes(32).toString('base64url')}`;
    const junkToken = canary('junktoken');
    const bearer = canary('bearer');
    const auditInput = canary('audithash');
    recordSecrets(wellFormedUnknown);

    const requests: Req[] = [
      // Logins: good, refused, malformed, with a token where the role goes, form bodies.
      { method: 'POST', url: '/v1/auth/kubernetes/login', body: { role: 'nginx', jwt: bogusJwt } },
      { method: 'POST', url: '/v1/auth/jwks/login', body: { role: 'nginx', jwt: bogusJwt } },
      { method: 'POST', url: '/v1/auth/jwks/login', body: { role: 'nginx', jwt: `${bogusJwt}.x.y` } },
      { method: 'POST', url: '/v1/auth/kubernetes/login', body: { role: jwt, jwt } },
      { method: 'POST', url: '/v1/auth/kubernetes/login', body: { role: token, jwt } },
      { method: 'POST', url: '/v1/auth/kubernetes/login', body: { role: 'nope', jwt: bogusJwt } },
      { method: 'POST', url: '/v1/auth/kubernetes/login', body: `jwt=${bogusJwt}&role=nginx` },
      { method: 'POST', url: '/v1/auth/kubernetes/login', body: { role: ['nginx'], jwt: bogusJwt } },
      { method: 'POST', url: '/v1/auth/kubernetes/login', body: { role: 'nginx', jwt: { v: bogusJwt } } },
      { method: 'POST', url: '/v1/auth/kubernetes/login', body: { role: 'nginx', jwt, extra: junkToken } },
      // Client tokens: good, unknown, junk, in Authorization, twice, in the path.
      { url: '/v1/auth/token/lookup-self', token },
      { url: '/v1/auth/token/lookup-self', token: wellFormedUnknown },
      { url: '/v1/auth/token/lookup-self', token: junkToken },
      { url: '/v1/auth/token/lookup-self', headers: { authorization: `Bearer ${bearer}` } },
      { url: '/v1/auth/token/lookup-self', headers: { authorization: `Basic ${bearer}` } },
      { url: '/v1/secret/data/x', headers: { 'x-vault-token': `${junkToken}, ${token}` } },
      { url: `/v1/auth/token/lookup/${token}`, token: ADMIN_TOKEN },
      { url: `/v1/auth/token/lookup%2F${token}`, token: ADMIN_TOKEN },
      { url: `/v1/auth/token/lookup/${token}/`, token: ADMIN_TOKEN },
      { url: `/v1/auth/token/lookup/${encodeURIComponent(token)}?x=1`, token: ADMIN_TOKEN },
      { method: 'POST', url: `/v1/auth/token/revoke/${token}`, token: ADMIN_TOKEN },
      { method: 'POST', url: `/v1/auth/token/lookup-accessor/${accessor}`, token: ADMIN_TOKEN },
      { method: 'POST', url: `/v1/auth/token/revoke-accessor%2f${accessor}`, token: ADMIN_TOKEN },
      { method: 'PATCH', url: `/v1/auth/token/lookup/${token}`, token: ADMIN_TOKEN },
      { url: '/v1/auth/token/lookup-self', token: ADMIN_TOKEN },
      { method: 'POST', url: '/v1/auth/token/lookup', token: ADMIN_TOKEN, body: { token } },
      { method: 'POST', url: '/v1/auth/token/lookup', token: ADMIN_TOKEN, body: { token: junkToken } },
      { method: 'POST', url: '/v1/auth/token/lookup', token: ADMIN_TOKEN, body: { token: [junkToken] } },
      { method: 'POST', url: '/v1/auth/token/lookup-accessor', token: ADMIN_TOKEN, body: { accessor } },
      {
        method: 'POST',
        url: '/v1/auth/token/lookup-accessor',
        token: ADMIN_TOKEN,
        body: { accessor: junkToken },
      },
      { method: 'POST', url: '/v1/auth/token/renew-accessor', token: ADMIN_TOKEN, body: { accessor } },
      {
        method: 'POST',
        url: '/v1/auth/token/renew',
        token: ADMIN_TOKEN,
        body: { token, increment: junkToken },
      },
      { method: 'POST', url: '/v1/sys/capabilities-self', token, body: { paths: ['secret/data/x'] } },
      // KV: the value written, read, patched, refused, and as a key of the data.
      {
        method: 'POST',
        url: '/v1/secret/data/app',
        token,
        body: { data: { password: kvValue, [kvKey]: 'x' } },
      },
      { url: '/v1/secret/data/app', token },
      { url: '/v1/secret/subkeys/app', token },
      {
        method: 'PATCH',
        url: '/v1/secret/data/app',
        token,
        headers: { 'content-type': 'application/merge-patch+json' },
        body: JSON.stringify({ data: { other: kvValue } }),
      },
      {
        method: 'POST',
        url: '/v1/secret/data/app',
        token,
        body: { data: { password: kvValue }, options: { cas: 0 } },
      },
      { method: 'POST', url: '/v1/secret/data/bad', token, body: { data: kvValue } },
      { method: 'POST', url: '/v1/secret/data/bad', token, body: { data: { [kvKey]: kvValue }, options: 1 } },
      { method: 'POST', url: '/v1/secret/data/bad', token, body: `{"data":{"password":"${kvValue}"` },
      { method: 'POST', url: '/v1/secret/metadata/app', token, body: { custom_metadata: { note: kvValue } } },
      {
        method: 'POST',
        url: '/v1/secret/metadata/app',
        token,
        body: { max_versions: 'x', custom_metadata: { k: kvValue } },
      },
      // Odd shapes: a token in a query, in odd header case and spacing, twice as a header, as a
      // number or under `__proto__`, a duplicate key, nesting past what audit walks, odd methods.
      { url: `/v1/auth/token/lookup-self?token=${junkToken}&x=${bearer}`, token },
      { method: 'POST', url: `/v1/auth/token/lookup?token=${junkToken}`, token: ADMIN_TOKEN, body: {} },
      { url: '/v1/auth/token/lookup-self', headers: { Authorization: `bEaReR \t ${bearer}  ` } },
      { url: '/v1/auth/token/lookup-self', headers: { 'X-Vault-Token': ` ${junkToken} ` } },
      { method: 'POST', url: '/v1/auth/token/lookup', token: ADMIN_TOKEN, body: { token: 12345 } },
      {
        method: 'POST',
        url: '/v1/auth/token/lookup',
        token: ADMIN_TOKEN,
        body: `{"__proto__":{"token":"${junkToken}"},"token":"${junkToken}","token":"${token}"}`,
      },
      {
        method: 'POST',
        url: '/v1/secret/data/deep',
        token,
        body: { data: nested(40, { password: kvValue }) },
      },
      {
        method: 'POST',
        url: '/v1/auth/kubernetes/login',
        body: { role: 'nginx', jwt: bogusJwt, deep: nested(40, { jwt }) },
      },
      { method: 'OPTIONS', url: `/v1/auth/token/lookup/${token}`, token: ADMIN_TOKEN },
      { url: `/v1/secret/metadata/?list=true&token=${junkToken}`, token },
      { method: 'POST', url: `/v1/auth/kubernetes/login?jwt=${bogusJwt}`, body: { role: 'nginx' } },
      { method: 'POST', url: '/v1/auth/kubernetes/login', body: `{"role":"nginx","jwt":"${bogusJwt}"` },
      {
        method: 'POST',
        url: '/v1/auth/kubernetes/login',
        headers: { 'content-type': 'text/plain' },
        body: `role=nginx&jwt=${bogusJwt}`,
      },
      // Identity tokens and the audit hash endpoint.
      { url: '/v1/identity/oidc/token/web', token },
      { method: 'POST', url: '/v1/sys/audit-hash/out', token: ADMIN_TOKEN, body: { input: auditInput } },
      // The token's last requests: revoked, then used.
      { method: 'POST', url: '/v1/auth/token/revoke-self', token },
      { url: '/v1/secret/data/app', token },
    ];
    let identityToken = '';
    const refusals: Record<string, string> = {};
    for (const r of requests) {
      const res = await send(r);
      // Never a crash on any of them.
      expect(res.status, `${r.method ?? 'GET'} ${r.url}`).toBeLessThan(500);
      if (res.status >= 400) refusals[`${r.method ?? 'GET'} ${r.url.slice(0, 40)}`] = res.body;
      if (r.url === '/v1/identity/oidc/token/web') {
        identityToken = (JSON.parse(res.body) as { data: { token: string } }).data.token;
        recordSecrets(identityToken);
      }
    }
    expect(identityToken).not.toBe('');
    const secrets = {
      token,
      accessor,
      jwt,
      bogusJwtBody: bogusJwt.split('.')[1] ?? '',
      identityToken,
      wellFormedUnknown,
      junkToken,
      bearer,
      admin: ADMIN_TOKEN,
      reviewer,
      kvValue,
      auditInput,
      serverKeyHex: serverKey.toString('hex'),
      serverKeyB64: serverKey.toString('base64'),
      serverKeyB64url: serverKey.toString('base64url'),
    };
    const channels = await sideChannels();
    // The channels were written to: a scan of empty text would prove nothing.
    expect(channels['logs']).toContain('"login.denied"');
    expect(channels['spans']).toContain('http.route');
    expect(channels['audit']).toContain('auth/token/lookup-self');
    expect(leaks(channels, secrets)).toEqual([]);
    // Nor does an answer that refused a request quote a secret back (a proxy may log it).
    expect(leaks(refusals, secrets)).toEqual([]);
  });
});
