import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startHarness, type Harness } from './helpers/harness.js';
import { rawRequest } from './helpers/raw-http.js';

/*
 * A path that decodes to a character Go's unicode.IsPrint refuses (a control, a format character
 * such as U+200B, a space other than ASCII's): Vault's handler is wrapped in go-cleanhttp's
 * PrintablePathCheckHandler (vault/http/handler.go), which answers 400 before anything else, the
 * mux's clean-path redirect, the token check and the audit included. Sent byte for byte.
 */

let h: Harness;
let port: number;

beforeAll(async () => {
  h = await startHarness({ config: { secrets: { kv: { secret: {} } } } });
  port = Number(new URL(await h.server.app.listen({ host: '127.0.0.1', port: 0 })).port);
});
afterAll(async () => {
  await h?.close();
});

const raw = (method: string, target: string, headers: string[] = [], body = '') =>
  rawRequest(
    port,
    `${method} ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\n${headers.map((x) => `${x}\r\n`).join('')}` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    { timeoutMs: 10_000 },
  );
const withToken = [`X-Vault-Token: ${ADMIN_TOKEN}`];
const INVALID = { errors: ['invalid request path'] };

describe('a path with a character that is not printable', () => {
  it.each([
    ['%00', 'NUL'],
    ['%0a', 'LF'],
    ['%09', 'tab'],
    ['%7F', 'DEL'],
    ['%C2%85', 'U+0085, a C1 control'],
    ['%C2%A0', 'U+00A0, a no-break space'],
    ['%E2%80%8B', 'U+200B, a zero-width space (a format character)'],
    ['%EF%BB%BF', 'U+FEFF, a byte order mark'],
    ['%E2%80%A8', 'U+2028, a line separator'],
  ])('is refused 400 in Vault’s shape with %s (%s), with a token or none', async (escape) => {
    for (const headers of [withToken, []]) {
      const res = await raw('GET', `/v1/secret/data/a${escape}b`, headers);
      expect([res.status, JSON.parse(res.body)]).toEqual([400, INVALID]);
    }
  });

  it('is never written: a KV write under such a name is refused, and nothing is stored', async () => {
    const write = await raw('POST', '/v1/secret/data/x%0Ay', withToken, '{"data":{"v":"1"}}');
    expect([write.status, JSON.parse(write.body)]).toEqual([400, INVALID]);
    const list = await raw('GET', '/v1/secret/metadata/?list=true', withToken);
    expect(list.status).toBe(404);
  });

  it('is refused before the clean-path redirect, and on the status endpoints too', async () => {
    for (const target of ['/v1//secret/a%00', '/v1/sys/health%0A', '/v1/sys/seal-status%E2%80%8B']) {
      const res = await raw('GET', target);
      expect([res.status, res.headers['location'], JSON.parse(res.body)]).toEqual([400, undefined, INVALID]);
    }
  });

  it('is not audited, as Vault refuses it before its router', async () => {
    const file = h.auditFile;
    if (file === undefined) throw new Error('no audit file');
    const marker = `unprintable-${Date.now()}`;
    expect((await raw('GET', `/v1/secret/data/${marker}%00`, withToken)).status).toBe(400);
    expect(readFileSync(file, 'utf8')).not.toContain(marker);
  });

  it('leaves printable paths alone: an encoded space or letter, and any query', async () => {
    for (const target of ['/v1/secret/data/a%20b', '/v1/secret/data/caf%C3%A9']) {
      const res = await raw('GET', target, withToken);
      expect(res.status).toBe(404);
    }
    expect((await raw('GET', '/v1/sys/health?x=%00%0A')).status).toBe(200);
  });
});
