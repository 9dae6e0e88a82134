import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { FakeClock } from '../lib/clock.js';
import { createJwksVerifier } from './jwks-verifier.js';
import {
  jwksMount,
  k8sClaims,
  makeKey,
  refusal,
  request,
  sign,
  silent,
  startJwksServer,
  urlJwksFixture,
  type TestKey,
} from './test-fixtures.js';
import type { Verifier } from './verifier.js';

describe('createJwksVerifier key refresh and sources', () => {
  let server: Awaited<ReturnType<typeof startJwksServer>>;
  let clock: FakeClock;
  let rsa: TestKey;
  let verifier: Verifier;

  let fixture: Awaited<ReturnType<typeof urlJwksFixture>>;

  beforeEach(async () => {
    fixture = await urlJwksFixture();
    ({ server, clock, rsa, verifier } = fixture);
  });
  afterEach(async () => {
    await fixture.close();
  });

  describe('key refresh', () => {
    it('refetches once for an unknown kid, coalescing 50 concurrent tokens, then waits out the cooldown', async () => {
      await verifier.ready();
      expect(server.state.hits.jwks).toBe(1);
      const stranger = await makeKey('RS256');
      const tokens = await Promise.all(
        Array.from({ length: 50 }, () => sign({ ...stranger, kid: randomUUID() }, k8sClaims(clock))),
      );
      const errs = await Promise.all(tokens.map((t) => refusal(verifier.verify(request(t)))));
      expect(errs.every((e) => e.reason === 'jwks_unknown_kid')).toBe(true);
      expect(server.state.hits.jwks).toBe(2);

      clock.advanceMs(29_000); // still inside the cooldown
      const more = await Promise.all(
        Array.from({ length: 20 }, () => sign({ ...stranger, kid: randomUUID() }, k8sClaims(clock))),
      );
      await Promise.all(more.map((t) => refusal(verifier.verify(request(t)))));
      expect(server.state.hits.jwks).toBe(2);

      clock.advanceMs(1000); // the cooldown has passed: one more
      await Promise.all(more.map((t) => refusal(verifier.verify(request(t)))));
      expect(server.state.hits.jwks).toBe(3);
    });

    it('picks up a key rotated in right after a load, and keeps the old one', async () => {
      const oldToken = await sign(rsa, k8sClaims(clock));
      await verifier.verify(request(oldToken));
      const next = await makeKey('ES256');
      server.state.keys = [rsa.jwk, next.jwk];
      await expect(verifier.verify(request(await sign(next, k8sClaims(clock))))).resolves.toMatchObject({
        namespace: 'team-a',
      });
      await expect(verifier.verify(request(await sign(rsa, k8sClaims(clock))))).resolves.toMatchObject({
        namespace: 'team-a',
      });
      expect(server.state.hits.jwks).toBe(2);
    });

    it('keeps the tokens it verified when a key is added, and drops them when one is removed', async () => {
      const token = await sign(rsa, k8sClaims(clock));
      await verifier.verify(request(token));
      const next = await makeKey('ES256');
      server.state.keys = [rsa.jwk, next.jwk];
      await verifier.verify(request(await sign(next, k8sClaims(clock))));
      await verifier.verify(request(token));
      expect(verifier.stats().cacheHits).toBe(1);

      server.state.keys = [next.jwk];
      clock.advanceMs(30_000); // past the cooldown, inside the 60 s the token is cached for
      await refusal(verifier.verify(request(await sign({ ...next, kid: 'not-a-key' }, k8sClaims(clock)))));
      expect((await refusal(verifier.verify(request(token)))).reason).toBe('jwks_unknown_kid');
      expect(verifier.stats().cacheHits).toBe(1);
    });

    it('refreshes keys older than maxAge in the background', async () => {
      await verifier.verify(request(await sign(rsa, k8sClaims(clock))));
      expect(server.state.hits.jwks).toBe(1);
      clock.advanceMs(600_000);
      await verifier.verify(request(await sign(rsa, k8sClaims(clock))));
      await vi.waitFor(() => expect(server.state.hits.jwks).toBe(2), { timeout: 5000 });
    });

    it('keeps serving the keys it holds when a refresh fails', async () => {
      await verifier.verify(request(await sign(rsa, k8sClaims(clock))));
      server.state.down = true;
      clock.advanceMs(600_000);
      await verifier.verify(request(await sign(rsa, k8sClaims(clock))));
      await vi.waitFor(() => expect(verifier.stats().upstreamErrors).toBe(1), { timeout: 5000 });
      await expect(verifier.verify(request(await sign(rsa, k8sClaims(clock))))).resolves.toMatchObject({
        namespace: 'team-a',
      });
    });

    it('is UNAVAILABLE (503) when the JWKS endpoint is down and no key was ever loaded, then recovers', async () => {
      server.state.down = true;
      const jwt = await sign(rsa, k8sClaims(clock));
      const err = await refusal(verifier.verify(request(jwt)));
      expect(err).toMatchObject({ code: 'UNAVAILABLE', status: 503, reason: 'jwks_unavailable' });
      expect(err.message).toMatch(/^error fetching JWKS/);
      expect(err.detail).toContain('HTTP 500');
      await expect(verifier.ready()).rejects.toMatchObject({ code: 'UNAVAILABLE' });
      server.state.down = false;
      clock.advanceMs(1000);
      await expect(verifier.verify(request(jwt))).resolves.toMatchObject({ namespace: 'team-a' });
    });

    it('is UNAVAILABLE when the endpoint refuses connections', async () => {
      await server.close();
      const err = await refusal(verifier.verify(request(await sign(rsa, k8sClaims(clock)))));
      expect(err).toMatchObject({ code: 'UNAVAILABLE', reason: 'jwks_unavailable' });
      server = await startJwksServer(); // for afterEach
    });
  });

  describe('sources', () => {
    let dir: string;
    beforeEach(async () => {
      dir = await mkdtemp(join(tmpdir(), 'authgate-jwks-'));
    });
    afterEach(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it('re-reads a JWKS file when it changes', async () => {
      const path = join(dir, 'jwks.json');
      await writeFile(path, JSON.stringify({ keys: [rsa.jwk] }));
      const fileVerifier = createJwksVerifier(jwksMount({ kind: 'file', path }), {
        clock,
        log: silent,
      });
      await expect(fileVerifier.verify(request(await sign(rsa, k8sClaims(clock))))).resolves.toBeDefined();
      const next = await makeKey('ES256');
      await writeFile(path, JSON.stringify({ keys: [next.jwk] }));
      const later = new Date(Date.now() + 5000);
      await utimes(path, later, later);
      // An unknown kid makes the file be looked at again (one stat, then one read as it changed).
      await expect(fileVerifier.verify(request(await sign(next, k8sClaims(clock))))).resolves.toMatchObject({
        namespace: 'team-a',
      });
      expect(fileVerifier.stats().upstreamCalls).toBe(2);

      await writeFile(path, JSON.stringify({ keys: [rsa.jwk] }));
      const evenLater = new Date(Date.now() + 10_000);
      await utimes(path, evenLater, evenLater);
      const back = await sign(rsa, k8sClaims(clock));
      // …but at most once per 2 s.
      expect((await refusal(fileVerifier.verify(request(back)))).reason).toBe('jwks_unknown_kid');
      clock.advanceMs(2000);
      await expect(fileVerifier.verify(request(back))).resolves.toMatchObject({ namespace: 'team-a' });
      expect(fileVerifier.stats().upstreamCalls).toBe(3);
    });

    it('finds keys through OIDC discovery', async () => {
      const discovering = createJwksVerifier(jwksMount({ kind: 'oidc-discovery', url: server.url }), {
        clock,
        log: silent,
      });
      await expect(discovering.verify(request(await sign(rsa, k8sClaims(clock))))).resolves.toBeDefined();
      expect(server.state.hits).toEqual({ discovery: 1, jwks: 1 });
    });

    it('refuses a discovery document for an issuer the mount does not accept', async () => {
      server.state.discoveryIssuer = 'https://attacker.example';
      const discovering = createJwksVerifier(jwksMount({ kind: 'oidc-discovery', url: server.url }), {
        clock,
        log: silent,
      });
      const err = await refusal(discovering.ready());
      expect(err).toMatchObject({ code: 'UNAVAILABLE', reason: 'jwks_unavailable' });
      expect(err.detail).toContain('not one of the configured issuers');
      expect(server.state.hits.jwks).toBe(0);
    });

    it('uses an injected fetch when given', async () => {
      const calls: string[] = [];
      const fetchSpy: typeof fetch = async (input, init) => {
        calls.push(String(input));
        return fetch(input, init);
      };
      const viaFetch = createJwksVerifier(jwksMount({ kind: 'url', url: server.jwksUrl }), {
        clock,
        log: silent,
        fetch: fetchSpy,
      });
      await viaFetch.verify(request(await sign(rsa, k8sClaims(clock))));
      expect(calls).toEqual([server.jwksUrl]);
    });
  });

  it('refuses a mount without issuers as caller misuse', () => {
    expect(() =>
      createJwksVerifier(jwksMount({ kind: 'url', url: server.jwksUrl }, { issuers: [] }), {
        clock,
        log: silent,
      }),
    ).toThrow(TypeError);
  });
});
