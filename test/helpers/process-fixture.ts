import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEV_ROLE } from '../../src/cli/dev.js';
import { seedFirstSetup, startDevCluster, type DevCluster } from '../../src/devcluster/index.js';
import { recordSecrets } from './audit.js';

/**
 * What the tests of a real `authgate server` process share: a dev cluster seeded for the first
 * setup (namespace `test`, service account and pod `nginx`), and a directory holding a server key
 * and an admin token (`admin`), both recorded as secrets. `close()` stops the cluster and removes
 * the directory; stop the server first.
 */
export type ProcessFixture = {
  dir: string;
  admin: string;
  cluster: DevCluster;
  /** The start of an authgate.yaml: a free port, info logs, the key files of `dir`. */
  base: () => Record<string, unknown>;
  /** A jwks mount on the cluster's discovery document, with `roles` (default: `nginx`, the dev role). */
  jwksMount: (roles?: Record<string, unknown>, over?: Record<string, unknown>) => Record<string, unknown>;
  /** A projected token of `test/nginx` (pod `nginx`) for `audience`, recorded as a secret. */
  podToken: (audience?: string) => Promise<string>;
  close: () => Promise<void>;
};

export const startProcessFixture = async (name: string): Promise<ProcessFixture> => {
  const admin = `admin-${randomBytes(16).toString('hex')}`;
  recordSecrets(admin);
  const dir = mkdtempSync(join(tmpdir(), `authgate-${name}-`));
  const cluster = await startDevCluster();
  seedFirstSetup(cluster);
  writeFileSync(join(dir, 'server.key'), randomBytes(48).toString('base64'));
  writeFileSync(join(dir, 'admin-token'), admin);
  return {
    dir,
    admin,
    cluster,
    base: () => ({
      listener: { port: 0 },
      log: { level: 'info' },
      server_key_file: join(dir, 'server.key'),
      admin_token_file: join(dir, 'admin-token'),
    }),
    jwksMount: (roles = { nginx: DEV_ROLE }, over = {}) => ({
      type: 'kubernetes',
      verification: 'jwks',
      jwks: { oidc_discovery_url: cluster.url },
      issuers: [cluster.issuer],
      roles,
      ...over,
    }),
    podToken: async (audience = 'vault') => {
      const { token } = await cluster.mintToken({
        namespace: 'test',
        serviceAccount: 'nginx',
        audiences: [audience],
        pod: 'nginx',
      });
      recordSecrets(token);
      return token;
    },
    close: async () => {
      await cluster.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
};
