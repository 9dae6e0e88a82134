import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { composeServer, type ComposeOptions, type ComposedServer } from '../../src/cli/compose.js';
import { DEV_JWT_ROLE, DEV_ROLE } from '../../src/cli/dev.js';
import { parseConfig } from '../../src/config/index.js';
import {
  REVIEWER,
  seedFirstSetup,
  startDevCluster,
  type DevCluster,
  type DevClusterOptions,
} from '../../src/devcluster/index.js';
import type { Clock } from '../../src/lib/clock.js';
import { createMemoryStore, type Store } from '../../src/store/index.js';
import { createLogger, type Logger } from '../../src/telemetry/index.js';
import { auditFile, recordAuthSecrets, recordSecrets } from './audit.js';

export const ADMIN_TOKEN = 'test-admin-token-0123456789abcdef';

export type HarnessOptions = {
  clock?: Clock;
  cluster?: DevClusterOptions;
  /** Extra YAML merged into each mount (as an object). */
  mount?: Record<string, unknown>;
  /** Extra settings of the jwks mount's `jwks` section. */
  jwks?: Record<string, unknown>;
  /** A `jwks` section for the tokenreview mount (its signature prefilter), made from the cluster. */
  tokenreviewJwks?: (cluster: DevCluster) => Record<string, unknown>;
  /** Roles of each mount; default: `nginx` bound to test/nginx, audience vault. */
  roles?: Record<string, Record<string, unknown>>;
  /** Telemetry of the composed server (e.g. an in-memory span exporter). */
  telemetry?: ComposeOptions['telemetry'];
  /** The `listener` section (e.g. trusted_proxies). */
  listener?: Record<string, unknown>;
  /**
   * The `audit` section. Default: one file device `test` writing under the suite's audit
   * directory (so that every test's entries are scanned for secrets); `null`: no auditing.
   */
  audit?: Record<string, unknown> | null;
  /** The store (default: a memory store). */
  store?: Store;
  /** The server key (default: a random one): two harnesses over one store share tokens with one. */
  serverKey?: Buffer;
  /**
   * Whether harnesses over one `store` share verification state (reviews, key sets) as replicas
   * on Redis do. Default false.
   */
  sharedCaches?: boolean;
  /** The logger (default: silent). */
  log?: Logger;
  /** Where `stdout` audit devices write. */
  auditStdout?: NodeJS.WritableStream;
  /** More top-level settings (`policies`, `policy_dir`, `secrets`, `identity`). */
  config?: Record<string, unknown>;
  /** The mounts' paths (default `kubernetes` for tokenreview, `jwks` for jwks). */
  mountPaths?: { tokenreview?: string; jwks?: string };
  /** More auth mounts (e.g. of type jwt), by path, made once the cluster runs. */
  moreMounts?: (cluster: DevCluster) => Record<string, unknown>;
  /**
   * What `authgate server` gives from its listener TLS (`inject` has no listener); the real one
   * is tested in test/listener-tls-reload-process.test.ts.
   */
  listenerCertificateExpiry?: () => number | undefined;
};

export type Harness = {
  cluster: DevCluster;
  server: ComposedServer;
  dir: string;
  /** The default audit device's file, when the harness configured it. */
  auditFile: string | undefined;
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
  /**
   * A second gateway composed from the same config, store and server key (another replica of the
   * same cluster's gateway); closed with the harness. Needs `store`, `serverKey` and `sharedCaches`.
   */
  replica(): Promise<Pick<Harness, 'server' | 'login'>>;
  close(): Promise<void>;
};

export const NGINX_ROLE = DEV_ROLE;

/**
 * A jwt mount (Vault's JWT method) over `cluster`'s keys, as the dev config's `auth/jwt`: role
 * `nginx`, test/nginx by its subject, audience `vault`, the namespace, service account and pod
 * mapped into the token's metadata. For `moreMounts`.
 */
export const clusterJwtMount = (cluster: DevCluster) => ({
  type: 'jwt',
  jwks_url: `${cluster.url}/openid/v1/jwks`,
  bound_issuer: cluster.issuer,
  roles: { nginx: DEV_JWT_ROLE },
});

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
  const defaultAuditFile = options.audit === undefined ? auditFile('harness') : undefined;
  const audit =
    options.audit === undefined
      ? { test: { type: 'file', path: defaultAuditFile } }
      : (options.audit ?? undefined);
  const config = parseConfig(
    JSON.stringify({
      log: { level: 'silent' },
      ...(options.listener ? { listener: options.listener } : {}),
      ...(audit === undefined ? {} : { audit }),
      ...options.config,
      auth: {
        [options.mountPaths?.tokenreview ?? 'kubernetes']: {
          ...mountBase,
          verification: 'tokenreview',
          token_reviewer_jwt_file: reviewerFile,
          ...(options.tokenreviewJwks ? { jwks: options.tokenreviewJwks(cluster) } : {}),
        },
        [options.mountPaths?.jwks ?? 'jwks']: {
          ...mountBase,
          verification: 'jwks',
          jwks: { oidc_discovery_url: cluster.url, ...options.jwks },
        },
        ...options.moreMounts?.(cluster),
      },
    }),
    { env: {}, baseDir: dir },
  );
  const clock = options.clock;
  const store = options.store ?? (clock ? createMemoryStore({ clock, sweepIntervalMs: 0 }) : undefined);
  const compose = () =>
    composeServer(config, {
      ...(clock ? { clock } : {}),
      log: options.log ?? createLogger('silent'),
      adminToken: ADMIN_TOKEN,
      ...(store ? { store } : {}),
      ...(options.serverKey ? { serverKey: options.serverKey } : {}),
      ...(options.sharedCaches === true ? { sharedCaches: true } : {}),
      ...(options.auditStdout ? { auditStdout: options.auditStdout } : {}),
      ...(options.telemetry ? { telemetry: options.telemetry } : {}),
      ...(options.listenerCertificateExpiry
        ? { listenerCertificateExpiry: options.listenerCertificateExpiry }
        : {}),
    });
  const server = compose();
  await server.app.ready();
  const replicas: ComposedServer[] = [];
  const loginVia =
    (via: ComposedServer): Harness['login'] =>
    async (mount, body) => {
      const res = await via.app.inject({
        method: 'POST',
        url: `/v1/auth/${mount}/login`,
        payload: typeof body === 'string' ? body : JSON.stringify(body),
        headers: { 'content-type': 'application/json' },
      });
      const json = res.body === '' ? {} : (res.json() as Record<string, unknown>);
      recordAuthSecrets(json);
      return { status: res.statusCode, json };
    };
  return {
    cluster,
    server,
    dir,
    auditFile: defaultAuditFile,
    rotateReviewer,
    login: loginVia(server),
    replica: async () => {
      if (options.store === undefined || options.serverKey === undefined || options.sharedCaches !== true)
        throw new TypeError('a replica needs the harness’s store, serverKey and sharedCaches');
      const other = compose();
      replicas.push(other);
      await other.app.ready();
      return { server: other, login: loginVia(other) };
    },
    podToken: async (o = {}) => {
      const { token } = await cluster.mintToken({
        namespace: o.namespace ?? 'test',
        serviceAccount: o.serviceAccount ?? 'nginx',
        audiences: o.audiences ?? ['vault'],
        expirationSeconds: o.expirationSeconds ?? 7200,
        ...(o.pod === null ? {} : { pod: o.pod ?? 'nginx' }),
      });
      recordSecrets(token);
      return token;
    },
    close: async () => {
      for (const other of replicas) await other.close();
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

/** A request with `token` (`X-Vault-Token`); a string body is sent as is. `text` is the raw answer. */
export const callWith = async <J = Record<string, unknown>>(
  h: Pick<Harness, 'server'>,
  method: 'GET' | 'POST' | 'PUT' | 'DELETE',
  url: string,
  token: string,
  body?: unknown,
) => {
  const res = await h.server.app.inject({
    method,
    url,
    headers: {
      'x-vault-token': token,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { payload: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  return { status: res.statusCode, text: res.body, json: res.body === '' ? undefined : res.json<J>() };
};

/** A request with the admin token; a string body is sent as is. `text` is the raw answer. */
export const adminCall = <J = Record<string, unknown>>(
  h: Pick<Harness, 'server'>,
  method: 'GET' | 'POST' | 'PUT' | 'DELETE',
  url: string,
  body?: unknown,
) => callWith<J>(h, method, url, ADMIN_TOKEN, body);

/**
 * Logs the harness's pod in through `jwks` with login role `nginx` (whose policy must grant `read`
 * on `identity/oidc/token/<role>`) and asks for an identity token of `role`.
 */
export const signIdentityToken = async (h: Harness, role = 'web') => {
  const login = await h.login('jwks', { role: 'nginx', jwt: await h.podToken() });
  if (login.status !== 200) throw new Error(`login answered ${login.status}`);
  const res = await h.server.app.inject({
    url: `/v1/identity/oidc/token/${role}`,
    headers: { 'x-vault-token': (login.json['auth'] as { client_token: string }).client_token },
  });
  return { status: res.statusCode, json: res.json<{ data?: { token: string }; errors?: string[] }>() };
};
