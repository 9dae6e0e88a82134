import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { configDoc, kubernetesMount, mountDoc, parseDoc, problemsOf, roleDoc } from './test-support.js';

const TEN_YEARS = 315_360_000;
const dir = mkdtempSync(join(tmpdir(), 'authgate-durations-test-'));
const keyFile = join(dir, 'server.key');
writeFileSync(keyFile, 'k'.repeat(32));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Builds a document with one duration set at `path`; `read` finds its normalized value. */
type Case = {
  path: string;
  doc: (v: unknown) => Record<string, unknown>;
  read: (c: ReturnType<typeof parseDoc>) => number | undefined;
};
const mount = (over: Record<string, unknown>) => configDoc({ auth: { kubernetes: mountDoc(over) } });
const role = (over: Record<string, unknown>) => mount({ roles: { nginx: roleDoc(over) } });
const m = (c: ReturnType<typeof parseDoc>) => kubernetesMount(c);
const r = (c: ReturnType<typeof parseDoc>) => m(c)?.roles.get('nginx');
const jwks = (j: Record<string, unknown>) =>
  mount({
    verification: 'jwks',
    issuers: ['https://issuer.example'],
    jwks: { url: 'https://issuer.example/keys', ...j },
  });
const redis = (rd: Record<string, unknown>) =>
  configDoc({
    server_key_file: keyFile,
    store: { type: 'redis', redis: { url: 'redis://127.0.0.1:6379', ...rd } },
  });
const redisOf = (c: ReturnType<typeof parseDoc>) => (c.store.type === 'redis' ? c.store.redis : undefined);

const FIELDS: Record<string, Case> = {
  leeway: {
    path: 'auth.kubernetes.leeway',
    doc: (v) => mount({ leeway: v }),
    read: (c) => m(c)?.leewaySeconds,
  },
  token_ttl: {
    path: 'auth.kubernetes.roles.nginx.token_ttl',
    doc: (v) => role({ token_ttl: v }),
    read: (c) => r(c)?.tokenTtlSeconds,
  },
  token_max_ttl: {
    path: 'auth.kubernetes.roles.nginx.token_max_ttl',
    doc: (v) => role({ token_max_ttl: v }),
    read: (c) => r(c)?.tokenMaxTtlSeconds,
  },
  token_explicit_max_ttl: {
    path: 'auth.kubernetes.roles.nginx.token_explicit_max_ttl',
    doc: (v) => role({ token_explicit_max_ttl: v }),
    read: (c) => r(c)?.tokenExplicitMaxTtlSeconds,
  },
  token_period: {
    path: 'auth.kubernetes.roles.nginx.token_period',
    // The period may not pass the mount's max lease TTL, so both move together.
    doc: (v) =>
      mount({ default_lease_ttl: v, max_lease_ttl: v, roles: { nginx: roleDoc({ token_period: v }) } }),
    read: (c) => r(c)?.tokenPeriodSeconds,
  },
  default_lease_ttl: {
    path: 'auth.kubernetes.default_lease_ttl',
    doc: (v) => mount({ default_lease_ttl: v, max_lease_ttl: v }),
    read: (c) => m(c)?.defaultLeaseTtlSeconds,
  },
  max_lease_ttl: {
    path: 'auth.kubernetes.max_lease_ttl',
    doc: (v) => mount({ default_lease_ttl: v, max_lease_ttl: v }),
    read: (c) => m(c)?.maxLeaseTtlSeconds,
  },
  'tokenreview.timeout': {
    path: 'auth.kubernetes.tokenreview.timeout',
    doc: (v) => mount({ tokenreview: { timeout: v } }),
    read: (c) => (m(c)?.tokenReview.timeoutMs ?? 0) / 1000,
  },
  'jwks.timeout': {
    path: 'auth.kubernetes.jwks.timeout',
    doc: (v) => jwks({ timeout: v }),
    read: (c) => (m(c)?.jwks?.timeoutMs ?? 0) / 1000,
  },
  'store.redis.command_timeout': {
    path: 'store.redis.command_timeout',
    doc: (v) => redis({ command_timeout: v }),
    read: (c) => (redisOf(c)?.commandTimeoutMs ?? 0) / 1000,
  },
  'store.redis.connect_timeout': {
    path: 'store.redis.connect_timeout',
    doc: (v) => redis({ connect_timeout: v }),
    read: (c) => (redisOf(c)?.connectTimeoutMs ?? 0) / 1000,
  },
  'store.redis.confirm_timeout': {
    path: 'store.redis.confirm_timeout',
    doc: (v) => redis({ confirm_replicas: 1, confirm_timeout: v }),
    read: (c) => (redisOf(c)?.confirm?.timeoutMs ?? 0) / 1000,
  },
};

/** The normalized value in seconds, or the message of the one problem at the field. */
const outcome = (field: string, value: unknown): number | string => {
  const c = FIELDS[field];
  if (c === undefined) throw new TypeError(`no case for ${field}`);
  const problems = problemsOf(c.doc(value));
  if (problems.length === 0) return c.read(parseDoc(c.doc(value))) ?? NaN;
  expect(problems.map((p) => p.path)).toContain(c.path);
  return problems.map((p) => p.message).join('; ');
};

describe('leeway', () => {
  it.each([
    [0, 0],
    ['60s', 60],
    [300, 300],
    ['5m', 300],
  ])('accepts %j', (value, seconds) => {
    expect(outcome('leeway', value)).toBe(seconds);
  });
  it.each([301, '1h', '87600h'])('refuses %j: more than 300s disables the time checks', (value) => {
    expect(outcome('leeway', value)).toContain('300s at most');
  });
});

describe.each([
  'token_ttl',
  'token_max_ttl',
  'token_explicit_max_ttl',
  'token_period',
  'default_lease_ttl',
  'max_lease_ttl',
])('%s', (field) => {
  it.each([
    ['one hour', '1h', 3600],
    ['ten years', TEN_YEARS, TEN_YEARS],
    ['ten years in hours', '87600h', TEN_YEARS],
  ])('accepts %s', (_what, value, seconds) => {
    expect(outcome(field, value)).toBe(seconds);
  });
  it.each([
    ['ten years and a second', TEN_YEARS + 1],
    ['a thousand years', '8760000h'],
  ])('refuses %s', (_what, value) => {
    expect(outcome(field, value)).toContain('10 years (315360000s) at most');
  });
  it.each([
    ['twenty digits', '99999999999999999999'],
    ['1e300', 1e300],
  ])('refuses %s, which is no safe integer', (_what, value) => {
    expect(outcome(field, value)).toContain('expected a duration');
  });
});

describe.each([
  'tokenreview.timeout',
  'jwks.timeout',
  'store.redis.command_timeout',
  'store.redis.connect_timeout',
  'store.redis.confirm_timeout',
])('%s', (field) => {
  it.each([
    ['one second', 1, 1],
    ['a minute', '1m', 60],
    ["Node's timer limit", 2_147_483, 2_147_483],
  ])('accepts %s', (_what, value, seconds) => {
    expect(outcome(field, value)).toBe(seconds);
  });
  it.each([
    ['zero', 0],
    ['zero as a string', '0s'],
    ['less than a whole second', '500ms'],
    ["past Node's timer limit", '25d'],
  ])('refuses %s', (_what, value) => {
    expect(outcome(field, value)).toContain('between 1s and 2147483s');
  });
});
