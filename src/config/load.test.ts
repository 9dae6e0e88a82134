import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, MAX_CONFIG_BYTES, parseConfig } from './load.js';
import { kubernetesMount } from './test-support.js';
import type { AuthgateConfig } from './types.js';

// The redis store requires a server key file, and config reads it (at least 32 bytes).
const keyDir = mkdtempSync(join(tmpdir(), 'authgate-load-test-'));
const KEY_FILE = join(keyDir, 'server.key');
writeFileSync(KEY_FILE, 'k'.repeat(32));
const NOT_PEM = join(keyDir, 'not.pem');
const EMPTY = join(keyDir, 'empty');
writeFileSync(EMPTY, ' \n');
writeFileSync(NOT_PEM, 'not a certificate\n');
afterAll(() => rmSync(keyDir, { recursive: true, force: true }));

const VALID = `
listener:
  port: 8300
auth:
  kubernetes:
    type: kubernetes
    kubernetes_host: https://10.0.0.1:6443/
    verification: tokenreview
    roles:
      Nginx:
        bound_service_account_names: [nginx]
        bound_service_account_namespaces: [test]
        audience: vault
        token_ttl: 1h
        token_max_ttl: "24h"
        token_bound_cidrs: [10.0.0.0/8]
`;

const problemsOf = (text: string) => {
  try {
    parseConfig(text, { env: {} });
    return [];
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return err.problems;
  }
};

describe('parseConfig', () => {
  it('normalizes a valid config with defaults and durations in seconds', () => {
    const c = parseConfig(VALID, { env: {} });
    expect(c.listener).toMatchObject({ address: '127.0.0.1', port: 8300, tls: undefined });
    const m = kubernetesMount(c);
    expect(m?.kubernetesHost).toBe('https://10.0.0.1:6443');
    expect(m?.leewaySeconds).toBe(60);
    expect(m?.allowedAlgorithms).toEqual(['RS256', 'ES256']);
    expect(m?.tokenReview.cacheTtlSeconds).toBe(60);
    const role = m?.roles.get('nginx');
    expect(role).toMatchObject({ tokenTtlSeconds: 3600, tokenMaxTtlSeconds: 86400, audience: 'vault' });
    expect(c.warnings.some((w) => w.includes('TLS'))).toBe(true);
  });

  it('bounds the time a client has to send its request: 30s, or listener.request_timeout', () => {
    expect(parseConfig(VALID, { env: {} }).listener.requestTimeoutMs).toBe(30_000);
    const set = VALID.replace('  port: 8300', '  port: 8300\n  request_timeout: 2m');
    expect(parseConfig(set, { env: {} }).listener.requestTimeoutMs).toBe(120_000);
    for (const bad of ['0', '"soon"', '500ms']) {
      const problems = problemsOf(VALID.replace('  port: 8300', `  port: 8300\n  request_timeout: ${bad}`));
      expect(problems.map((p) => p.path)).toEqual(['listener.request_timeout']);
    }
  });

  it('applies AUTHGATE_* overrides', () => {
    const c = parseConfig(VALID, { env: { AUTHGATE_PORT: '9999', AUTHGATE_LOG_LEVEL: 'debug' } });
    expect(c.listener.port).toBe(9999);
    expect(c.log.level).toBe('debug');
  });

  it('reports a bad env override like a bad file value, naming the variable', () => {
    expect(problemsOf(VALID.replace('8300', '8300')).length).toBe(0);
    try {
      parseConfig(VALID, { env: { AUTHGATE_PORT: 'eighty' } });
      expect.unreachable();
    } catch (err) {
      expect((err as ConfigError).problems).toEqual([
        { path: 'listener.port (from AUTHGATE_PORT)', message: 'must be integer' },
      ]);
    }
  });

  it.each([
    ['log', 'log: debug', { AUTHGATE_LOG_LEVEL: 'info' }],
    ['listener', 'listener: 8200', { AUTHGATE_PORT: '8300', AUTHGATE_LISTEN_ADDRESS: '0.0.0.0' }],
    ['store', 'store: redis', { AUTHGATE_REDIS_URL: 'redis://cache:6379' }],
  ])(
    'reports a %s section that is not a mapping, whatever the environment overrides in it',
    (section, line, env) => {
      const text = `${VALID.replace(/^listener:\n(?: {2}.*\n)*/m, '')}\n${line}\n`;
      try {
        parseConfig(text, { env });
        expect.unreachable();
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        expect((err as ConfigError).problems).toContainEqual(
          expect.objectContaining({ path: section, message: 'must be object' }),
        );
      }
    },
  );

  it('reports every mistake with its path and line, not just the first', () => {
    const bad = `
auth:
  kubernetes:
    type: kubernetes
    verification: magic
    allowed_algorithms: [HS256, none]
    roles:
      web:
        bound_service_account_names: []
        bound_service_account_namespaces: [test]
        token_ttl: forever
        colour: blue
`;
    const problems = problemsOf(bad);
    const paths = problems.map((p) => p.path);
    expect(paths).toContain('auth.kubernetes.verification');
    expect(paths).toContain('auth.kubernetes.allowed_algorithms.0');
    expect(paths).toContain('auth.kubernetes.allowed_algorithms.1');
    expect(paths).toContain('auth.kubernetes.roles.web.bound_service_account_names');
    expect(paths).toContain('auth.kubernetes.roles.web.colour');
    expect(problems.find((p) => p.path === 'auth.kubernetes.verification')).toMatchObject({
      line: 5,
      message: 'expected "tokenreview" or "jwks"',
    });
  });

  it('refuses a role without an audience unless explicitly allowed', () => {
    const noAud = VALID.replace('        audience: vault\n', '');
    expect(problemsOf(noAud).map((p) => p.path)).toEqual(['auth.kubernetes.roles.Nginx.audience']);
    const allowed = noAud.replace('token_ttl: 1h', 'token_ttl: 1h\n        allow_missing_audience: true');
    const c = parseConfig(allowed, { env: {} });
    expect(kubernetesMount(c)?.roles.get('nginx')?.audience).toBeUndefined();
    expect(c.warnings.some((w) => w.includes('no audience'))).toBe(true);
  });

  it.each([
    [
      'ttl above max ttl',
      VALID.replace('token_ttl: 1h', 'token_ttl: 48h'),
      "'token_ttl' cannot be greater than 'token_max_ttl'",
    ],
    ['a bad CIDR', VALID.replace('10.0.0.0/8', '10.0.0.0/40'), 'invalid CIDR "10.0.0.0/40"'],
    ['mixing * with names', VALID.replace('[nginx]', '["*", nginx]'), 'can not mix "*" with values'],
    [
      'tokenreview without host',
      VALID.replace('    kubernetes_host: https://10.0.0.1:6443/\n', ''),
      'is required when verification is "tokenreview" (no host provided)',
    ],
    [
      'jwks without a source',
      VALID.replace('verification: tokenreview', 'verification: jwks\n    issuers: [x]'),
      'exactly one of file, url or oidc_discovery_url must be set when verification is "jwks"',
    ],
    ['an unknown top-level field', `${VALID}\nextra: 1\n`, 'unknown field'],
  ])('refuses %s', (_what, text, message) => {
    expect(problemsOf(text).map((p) => p.message)).toContain(message);
  });

  it('calls a file with no authgate section another kind of file, without repeating its keys', () => {
    const shadow = 'root:$6$c2VjcmV0aGFzaA:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n';
    const problems = problemsOf(shadow);
    expect(problems).toHaveLength(1);
    expect(problems[0]?.message).toMatch(/^not an authgate configuration: none of its 2 top-level keys/);
    expect(JSON.stringify(problems)).not.toContain('c2VjcmV0aGFzaA');
    // One known section is enough for the usual report, unknown fields named.
    expect(problemsOf(`${VALID}\nroot:$6$x:::\n`).map((p) => p.path)).toContain('root:$6$x::');
  });

  it('reads a file with a %YAML 1.1 directive as YAML 1.2: no merge keys, no 1.1 booleans or sexagesimals', () => {
    const text = `%YAML 1.1
---
listener:
  port: 8300
telemetry:
  metrics: off
auth:
  kubernetes:
    type: kubernetes
    kubernetes_host: https://10.0.0.1:6443/
    verification: tokenreview
    roles:
      nginx: &r
        bound_service_account_names: [nginx]
        bound_service_account_namespaces: [test]
        audience: vault
      web:
        <<: *r
        bound_service_account_names: [web]
`;
    expect(problemsOf(text).map((p) => p.path)).toEqual([
      'auth.kubernetes.roles.web.<<',
      'telemetry.metrics',
    ]);
    // Without those, the 1.1 sexagesimal is a string, and no duration.
    const timeout = `%YAML 1.1\n---\n${VALID.replace('  port: 8300', '  port: 8300\n  request_timeout: 1:30')}`;
    expect(problemsOf(timeout).map((p) => p.path)).toEqual(['listener.request_timeout']);
  });

  it.each(['127.0.0.1', '::1', '0.0.0.0', 'authgate.example.internal', 'fe80::1%eth0'])(
    'takes listener.address %s',
    (address) => {
      expect(problemsOf(VALID.replace('  port: 8300', `  port: 8300\n  address: "${address}"`))).toEqual([]);
    },
  );

  it('refuses a listener.address that is no address nor host name, with its path', () => {
    const text = VALID.replace('  port: 8300', '  port: 8300\n  address: "no such host.invalid"');
    expect(problemsOf(text)).toEqual([
      expect.objectContaining({ path: 'listener.address', message: 'expected an IP address or a host name' }),
    ]);
  });

  it('refuses a file over 1 MiB before parsing it', () => {
    const big = `${VALID}\n# ${'x'.repeat(MAX_CONFIG_BYTES)}\n`;
    expect(problemsOf(big)).toEqual([
      { path: '', message: 'the file is larger than 1024 KiB: is it the configuration?' },
    ]);
  });

  it('reports YAML syntax errors with their line', () => {
    const problems = problemsOf('auth:\n  k: [unclosed\n');
    expect(problems.length).toBeGreaterThan(0);
    expect(problems[0]?.line).toBeDefined();
  });
});

describe('store configuration', () => {
  it('defaults to the memory store', () => {
    expect(parseConfig(VALID, { env: {} }).store).toEqual({ type: 'memory', keyPrefix: 'ag:' });
  });

  it('requires a shared server key with redis', () => {
    const text = `${VALID}\nstore:\n  type: redis\n  redis:\n    url: redis://127.0.0.1:6379\n`;
    expect(problemsOf(text).map((p) => p.path)).toContain('server_key_file');
  });

  it('takes AUTHGATE_REDIS_URL as a standalone redis store', () => {
    const c = parseConfig(`${VALID}\nserver_key_file: ${KEY_FILE}\n`, {
      env: { AUTHGATE_REDIS_URL: 'redis://cache:6380/2' },
    });
    expect(c.store).toMatchObject({
      type: 'redis',
      redis: { url: 'redis://cache:6380/2', commandTimeoutMs: 1000 },
    });
  });

  it.each([
    [
      'no mode',
      '    username: app\n',
      'exactly one of url, sentinels or cluster_nodes must be set (or AUTHGATE_REDIS_URL)',
    ],
    [
      'two modes',
      '    url: redis://a:1\n    cluster_nodes: [{host: a, port: 1}]\n',
      'exactly one of url, sentinels or cluster_nodes must be set (or AUTHGATE_REDIS_URL)',
    ],
    ['a bad URL', '    url: http://a:1\n', 'expected a redis:// or rediss:// URL'],
    [
      'an unreadable password file',
      '    url: redis://a:1\n    password_file: /nonexistent/pw\n',
      'cannot read /nonexistent/pw',
    ],
    // Else Redis would be asked with no password at all, and a rotation to an empty file taken.
    ['an empty password file', `    url: redis://a:1\n    password_file: ${EMPTY}\n`, `${EMPTY} is empty`],
    // Else TLS fails at each connection, saying the server's certificate is wrong.
    [
      'a CA file that holds no certificate',
      `    url: rediss://a:1\n    tls: {ca_file: ${NOT_PEM}}\n`,
      `${NOT_PEM} holds no PEM certificate`,
    ],
    [
      'a client certificate without its key',
      `    url: rediss://a:1\n    tls: {cert_file: ${KEY_FILE}}\n`,
      'give cert_file and key_file together',
    ],
    [
      'a client certificate file that holds none',
      `    url: rediss://a:1\n    tls: {cert_file: ${NOT_PEM}, key_file: ${NOT_PEM}}\n`,
      `${NOT_PEM} holds no PEM certificate`,
    ],
    [
      "the sentinels' user outside Sentinel mode",
      '    url: redis://a:1\n    sentinel_username: app\n',
      'is only used with sentinels',
    ],
    [
      "the sentinels' password outside Sentinel mode",
      `    cluster_nodes: [{host: a, port: 1}]\n    sentinel_password_file: ${KEY_FILE}\n`,
      'is only used with sentinels',
    ],
    [
      'replication confirmation with a cluster',
      '    cluster_nodes: [{host: a, port: 1}]\n    confirm_replicas: 1\n',
      'is not supported with cluster_nodes',
    ],
    [
      'a confirmation timeout without replicas',
      '    url: redis://a:1\n    confirm_timeout: 2s\n',
      'is only used with confirm_replicas',
    ],
    ['a negative replica count', '    url: redis://a:1\n    confirm_replicas: -1\n', 'must be >= 0'],
    [
      "an unreadable sentinels' password file",
      '    sentinels: [{host: s1, port: 26379}]\n    sentinel_password_file: /nonexistent/spw\n',
      'cannot read /nonexistent/spw',
    ],
  ])('refuses %s', (_what, redis, message) => {
    const text = `${VALID}\nserver_key_file: ${KEY_FILE}\nstore:\n  type: redis\n  redis:\n${redis}`;
    expect(problemsOf(text).some((p) => p.message.startsWith(message))).toBe(true);
  });

  it('reads the replication confirmation: off by default, a 1 s wait unless told', () => {
    const base = `${VALID}\nserver_key_file: ${KEY_FILE}\nstore:\n  type: redis\n  redis:\n    url: redis://a:1\n`;
    expect(parseConfig(base).store).not.toHaveProperty('redis.confirm');
    expect(parseConfig(`${base}    confirm_replicas: 0\n`).store).not.toHaveProperty('redis.confirm');
    expect(parseConfig(`${base}    confirm_replicas: 2\n`).store).toMatchObject({
      redis: { confirm: { replicas: 2, timeoutMs: 1000 } },
    });
    expect(parseConfig(`${base}    confirm_replicas: 1\n    confirm_timeout: 3s\n`).store).toMatchObject({
      redis: { confirm: { replicas: 1, timeoutMs: 3000 } },
    });
  });

  it('reads sentinel settings', () => {
    const text = `${VALID}\nserver_key_file: ${KEY_FILE}\nstore:\n  type: redis\n  redis:\n    sentinels: [{host: s1, port: 26379}]\n    sentinel_name: primary\n`;
    expect(parseConfig(text, { env: {} }).store).toMatchObject({
      type: 'redis',
      redis: { sentinels: [{ host: 's1', port: 26379 }], sentinelName: 'primary' },
    });
  });

  it("reads the sentinels' own credentials, and drops them with the rest of Sentinel mode for AUTHGATE_REDIS_URL", () => {
    const text = `${VALID}\nserver_key_file: ${KEY_FILE}\nstore:\n  type: redis\n  redis:\n    sentinels: [{host: s1, port: 26379}]\n    sentinel_username: watcher\n    sentinel_password_file: ${KEY_FILE}\n`;
    const { redis } = parseConfig(text, { env: {} }).store as Extract<
      AuthgateConfig['store'],
      { type: 'redis' }
    >;
    expect(redis).toMatchObject({
      sentinelUsername: 'watcher',
      sentinelPassword: readFileSync(KEY_FILE, 'utf8').trim(),
    });
    const overridden = parseConfig(text, { env: { AUTHGATE_REDIS_URL: 'redis://r:6379' } }).store;
    expect(overridden).toEqual({
      type: 'redis',
      keyPrefix: 'ag:',
      redis: { url: 'redis://r:6379', commandTimeoutMs: 1000, connectTimeoutMs: 2000, files: {} },
    });
  });
});
