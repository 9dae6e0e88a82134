import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from './logger.js';

const TOKEN = 'eyJhbGciOiJSUzI1NiJ9.c2VjcmV0LXBheWxvYWQ.c2lnbmF0dXJl';

/** Logs `fields` at warn and returns the JSON line pino wrote. */
const logLine = (fields: Record<string, unknown>): { raw: string; json: Record<string, unknown> } => {
  const chunks: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString('utf8'));
      done();
    },
  });
  createLogger('info', sink).warn(fields, 'test.event');
  const raw = chunks.join('');
  return { raw, json: JSON.parse(raw) as Record<string, unknown> };
};

describe('log redaction', () => {
  it.each(['jwt', 'token', 'client_token', 'clientToken', 'accessor', 'secret', 'password'])(
    'censors a top-level %s field',
    (field) => {
      const { raw, json } = logLine({ event: 'test.event', [field]: TOKEN });
      expect(json[field]).toBe('[redacted]');
      expect(raw).not.toContain(TOKEN);
    },
  );

  it("keeps a store command's name but not its arguments (keys, a token record) out of an error", () => {
    const err = Object.assign(new Error('OOM command not allowed'), {
      command: { name: 'evalsha', args: ['sha', '2', 'ag:token:x', `{"accessor":"${TOKEN}"}`] },
    });
    const { raw, json } = logLine({ event: 'store.failed', err });
    expect(raw).not.toContain(TOKEN);
    expect(json['err']).toMatchObject({
      type: 'Error',
      message: 'OOM command not allowed',
      command: { name: 'evalsha' },
    });
    expect((json['err'] as { command: object }).command).toEqual({ name: 'evalsha' });
  });

  it('censors tokens one and two levels down', () => {
    const { raw, json } = logLine({
      body: { jwt: TOKEN, role: 'nginx' },
      req: { body: { token: TOKEN, client_token: TOKEN } },
    });
    expect(raw).not.toContain(TOKEN);
    expect(json['body']).toEqual({ jwt: '[redacted]', role: 'nginx' });
    expect(json['req']).toEqual({ body: { token: '[redacted]', client_token: '[redacted]' } });
  });

  it('censors the token headers of a logged request', () => {
    const { raw } = logLine({
      req: { headers: { 'x-vault-token': TOKEN, authorization: `Bearer ${TOKEN}`, host: 'authgate' } },
    });
    expect(raw).not.toContain(TOKEN);
    expect(raw).toContain('"host":"authgate"');
  });

  it('keeps fingerprints, which are logged under fields of their own', () => {
    const { json } = logLine({ event: 'login.denied', jwtFingerprint: '0123456789ab' });
    expect(json['jwtFingerprint']).toBe('0123456789ab');
  });
});
