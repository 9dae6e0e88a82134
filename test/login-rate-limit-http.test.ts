import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configDoc, parseDoc } from '../src/config/test-support.js';
import { createFakeClock } from '../src/lib/clock.js';
import { readEntries } from './helpers/audit.js';
import { startHarness, type Harness } from './helpers/harness.js';

/*
 * `listener.login_rate_limit`: Vault's rate limit quota on logins, per client address — 429
 * with Vault's message and Retry-After past the bucket, refilled with time, other addresses and
 * other paths untouched.
 */

const clock = createFakeClock(Date.UTC(2026, 10, 30, 12, 0, 0));
let h: Harness;

const login = async (remoteAddress: string, body: unknown = { role: 'nginx', jwt: 'not-a-jwt' }) =>
  h.server.app.inject({
    method: 'POST',
    url: '/v1/auth/kubernetes/login',
    payload: JSON.stringify(body),
    headers: { 'content-type': 'application/json' },
    remoteAddress,
  });

beforeAll(async () => {
  h = await startHarness({ clock, listener: { login_rate_limit: { rate: 3, interval: '10s' } } });
});
afterAll(async () => {
  await h?.close();
});

describe('login rate limit', () => {
  it("answers 429 in Vault's words past the rate, with Retry-After, whatever the logins' outcome", async () => {
    const jwt = await h.podToken();
    expect((await login('10.0.0.1', { role: 'nginx', jwt })).statusCode).toBe(200);
    expect((await login('10.0.0.1')).statusCode).toBe(403);
    expect((await login('10.0.0.1', {})).statusCode).toBe(400);
    const limited = await login('10.0.0.1', { role: 'nginx', jwt });
    expect(limited.statusCode).toBe(429);
    expect(limited.json()).toEqual({
      errors: ['request path "auth/kubernetes/login": rate limit quota exceeded'],
    });
    // One login comes back every 10 s / 3.
    expect(limited.headers['retry-after']).toBe('4');
    // Not audited (Vault's default for quota refusals): the three logins before it are.
    const responses = readEntries(h.auditFile as string).filter((e) => e.type === 'response');
    expect(responses.map((e) => (e.authgate as { status: number }).status)).toEqual([200, 403, 400]);
    const metrics = await h.server.app.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.body).toMatch(/authgate_logins_total\{[^}]*reason="rate_limited"[^}]*\} 1/);
  });

  it('gives a login back as time passes, and the bucket never holds more than the rate', async () => {
    clock.advanceMs(3400);
    expect((await login('10.0.0.1')).statusCode).toBe(403);
    expect((await login('10.0.0.1')).statusCode).toBe(429);
    clock.advanceMs(3_600_000);
    const codes = [];
    for (let i = 0; i < 4; i++) codes.push((await login('10.0.0.1')).statusCode);
    expect(codes).toEqual([403, 403, 403, 429]);
  });

  it('counts each client address apart, and limits nothing but logins', async () => {
    expect((await login('10.0.0.2')).statusCode).toBe(403);
    const lookup = await h.server.app.inject({
      method: 'GET',
      url: '/v1/auth/token/lookup-self',
      headers: { 'x-vault-token': 'nope' },
      remoteAddress: '10.0.0.1',
    });
    expect(lookup.statusCode).toBe(403);
  });

  it('refuses a rate below 1 and an interval outside 1s..1h', () => {
    const problems = (limit: Record<string, unknown>): string => {
      try {
        parseDoc(configDoc({ listener: { login_rate_limit: limit } }));
        return '';
      } catch (err) {
        return (err as Error).message;
      }
    };
    expect(problems({ rate: 0 })).toContain('listener.login_rate_limit.rate');
    expect(problems({ rate: 5, interval: '0s' })).toContain('listener.login_rate_limit.interval');
    expect(problems({ rate: 5, interval: '2h' })).toContain('between 1s and 1h');
    expect(problems({ interval: '1s' })).toContain('listener.login_rate_limit');
    expect(problems({ rate: 5 })).toBe('');
  });
});
