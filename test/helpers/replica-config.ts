import { join } from 'node:path';
import { DEV_ROLE } from '../../src/cli/dev.js';

/**
 * The config both replicas share: one Redis (a URL, a Redis Cluster's seed nodes, or the whole
 * `store.redis` section), one server key, one admin token.
 */
export const replicaConfig = (
  clusterUrl: string,
  issuer: string,
  redis: string | Array<{ host: string; port: number }> | Record<string, unknown>,
  configDir: string,
) => ({
  listener: { port: 0 },
  log: { level: 'info' },
  store: {
    type: 'redis',
    redis:
      typeof redis === 'string' ? { url: redis } : Array.isArray(redis) ? { cluster_nodes: redis } : redis,
  },
  server_key_file: join(configDir, 'server.key'),
  admin_token_file: join(configDir, 'admin-token'),
  auth: {
    kubernetes: {
      type: 'kubernetes',
      kubernetes_host: clusterUrl,
      token_reviewer_jwt_file: join(configDir, 'reviewer-token'),
      verification: 'tokenreview',
      issuers: [issuer],
      roles: {
        nginx: DEV_ROLE,
        once: { ...DEV_ROLE, token_num_uses: 1 },
        // Lives 1 s. A max TTL counts from the whole second of issue: one of 1 s would let a token
        // live anywhere from 0 to 1 s.
        brief: { ...DEV_ROLE, token_ttl: '1s', token_max_ttl: '2s' },
      },
    },
    jwks: {
      type: 'kubernetes',
      verification: 'jwks',
      jwks: { oidc_discovery_url: clusterUrl, cooldown: '0s' },
      issuers: [issuer],
      roles: { nginx: DEV_ROLE },
    },
  },
});
