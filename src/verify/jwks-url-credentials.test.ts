import { afterEach, describe, expect, it } from 'vitest';
import { createFakeClock } from '../lib/clock.js';
import { createJwksVerifier } from './jwks-verifier.js';
import * as fixtures from './test-fixtures.js';

/**
 * A JWKS or discovery URL may carry a user and password (`https://reader:pw@issuer/…`): Node sends
 * them as Basic auth, and `auth/<mount>/config` shows them as `***`. Every other place that names
 * the URL (log lines, the detail of a refused login, which the audit writes in clear) names it
 * without them.
 */
describe('a JWKS source URL with credentials', () => {
  const PASSWORD = 'pw-4f1c9e2b7a';
  const closers: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const close of closers.splice(0)) await close();
  });

  const setup = async (kind: 'url' | 'oidc-discovery') => {
    const server = await fixtures.startJwksServer();
    const key = await fixtures.makeKey('RS256');
    server.state.keys = [key.jwk];
    const withUser = server.url.replace('http://', `http://reader:${PASSWORD}@`);
    const url = kind === 'url' ? `${withUser}/openid/v1/jwks` : withUser;
    const clock = createFakeClock();
    const { log, lines } = fixtures.captureLog();
    const verifier = createJwksVerifier(fixtures.jwksMount({ kind, url }), { clock, log });
    closers.push(async () => {
      await verifier.close();
      await server.close();
    });
    const jwt = await fixtures.sign(key, fixtures.k8sClaims(clock));
    return { server, verifier, lines, jwt };
  };

  it.each(['url', 'oidc-discovery'] as const)(
    'sends them to the %s endpoint, and names it without them in its log lines',
    async (kind) => {
      const { server, verifier, lines, jwt } = await setup(kind);
      await verifier.verify(fixtures.request(jwt));
      const basic = `Basic ${Buffer.from(`reader:${PASSWORD}`).toString('base64')}`;
      expect(server.state.authorizations[0]).toBe(basic);
      const loaded = lines.find((l) => l.fields['event'] === 'jwks.loaded');
      expect(loaded?.fields['source']).toMatch(/^http:\/\/\*\*\*@127\.0\.0\.1:\d+\//);
      expect(JSON.stringify(lines)).not.toContain(PASSWORD);
    },
  );

  it.each(['url', 'oidc-discovery'] as const)(
    'names the %s endpoint without them when it fails, in logs and in the refusal',
    async (kind) => {
      const { server, verifier, lines, jwt } = await setup(kind);
      server.state.down = true;
      const err = await fixtures.refusal(verifier.verify(fixtures.request(jwt)));
      expect(err.code).toBe('UNAVAILABLE');
      expect(err.detail).toMatch(/\*\*\*@127\.0\.0\.1/);
      expect(`${err.message} ${err.detail ?? ''}`).not.toContain(PASSWORD);
      const failed = lines.filter((l) => l.fields['event'] === 'jwks.fetch_failed');
      expect(failed.length).toBeGreaterThan(0);
      expect(JSON.stringify(lines)).not.toContain(PASSWORD);
    },
  );
});
