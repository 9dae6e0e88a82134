import type { AddressInfo } from 'node:net';
import vault from 'node-vault';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordAuthSecrets } from './helpers/audit.js';
import { NGINX_ROLE, startHarness, type Harness } from './helpers/harness.js';

/*
 * A batch-token login through the real `node-vault` client, unchanged, against authgate listening
 * on a real port: kubernetesLogin takes the batch token as the client's own, which then reads
 * what its policy grants and is refused renewal and revocation with Vault's 400s.
 */

const POLICIES = { reader: { path: { 'secret/data/test/*': { capabilities: ['read'] } } } };

let h: Harness;
let endpoint: string;
beforeAll(async () => {
  h = await startHarness({
    roles: { batch: { ...NGINX_ROLE, token_policies: ['reader'], token_type: 'batch' } },
    config: { policies: POLICIES, secrets: { kv: { secret: {} } } },
  });
  await h.server.app.listen({ host: '127.0.0.1', port: 0 });
  endpoint = `http://127.0.0.1:${(h.server.app.server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await h?.close();
});

describe('node-vault with a batch token', () => {
  it('logs in with kubernetesLogin, looks itself up, reads, and is refused renewal and revocation', async () => {
    const client = vault({ endpoint });
    const login = (await client.kubernetesLogin({
      mount_point: 'jwks',
      role: 'batch',
      jwt: await h.podToken(),
    })) as { auth: Record<string, unknown> & { client_token: string } };
    recordAuthSecrets(login);
    expect(login.auth).toMatchObject({
      token_type: 'batch',
      accessor: '',
      renewable: false,
      lease_duration: 3600,
    });
    expect(client.token).toBe(login.auth.client_token);

    const self = (await client.tokenLookupSelf()) as { data: Record<string, unknown> };
    expect(self.data).toMatchObject({
      type: 'batch',
      path: 'auth/jwks/login',
      policies: ['default', 'reader'],
    });
    // Its policy grants the read: nothing written there, so 404 rather than 403.
    await expect(client.read('secret/data/test/app')).rejects.toMatchObject({
      response: { statusCode: 404 },
    });
    await expect(client.read('secret/data/other/app')).rejects.toMatchObject({
      response: { statusCode: 403 },
    });

    await expect(client.tokenRenewSelf()).rejects.toMatchObject({
      response: { statusCode: 400, body: { errors: ['batch tokens cannot be renewed'] } },
    });
    await expect(client.tokenRevokeSelf()).rejects.toMatchObject({
      response: { statusCode: 400, body: { errors: ['batch tokens cannot be revoked'] } },
    });
    expect(((await client.tokenLookupSelf()) as { data: { type: string } }).data.type).toBe('batch');
  });
});
