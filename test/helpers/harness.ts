import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { composeServer, type ComposedServer } from '../../src/cli/compose.js';
import { DEV_ROLE } from '../../src/cli/dev.js';
import { parseConfig } from '../../src/config/index.js';
import {
  REVIEWER,
  seedFirstSetup,
  startDevCluster,
  type DevCluster,
  type DevClusterOptions,
} from '../../src/devcluster/index.js';
import type { Clock } from '../../src/lib/clock.js';
import { createMemoryStore } from '../../src/store/index.js';
import { createLogger } from '../../src/telemetry/index.js';

export const ADMIN_TOKEN = 'test-admin-token-0123456789abcdef';

export type HarnessOptions = {
  clock?: Clock;
  cluster?: DevClusterOptions;
  /** Extra YAML merged into each mount (as an object). */
  mount?: Record<string, unknown>;
  /** Extra settings of the jwks mount's `jwks` section. */
  jwks?: Record<string, unknown>;
  /** Roles of each mount; default: `nginx` bound to test/nginx, audience vault. */
  roles?: Record<string, Record<string, unknown>>;
  /** The `listener` section (e.g. trusted_proxies). */
  listener?: Record<string, unknown>;
};

export type Harness = {
  cluster: DevCluster;
  server: ComposedServer;
  dir: string;
  /** Writes a fresh reviewer token file, as the kubelet's rotation would. */
  rotateReviewer(): Promise<void>;
  login(
    mount: string,
    body: unknown,
  ): Promise<{ status: number; json: Record<string, unknown> & { errors?: string[] } }>;
  podToken(opts?: {
    namespace?: string;
    serviceAccount?: string;
    pod?: string;
    audiences?: string[];
    expirationSeconds?: number;
  }): Promise<string>;
  close(): Promise<void>;
};

export const NGINX_ROLE = DEV_ROLE;

/**
 * A simulated cluster (real HTTP) and an authgate composed exactly as `authgate server` composes
 * it, with two mounts: `kubernetes` (tokenreview) and `jwks` (OIDC discovery from the cluster).
 * Requests go through Fastify's `inject`.
 */
export const startHarness = async (options: HarnessOptions = {}): Promise<Harness> => {
  const cluster = await startDevCluster({
    ...(options.clock ? { clock: options.clock } : {}),
    ...options.cluster,
  });
  seedFirstSetup(cluster);
  const dir = mkdtempSync(join(tmpdir(), 'authgate-test-'));
  const reviewerFile = join(dir, 'reviewer-token');
  const rotateReviewer = async () => {
    const { token } = await cluster.mintToken({ ...REVIEWER, expirationSeconds: 3600 });
    writeFileSync(reviewerFile, token);
  };
  await rotateReviewer();
  const roles = options.roles ?? { nginx: NGINX_ROLE };
  const mountBase = {
    type: 'kubernetes',
    kubernetes_host: cluster.url,
    issuers: [cluster.issuer],
    roles,
    ...options.mount,
  };
  const config = parseConfig(
    JSON.stringify({
      log: { level: 'silent' },
      ...(options.listener ? { listener: options.listener } : {}),
      auth: {
        kubernetes: { ...mountBase, verification: 'tokenreview', token_reviewer_jwt_file: reviewerFile },
        jwks: {
          ...mountBase,
          verification: 'jwks',
          jwks: { oidc_discovery_url: cluster.url, ...options.jwks },
        },
      },
    }),
    { env: {}, baseDir: dir },
  );
  const clock = options.clock;
  const server = composeServer(config, {
    ...(clock ? { clock } : {}),
    log: createLogger('silent'),
    adminToken: ADMIN_TOKEN,
    ...(clock ? { store: createMemoryStore({ clock, sweepIntervalMs: 0 }) } : {}),
  });
  await server.app.ready();
  return {
    cluster,
    server,
    dir,
    rotateReviewer,
    login: async (mount, body) => {
      const res = await server.app.inject({
        method: 'POST',
        url: `/v1/auth/${mount}/login`,
        payload: typeof body === 'string' ? body : JSON.stringify(body),
        headers: { 'content-type': 'application/json' },
      });
      return { status: res.statusCode, json: res.body === '' ? {} : (res.json() as Record<string, unknown>) };
    },
    podToken: async (o = {}) => {
      const { token } = await cluster.mintToken({
        namespace: o.namespace ?? 'test',
        serviceAccount: o.serviceAccount ?? 'nginx',
        audiences: o.audiences ?? ['vault'],
        expirationSeconds: o.expirationSeconds ?? 7200,
        ...(o.pod === null ? {} : { pod: o.pod ?? 'nginx' }),
      });
      return token;
    },
    close: async () => {
      await server.close();
      await cluster.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
};

/** Base64url JSON segment, for hand-made tokens. */
export const segment = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

/** Replaces the payload of a signed token, keeping its header and (now invalid) signature. */
export const withPayload = (jwt: string, edit: (payload: Record<string, unknown>) => void): string => {
  const [h, p, s] = jwt.split('.');
  const payload = JSON.parse(Buffer.from(p ?? '', 'base64url').toString()) as Record<string, unknown>;
  edit(payload);
  return `${h}.${segment(payload)}.${s}`;
};
