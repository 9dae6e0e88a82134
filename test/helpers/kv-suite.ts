import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect } from 'vitest';
import { createFakeClock } from '../../src/lib/clock.js';
import { recordSecrets } from './audit.js';
import { ADMIN_TOKEN, NGINX_ROLE, startHarness, type Harness } from './harness.js';
import { INVALID_TOKEN_MESSAGE } from '../../src/errors.js';

/*
 * The KV v2 end-to-end suites' shared setup: the app exactly as `authgate server` composes it
 * (ACL hook, policies from the config, tokens from Kubernetes logins, the default audit device),
 * driven through `inject`, with Vault's response shapes to compare with.
 */

export const clock = createFakeClock(Date.UTC(2026, 6, 1));
export const CAPS = ['create', 'read', 'update', 'patch', 'delete', 'list'] as const;
export type Cap = (typeof CAPS)[number];

export const POLICIES = {
  // The headline: one policy gives every namespace its own secrets, and nobody else's.
  'ns-secrets': {
    path: {
      'secret/data/{{identity.namespace}}/*': { capabilities: ['read'] },
      'secret/metadata/{{identity.namespace}}/*': { capabilities: ['list'] },
      'secret/data/{{identity.namespace}}/restricted/*': { capabilities: ['deny'] },
      'secret/metadata/{{identity.namespace}}/restricted/*': { capabilities: ['deny'] },
    },
  },
  'create-only': {
    path: {
      'secret/data/cu/*': { capabilities: ['create'] },
      'secret/metadata/cu/*': { capabilities: ['create'] },
    },
  },
  'update-only': {
    path: {
      'secret/data/cu/*': { capabilities: ['update'] },
      'secret/metadata/cu/*': { capabilities: ['update'] },
    },
  },
  // An exact grant next to a denied subtree: a non-list request for `fenced/` is in the subtree.
  fenced: {
    path: {
      'secret/metadata/fenced': { capabilities: ['create', 'update', 'delete', 'list'] },
      'secret/metadata/fenced/*': { capabilities: ['deny'] },
    },
  },
  // Everything under the mount but one secret, named exactly: however the request spells it.
  guarded: {
    path: {
      'secret/*': { capabilities: [...CAPS] },
      ...Object.fromEntries(
        ['metadata', 'delete', 'undelete', 'destroy', 'subkeys'].map((op) => [
          `secret/${op}/guarded/s`,
          { capabilities: ['deny'] },
        ]),
      ),
    },
  },
  ...Object.fromEntries(
    CAPS.flatMap((c) => [
      [`only-${c}`, { path: { 'secret/*': { capabilities: [c] } } }],
      [`all-but-${c}`, { path: { 'secret/*': { capabilities: CAPS.filter((x) => x !== c) } } }],
    ]),
  ),
};

export const role = (policies: string[], extra: Record<string, unknown> = {}) => ({
  ...NGINX_ROLE,
  token_policies: policies,
  ...extra,
});
export const ROLES = {
  workloads: {
    ...role(['ns-secrets']),
    bound_service_account_names: ['app'],
    bound_service_account_namespaces: ['team-a', 'team-b'],
  },
  once: role(['ns-secrets'], { token_num_uses: 2 }),
  ...Object.fromEntries(
    [
      'create-only',
      'update-only',
      'fenced',
      'guarded',
      ...CAPS.flatMap((c) => [`only-${c}`, `all-but-${c}`]),
    ].map((p) => [p, role([p])]),
  ),
};

let h: Harness;
/**
 * Registers the suite's harness (its own per test file): two KV mounts, the policies and roles
 * above, pods `app` in team-a and team-b.
 */
export const useKvHarness = (): void => {
  beforeAll(async () => {
    h = await startHarness({
      clock,
      roles: ROLES,
      config: { policies: POLICIES, secrets: { kv: { secret: {}, 'team/kv': {} } } },
    });
    for (const namespace of ['team-a', 'team-b'])
      h.cluster.createPod({ namespace, name: 'app', serviceAccount: 'app' });
  });
  afterAll(async () => {
    await h?.close();
  });
};
/** The harness that useKvHarness started (from a test or a hook after it). */
export const harness = (): Harness => h;

/** A distinctive secret value (one run of token characters, as the audit scan reads lines), recorded for it. */
export const secret = (label: string): string => {
  const value = `kvsecret-${label}-${randomBytes(8).toString('hex')}`;
  recordSecrets(value);
  return value;
};

export const tokenFor = async (roleName: string, namespace = 'test', sa = 'nginx', pod = 'nginx') => {
  const jwt = await h.podToken({ namespace, serviceAccount: sa, pod });
  const res = await h.login('kubernetes', { role: roleName, jwt });
  expect(res.status).toBe(200);
  return (res.json['auth'] as { client_token: string }).client_token;
};

export type Options = {
  token?: string | undefined;
  body?: unknown;
  type?: string;
  headers?: Record<string, string>;
};
export const call = async (method: string, url: string, o: Options = {}) => {
  const payload =
    o.body === undefined ? undefined : typeof o.body === 'string' ? o.body : JSON.stringify(o.body);
  const res = await h.server.app.inject({
    method: method as 'GET',
    url,
    headers: {
      ...(o.token === undefined ? {} : { 'x-vault-token': o.token }),
      ...(payload === undefined ? {} : { 'content-type': o.type ?? 'application/json' }),
      ...o.headers,
    },
    ...(payload === undefined ? {} : { payload }),
  });
  const location = res.headers['location'];
  return {
    status: res.statusCode,
    // A redirect's body is Go's HTML link (src/http/path-redirect.ts), not JSON.
    json:
      res.body === '' || res.statusCode === 301
        ? undefined
        : (res.json() as Record<string, unknown> & { errors?: unknown[] }),
    ...(typeof location === 'string' ? { location } : {}),
  };
};
export const MERGE = 'application/merge-patch+json';
export const admin = (method: string, url: string, body?: unknown, type?: string) =>
  call(method, url, { token: ADMIN_TOKEN, body, ...(type === undefined ? {} : { type }) });
export const dataOf = async (url: string) => (await admin('GET', url)).json?.['data'];

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** Vault's response envelope around `data`, as Vault answers KV v2 requests. */
export const envelope = (data: unknown, mountType = 'kv') => ({
  request_id: expect.stringMatching(UUID),
  lease_id: '',
  renewable: false,
  lease_duration: 0,
  data,
  wrap_info: null,
  warnings: null,
  auth: null,
  mount_type: mountType,
});
/** A time as Vault prints it (RFC 3339, no fraction when whole seconds). */
export const time = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');
/** Any time as Vault prints it, for tests on the real clock. */
export const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;
/** Vault's metadata of one version, as `data/` answers it; created at `createdMs`, or at any time. */
export const version = (n: number, createdMs?: number, extra: Record<string, unknown> = {}) => ({
  created_time: createdMs === undefined ? expect.stringMatching(RFC3339) : time(createdMs),
  custom_metadata: null,
  deletion_time: '',
  destroyed: false,
  version: n,
  ...extra,
});
export const DENIED = { status: 403, json: { errors: ['permission denied'] } };
/** A token that is not live (unknown, expired, revoked, used up): Vault's 403 with `invalid token`. */
export const INVALID = { status: 403, json: { errors: [INVALID_TOKEN_MESSAGE] } };
export const NOT_FOUND = { status: 404, json: { errors: [] } };
export const NO_CONTENT = { status: 204, json: undefined };
