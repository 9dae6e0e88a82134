import type { AddressInfo } from 'node:net';
import vault from 'node-vault';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordAuthSecrets } from './helpers/audit.js';
import { ADMIN_TOKEN, startHarness, type Harness } from './helpers/harness.js';

/*
 * auth/token/create through the real `node-vault` client, unchanged, against authgate listening
 * on a real port. node-vault's tokenCreate and tokenCreateOrphan take the new token as the
 * client's own (`tokenSource`), as against Vault: the client then works with it.
 */

const POLICIES = { reader: { path: { 'secret/data/shared/*': { capabilities: ['read'] } } } };

let h: Harness;
let endpoint: string;
beforeAll(async () => {
  h = await startHarness({ config: { policies: POLICIES } });
  await h.server.app.listen({ host: '127.0.0.1', port: 0 });
  endpoint = `http://127.0.0.1:${(h.server.app.server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await h?.close();
});

type Auth = { client_token: string; accessor: string; policies: string[]; lease_duration: number };

describe('node-vault against auth/token/create', () => {
  it('creates a token with tokenCreate, and the client then works as it', async () => {
    const client = vault({ endpoint, token: ADMIN_TOKEN });
    const created = (await client.tokenCreate({
      policies: ['reader'],
      ttl: '2h',
      display_name: 'node vault',
      meta: { owner: 'ci' },
      num_uses: 0,
    })) as { auth: Auth };
    recordAuthSecrets(created);
    expect(created.auth).toMatchObject({
      policies: ['default', 'reader'],
      lease_duration: 7200,
      orphan: true,
      renewable: true,
      token_type: 'service',
    });
    expect(client.token).toBe(created.auth.client_token);

    const self = (await client.tokenLookupSelf()) as { data: Record<string, unknown> };
    expect(self.data).toMatchObject({
      accessor: created.auth.accessor,
      display_name: 'token-node-vault',
      path: 'auth/token/create',
      meta: { owner: 'ci' },
      policies: ['default', 'reader'],
      orphan: true,
    });
    // Its policy grants a read of secret/data/shared/*: none there yet, so 404 rather than 403.
    await expect(client.read('secret/data/shared/x')).rejects.toMatchObject({
      response: { statusCode: 404 },
    });
    await expect(client.read('secret/data/other/x')).rejects.toMatchObject({
      response: { statusCode: 403, body: { errors: ['permission denied'] } },
    });

    const renewed = (await client.tokenRenewSelf({ increment: '1h' })) as { auth: Auth };
    expect(renewed.auth.lease_duration).toBe(3600);
    await client.tokenRevokeSelf();
    await expect(client.tokenLookupSelf()).rejects.toMatchObject({ response: { statusCode: 403 } });
  });

  it('creates an orphan with tokenCreateOrphan, and refuses a created token making another', async () => {
    const client = vault({ endpoint, token: ADMIN_TOKEN });
    const created = (await client.tokenCreateOrphan({ policies: ['reader'], no_default_policy: true })) as {
      auth: Auth;
    };
    recordAuthSecrets(created);
    expect(created.auth).toMatchObject({ policies: ['reader'], orphan: true, lease_duration: 768 * 3600 });
    await expect(client.tokenCreate({ policies: ['reader'] })).rejects.toMatchObject({
      response: { statusCode: 403, body: { errors: ['permission denied'] } },
    });
  });

  it('refuses the root policy with 400', async () => {
    const client = vault({ endpoint, token: ADMIN_TOKEN });
    await expect(client.tokenCreate({ policies: ['root'] })).rejects.toMatchObject({
      response: {
        statusCode: 400,
        body: {
          errors: [
            'root tokens are not supported: name the policies of the token (authgate has no root policy)',
          ],
        },
      },
    });
    expect(client.token).toBe(ADMIN_TOKEN);
  });
});
