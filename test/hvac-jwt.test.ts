import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEV_POLICIES } from '../src/cli/dev.js';
import { runHvacScript } from './helpers/hvac.js';
import { ADMIN_TOKEN, clusterJwtMount, startHarness, type Harness } from './helpers/harness.js';

/*
 * The real Python client hvac, unchanged, against a jwt mount of authgate on a real port: the
 * pod's service-account token logs in through `client.auth.jwt.jwt_login`, as against Vault's JWT
 * method set up for a cluster (the dev config's mount `jwt`, role `nginx`).
 */

let h: Harness;
let url: string;
beforeAll(async () => {
  h = await startHarness({
    config: { policies: DEV_POLICIES },
    moreMounts: (cluster) => ({
      jwt: clusterJwtMount(cluster),
    }),
  });
  await h.server.app.listen({ host: '127.0.0.1', port: 0 });
  url = `http://127.0.0.1:${(h.server.app.server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await h?.close();
});

describe('hvac 0.11.2 (Python) against a jwt mount', () => {
  it("logs in with jwt_login, reads the role and config in Vault's shapes, and is refused in Vault's words", async () => {
    const run = await runHvacScript('hvac_jwt.py', h.dir, {
      AUTHGATE_URL: url,
      AUTHGATE_ADMIN_TOKEN: ADMIN_TOKEN,
      POD_JWT: await h.podToken(),
      OTHER_JWT: await h.podToken({ audiences: ['elsewhere'] }),
      LOGIN_MOUNT: 'jwt',
      LOGIN_ROLE: 'nginx',
    });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const summary = JSON.parse(run.stdout) as Record<string, unknown>;
    expect(summary).toMatchObject({
      mount_type: 'jwt',
      login: {
        policies: ['default', 'nginx'],
        metadata: {
          role: 'nginx',
          service_account_namespace: 'test',
          service_account_name: 'nginx',
          pod_name: 'nginx',
        },
        lease_duration: 3600,
        renewable: true,
        token_type: 'service',
      },
      lookup_self: { display_name: 'jwt-system:serviceaccount:test:nginx', path: 'auth/jwt/login' },
      refused: {
        exception: 'InvalidRequest',
        errors: [
          'error validating token: invalid audience (aud) claim: audience claim does not match any expected audience',
        ],
      },
      role: {
        role_type: 'jwt',
        bound_audiences: ['vault'],
        bound_subject: 'system:serviceaccount:test:nginx',
        user_claim: 'sub',
        token_ttl: 3600,
      },
      roles: ['nginx'],
      config: {
        jwks_url: `${h.cluster.url}/openid/v1/jwks`,
        bound_issuer: h.cluster.issuer,
        oidc_discovery_url: '',
      },
      revoked: 204,
    });
  });
});
