import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config/index.js';
import { createFakeClock } from '../src/lib/clock.js';
import { readEntries } from './helpers/audit.js';
import { ADMIN_TOKEN, startHarness, withPayload, type Harness } from './helpers/harness.js';

/*
 * Vault's `bound_service_account_namespace_selector` end to end: a role admits the namespaces its
 * list names OR whose labels (read from the simulated API server with the reviewer token) match
 * its LabelSelector, on both verification modes.
 */

const clock = createFakeClock(Date.UTC(2026, 10, 30, 12, 0, 0));
const ROLES = {
  // Namespaces labelled team=web, or the listed `test`.
  web: {
    bound_service_account_names: ['app'],
    bound_service_account_namespaces: ['listed'],
    bound_service_account_namespace_selector: { matchLabels: { team: 'web' } },
    audience: 'vault',
    token_policies: ['web'],
  },
  // Vault's form: the selector as JSON text, and no namespace list at all.
  prod: {
    bound_service_account_names: ['*'],
    bound_service_account_namespace_selector:
      '{"matchExpressions":[{"key":"tier","operator":"In","values":["prod"]},{"key":"pci","operator":"DoesNotExist"}]}',
    audience: 'vault',
  },
  plain: {
    bound_service_account_names: ['app'],
    bound_service_account_namespaces: ['listed'],
    audience: 'vault',
  },
};

let h: Harness;
const namespaceReads = (name: string): number => h.cluster.stats().byPath[`/api/v1/namespaces/${name}`] ?? 0;
const tokenFor = (namespace: string, serviceAccount = 'app') =>
  h.podToken({ namespace, serviceAccount, pod: null as unknown as string });

beforeAll(async () => {
  h = await startHarness({
    clock,
    roles: ROLES,
    // The jwks mount reads namespaces with the same reviewer token (relative to the harness dir).
    mount: { token_reviewer_jwt_file: 'reviewer-token', namespace_cache_ttl: '30s' },
  });
  h.cluster.createNamespace('listed', { team: 'api' });
  h.cluster.createNamespace('web-a', { team: 'web' });
  h.cluster.createNamespace('api-a', { team: 'api' });
  h.cluster.createNamespace('shop', { tier: 'prod' });
  h.cluster.createNamespace('cards', { tier: 'prod', pci: 'yes' });
  for (const ns of ['listed', 'web-a', 'api-a', 'shop', 'cards']) h.cluster.createServiceAccount(ns, 'app');
  h.cluster.createServiceAccount('web-a', 'other');
});
afterAll(async () => {
  await h?.close();
});

describe.each(['kubernetes', 'jwks'])('a role with a namespace selector (%s mount)', (mount) => {
  it('admits a namespace whose labels match, with its metadata and policies', async () => {
    const r = await h.login(mount, { role: 'web', jwt: await tokenFor('web-a') });
    expect(r.status).toBe(200);
    const auth = r.json['auth'] as { policies: string[]; metadata: Record<string, string> };
    expect(auth.policies).toEqual(['default', 'web']);
    expect(auth.metadata).toMatchObject({ role: 'web', service_account_namespace: 'web-a' });
  });

  it('admits a listed namespace without reading its labels (the list and the selector are ORed)', async () => {
    const before = namespaceReads('listed');
    const r = await h.login(mount, { role: 'web', jwt: await tokenFor('listed') });
    expect(r.status).toBe(200);
    expect(namespaceReads('listed')).toBe(before);
  });

  it("refuses a namespace whose labels do not match, in Vault's words", async () => {
    const r = await h.login(mount, { role: 'web', jwt: await tokenFor('api-a') });
    expect(r).toMatchObject({ status: 403, json: { errors: ['namespace not authorized'] } });
  });

  it('applies matchExpressions given as JSON text (In, DoesNotExist)', async () => {
    expect((await h.login(mount, { role: 'prod', jwt: await tokenFor('shop') })).status).toBe(200);
    expect(await h.login(mount, { role: 'prod', jwt: await tokenFor('cards') })).toMatchObject({
      status: 403,
      json: { errors: ['namespace not authorized'] },
    });
  });

  it('still checks the service account name first', async () => {
    const r = await h.login(mount, { role: 'web', jwt: await tokenFor('web-a', 'other') });
    expect(r).toMatchObject({ status: 403, json: { errors: ['service account name not authorized'] } });
  });

  it('reads no labels for a forged token: the namespace of an unproven token never reaches the API server', async () => {
    h.cluster.createNamespace('forged-ns', { team: 'web' });
    const genuine = await tokenFor('web-a');
    const forged = withPayload(genuine, (p) => {
      (p['kubernetes.io'] as Record<string, unknown>)['namespace'] = 'forged-ns';
    });
    const r = await h.login(mount, { role: 'web', jwt: forged });
    expect(r.status).toBe(403);
    expect(namespaceReads('forged-ns')).toBe(0);
  });

  it('keeps the role without a selector as it was', async () => {
    expect(await h.login(mount, { role: 'plain', jwt: await tokenFor('web-a') })).toMatchObject({
      status: 403,
      json: { errors: ['namespace not authorized'] },
    });
  });
});

describe('the labels cache', () => {
  it('reads a namespace once for many logins within namespace_cache_ttl, concurrent ones too', async () => {
    h.cluster.createNamespace('burst', { team: 'web' });
    h.cluster.createServiceAccount('burst', 'app');
    const jwt = await tokenFor('burst');
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => h.login('jwks', { role: 'web', jwt })),
    );
    expect(answers.map((a) => a.status)).toEqual(Array(20).fill(200));
    expect(namespaceReads('burst')).toBe(1);
  });

  it('sees a label taken away once the cached labels lapse', async () => {
    h.cluster.createNamespace('relabel', { team: 'web' });
    h.cluster.createServiceAccount('relabel', 'app');
    const jwt = await tokenFor('relabel');
    expect((await h.login('jwks', { role: 'web', jwt })).status).toBe(200);
    h.cluster.createNamespace('relabel', { team: 'ops' });
    // Within the cache period the labels read before still hold.
    expect((await h.login('jwks', { role: 'web', jwt })).status).toBe(200);
    clock.advanceMs(31_000);
    expect(await h.login('jwks', { role: 'web', jwt })).toMatchObject({
      status: 403,
      json: { errors: ['namespace not authorized'] },
    });
    expect(namespaceReads('relabel')).toBe(2);
  });
});

describe('when the labels cannot be read', () => {
  it('answers 503 when the API server fails, caches nothing, and admits once it is back', async () => {
    h.cluster.createNamespace('flaky', { team: 'web' });
    h.cluster.createServiceAccount('flaky', 'app');
    const jwt = await tokenFor('flaky');
    // The jwks mount's keys are fetched already: the next call to the cluster is the namespace read.
    h.cluster.faults.failNext(1, 500);
    const down = await h.login('jwks', { role: 'web', jwt });
    expect(down.status).toBe(503);
    expect(down.json.errors?.[0]).toMatch(
      /cannot read the namespace's labels from the Kubernetes API server/,
    );
    expect((await h.login('jwks', { role: 'web', jwt })).status).toBe(200);
  });

  it('answers 503 when the API server cannot be reached at all', async () => {
    h.cluster.createNamespace('offline', { team: 'web' });
    h.cluster.createServiceAccount('offline', 'app');
    const jwt = await tokenFor('offline');
    await h.cluster.faults.refuseConnections(true);
    try {
      expect((await h.login('jwks', { role: 'web', jwt })).status).toBe(503);
    } finally {
      await h.cluster.faults.refuseConnections(false);
    }
  });

  it('refuses (403, fail closed) when the reviewer may not read namespaces, and names the reason in the audit', async () => {
    const other = await startHarness({
      clock,
      roles: ROLES,
      mount: { token_reviewer_jwt_file: 'reviewer-token' },
    });
    try {
      // A reviewer without the namespace reader binding: its own service account elsewhere.
      other.cluster.createServiceAccount('authgate', 'no-reads');
      other.cluster.grantAuthDelegator('authgate', 'no-reads');
      const { token } = await other.cluster.mintToken({
        namespace: 'authgate',
        serviceAccount: 'no-reads',
        expirationSeconds: 3600,
      });
      writeFileSync(join(other.dir, 'reviewer-token'), token);
      other.cluster.createNamespace('web-b', { team: 'web' });
      other.cluster.createServiceAccount('web-b', 'app');
      const { token: jwt } = await other.cluster.mintToken({
        namespace: 'web-b',
        serviceAccount: 'app',
        audiences: ['vault'],
      });
      const r = await other.login('jwks', { role: 'web', jwt });
      expect(r).toMatchObject({ status: 403, json: { errors: ['namespace not authorized'] } });
      const response = readEntries(other.auditFile as string).find((e) => e.type === 'response');
      expect(response?.authgate).toMatchObject({
        outcome: 'denied',
        reason: 'namespace_lookup_forbidden',
        detail: expect.stringContaining('cannot get resource "namespaces"'),
      });
    } finally {
      await other.close();
    }
  });
});

describe('role read and config', () => {
  it('shows the selector as configured: a mapping as JSON, a text as given', async () => {
    const read = async (role: string) => {
      const res = await h.server.app.inject({
        method: 'GET',
        url: `/v1/auth/kubernetes/role/${role}`,
        headers: { 'x-vault-token': ADMIN_TOKEN },
      });
      return (res.json() as { data: Record<string, unknown> }).data;
    };
    expect(await read('web')).toMatchObject({
      bound_service_account_namespaces: ['listed'],
      bound_service_account_namespace_selector: '{"matchLabels":{"team":"web"}}',
    });
    expect(await read('prod')).toMatchObject({
      bound_service_account_namespaces: [],
      bound_service_account_namespace_selector: ROLES.prod.bound_service_account_namespace_selector,
    });
    expect(await read('plain')).toMatchObject({ bound_service_account_namespace_selector: '' });
  });

  const configWith = (mount: Record<string, unknown>, role: Record<string, unknown>) =>
    JSON.stringify({
      auth: {
        kubernetes: {
          type: 'kubernetes',
          verification: 'tokenreview',
          kubernetes_host: 'https://kubernetes.example.com',
          token_reviewer_jwt_file: '/var/run/secrets/reviewer',
          ...mount,
          roles: { r: { bound_service_account_names: ['app'], audience: 'vault', ...role } },
        },
      },
    });
  const problems = (mount: Record<string, unknown>, role: Record<string, unknown>): string => {
    try {
      parseConfig(configWith(mount, role), { env: {} });
      return '';
    } catch (err) {
      return (err as Error).message;
    }
  };

  it.each([
    [
      'no namespaces and no selector',
      {},
      {},
      '"bound_service_account_namespaces" can not be empty if "bound_service_account_namespace_selector" is not set',
    ],
    [
      'an empty namespace list and no selector',
      {},
      { bound_service_account_namespaces: [] },
      'can not be empty if',
    ],
    [
      'a selector text that is neither JSON nor YAML',
      {},
      { bound_service_account_namespace_selector: '{"matchLabels": ' },
      'invalid "bound_service_account_namespace_selector" configured: the text is neither JSON nor YAML',
    ],
    [
      'a selector text nested a thousand deep (the yaml library would recurse past its stack)',
      {},
      { bound_service_account_namespace_selector: `${'- '.repeat(5000)}x` },
      'invalid "bound_service_account_namespace_selector" configured: the text is nested more than 64 levels deep',
    ],
    [
      "a string selector in kubectl's syntax",
      {},
      { bound_service_account_namespace_selector: 'team=web' },
      'invalid "bound_service_account_namespace_selector" configured: must be a LabelSelector object',
    ],
    [
      'an unknown operator',
      {},
      {
        bound_service_account_namespace_selector: {
          matchExpressions: [{ key: 'tier', operator: 'Gt', values: ['1'] }],
        },
      },
      '"Gt" is not a valid label selector operator',
    ],
    [
      'a misspelt field',
      {},
      { bound_service_account_namespace_selector: { matchlabels: { team: 'web' } } },
      'unknown field "matchlabels"',
    ],
    [
      'an empty selector (it would admit every namespace)',
      {},
      { bound_service_account_namespace_selector: { matchLabels: {} } },
      'selects every namespace',
    ],
    [
      'a selector on a mount without a reviewer token',
      { token_reviewer_jwt_file: undefined },
      { bound_service_account_namespace_selector: { matchLabels: { team: 'web' } } },
      "needs the mount's kubernetes_host and token_reviewer_jwt_file",
    ],
  ])('refuses %s, naming the field', (_what, mount, role, message) => {
    const text = problems(mount, role);
    expect(text).toContain('auth.kubernetes.roles.r.bound_service_account_namespace');
    expect(text).toContain(message);
  });

  it('takes a selector written as YAML text, as Vault does', () => {
    expect(problems({}, { bound_service_account_namespace_selector: 'matchLabels:\n  team: web\n' })).toBe(
      '',
    );
  });

  it('shows namespace_cache_ttl in the mount config read', async () => {
    const res = await h.server.app.inject({
      method: 'GET',
      url: '/v1/auth/kubernetes/config',
      headers: { 'x-vault-token': ADMIN_TOKEN },
    });
    expect((res.json() as { data: { authgate: Record<string, unknown> } }).data.authgate).toMatchObject({
      namespace_cache_ttl: 30,
    });
  });
});
