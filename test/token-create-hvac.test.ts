import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runHvacScript } from './helpers/hvac.js';
import { ADMIN_TOKEN, startHarness, type Harness } from './helpers/harness.js';
import { INVALID_TOKEN_MESSAGE } from '../src/errors.js';

/*
 * auth/token/create through the real Python client hvac (Debian's python3-hvac 0.11.2),
 * unchanged, against authgate listening on a real port: the admin token creates a token, which
 * then looks itself up, renews and revokes itself; a created token and a token role are refused;
 * a batch token looks itself up and is refused renewal and revocation, as Vault's.
 * test/helpers/hvac_token_create.py does the calls.
 */

let h: Harness;
let url: string;
beforeAll(async () => {
  h = await startHarness({
    config: { policies: { reader: { path: { 'secret/data/shared/*': { capabilities: ['read'] } } } } },
  });
  await h.server.app.listen({ host: '127.0.0.1', port: 0 });
  url = `http://127.0.0.1:${(h.server.app.server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await h?.close();
});

describe('hvac 0.11.2 against auth/token/create', () => {
  it('creates a token with the admin token, which then lives as a login token does', async () => {
    const run = await runHvacScript('hvac_token_create.py', h.dir, {
      AUTHGATE_URL: url,
      AUTHGATE_ADMIN_TOKEN: ADMIN_TOKEN,
    });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toStrictEqual({
      created: expect.objectContaining({
        policies: ['default', 'reader'],
        metadata: { owner: 'py' },
        lease_duration: 3600,
        orphan: true,
      }),
      client_token_is_authgates: true,
      lookup_self: {
        path: 'auth/token/create',
        display_name: 'token-hvac',
        meta: { owner: 'py' },
        policies: ['default', 'reader'],
        ttl: expect.any(Number),
        orphan: true,
        renewable: true,
        num_uses: 0,
      },
      renewed_lease_duration: 1800,
      lookup_accessor_path: 'auth/token/create',
      // The created token's `default` policy grants nothing on auth/token/create: the ACL's 403.
      child: { exception: 'Forbidden', errors: ['permission denied'] },
      role: {
        exception: 'InvalidRequest',
        errors: ['token roles are not supported: create the token without a role'],
      },
      batch: {
        created: expect.objectContaining({ token_type: 'batch', renewable: false, lease_duration: 600 }),
        lookup_self_type: 'batch',
        renew_self: { exception: 'InvalidRequest', errors: ['batch tokens cannot be renewed'] },
        revoke_self: { exception: 'InvalidRequest', errors: ['batch tokens cannot be revoked'] },
      },
      after_revoke: { exception: 'Forbidden', errors: [INVALID_TOKEN_MESSAGE] },
    });
  });
});
