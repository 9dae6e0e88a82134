import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFakeClock } from '../lib/clock.js';
import { createJwksVerifier } from './jwks-verifier.js';
import { jwksMount, k8sClaims, makeKey, request, sign, silent, startJwksServer } from './test-fixtures.js';

describe('JWKS fetched through the API server', () => {
  let server: Awaited<ReturnType<typeof startJwksServer>>;
  let dir: string;
  beforeEach(async () => {
    server = await startJwksServer();
    dir = mkdtempSync(join(tmpdir(), 'jwks-bearer-'));
    writeFileSync(join(dir, 'token'), 'reviewer-token-value');
    server.state.requiredBearer = 'reviewer-token-value';
  });
  afterEach(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('presents the reviewer token to the API server it is configured for', async () => {
    const clock = createFakeClock();
    const key = await makeKey('RS256');
    server.state.keys = [key.jwk];
    const verifier = createJwksVerifier(
      jwksMount(
        { kind: 'oidc-discovery', url: server.url },
        { kubernetesHost: server.url, tokenReviewerJwtFile: join(dir, 'token') },
      ),
      { clock, log: silent },
    );
    const identity = await verifier.verify(request(await sign(key, k8sClaims(clock)), 'vault'));
    expect(identity.namespace).toBe('team-a');
    expect(server.state.authorizations.every((a) => a === 'Bearer reviewer-token-value')).toBe(true);
  });

  it('never sends the reviewer token to another host', async () => {
    const clock = createFakeClock();
    const verifier = createJwksVerifier(
      jwksMount(
        { kind: 'oidc-discovery', url: server.url },
        { kubernetesHost: 'http://127.0.0.2:6443', tokenReviewerJwtFile: join(dir, 'token') },
      ),
      { clock, log: silent },
    );
    await expect(verifier.ready()).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    expect(server.state.authorizations).toEqual([undefined]);
  });
});
