import { describe, expect, it } from 'vitest';
import { createFakeClock } from '../lib/clock.js';
import { createJwksSource } from './jwks-source.js';
import { jwksMount, makeKey } from './test-fixtures.js';

/**
 * A discovery URL on loopback (kubectl proxy) may be plain HTTP; the `jwks_uri` its document names
 * is held to the rule of the configured URLs: plain HTTP only to loopback, or with
 * `allow_insecure_http`.
 */
describe('the jwks_uri a discovery document names', () => {
  const discoveryAt = 'http://127.0.0.1:8001';
  const sourceFor = async (jwksUri: string, allowInsecureHttp: boolean) => {
    const key = await makeKey('RS256');
    const asked: string[] = [];
    const fetchFake = (async (input: URL | string) => {
      const url = String(input);
      asked.push(url);
      const body = url.endsWith('/.well-known/openid-configuration')
        ? { issuer: jwksMount({ kind: 'url', url: '' }).issuers[0], jwks_uri: jwksUri }
        : { keys: [key.jwk] };
      return new Response(JSON.stringify(body), {
        status: 200,
        headers: { 'content-type': 'application/json' },
      });
    }) as typeof fetch;
    const mount = jwksMount({ kind: 'oidc-discovery', url: discoveryAt });
    const source = createJwksSource(mount.jwks!, mount.issuers, {
      clock: createFakeClock(),
      onUpstreamCall: () => undefined,
      fetch: fetchFake,
      allowInsecureHttp,
    });
    return { source, asked };
  };

  it('is not fetched over plain HTTP from a host that is not loopback', async () => {
    const { source, asked } = await sourceFor('http://keys.example.test/jwks', false);
    await expect(source.load()).rejects.toThrow(/plain-http jwks_uri on a host that is not loopback/);
    expect(asked).toEqual([`${discoveryAt}/.well-known/openid-configuration`]);
  });

  it.each([
    ['on loopback', 'http://localhost:8001/openid/v1/jwks', false],
    ['elsewhere, with allow_insecure_http', 'http://keys.example.test/jwks', true],
  ])('is fetched over plain HTTP %s', async (_where, uri, allow) => {
    const { source, asked } = await sourceFor(uri, allow);
    expect((await source.load())?.keys).toHaveLength(1);
    expect(asked).toEqual([`${discoveryAt}/.well-known/openid-configuration`, uri]);
  });
});
