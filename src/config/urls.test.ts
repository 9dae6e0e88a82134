import { describe, expect, it } from 'vitest';
import { configDoc, mountDoc, parseDoc, problemsOf } from './test-support.js';
import { isLoopbackHost, redactUrl, redisUrlProblem } from './urls.js';

describe('isLoopbackHost', () => {
  it.each([
    ['localhost', true],
    ['LOCALHOST', true],
    ['127.0.0.1', true],
    ['127.255.0.9', true],
    ['::1', true],
    ['[::1]', true],
    ['128.0.0.1', false],
    ['10.0.0.1', false],
    ['localhost.example.com', false],
    ['mylocalhost', false],
    ['[::2]', false],
    ['kubernetes.default.svc', false],
  ])('%s is loopback: %s', (host, expected) => {
    expect(isLoopbackHost(host)).toBe(expected);
  });
});

describe('redactUrl', () => {
  it.each([
    ['redis://:hunter2@127.0.0.1:6379', 'redis://***@127.0.0.1:6379'],
    ['rediss://app:hunter2@redis:6380/2', 'rediss://***@redis:6380/2'],
    // A raw `@` or `/` in the password: hidden whole, not cut at the first one.
    ['redis://:p@ss/w@rd@redis:6379', 'redis://***@redis:6379'],
    ['redis://redis:6379', 'redis://redis:6379'],
    ['http://127.0.0.1:8200/v1?user=a@b', 'http://127.0.0.1:8200/v1?user=a@b'],
    ['not a url', 'not a url'],
  ])('%s prints as %s', (url, printed) => {
    expect(redactUrl(url)).toBe(printed);
  });
});

type Field = 'kubernetes_host' | 'jwks.url' | 'jwks.oidc_discovery_url';

/** A mount whose `field` is `url`, otherwise valid for its verification mode. */
const docWith = (field: Field, url: string, allowInsecureHttp?: boolean) => {
  const insecure = allowInsecureHttp === undefined ? {} : { allow_insecure_http: allowInsecureHttp };
  const mount =
    field === 'kubernetes_host'
      ? mountDoc({ kubernetes_host: url, ...insecure })
      : mountDoc({
          verification: 'jwks',
          issuers: ['https://issuer.example'],
          jwks: { [field.slice('jwks.'.length)]: url },
          ...insecure,
        });
  return configDoc({ auth: { kubernetes: mount } });
};

/** 'ok', 'warned' (accepted with a config.insecure warning naming the field) or the problem's message. */
const outcome = (field: Field, url: string, allowInsecureHttp?: boolean) => {
  const doc = docWith(field, url, allowInsecureHttp);
  const problems = problemsOf(doc);
  if (problems.length > 0) {
    expect(problems.map((p) => p.path)).toEqual([`auth.kubernetes.${field}`]);
    return problems[0]?.message ?? '';
  }
  const config = parseDoc(doc);
  expect(config.mounts.get('kubernetes')?.allowInsecureHttp).toBe(allowInsecureHttp === true);
  const warned = config.warnings.filter((w) => w.startsWith(`auth.kubernetes.${field}:`));
  return warned.length > 0 ? 'warned' : 'ok';
};

const REFUSED = 'is refused: whoever can alter that traffic can forge logins';

describe.each<Field>(['kubernetes_host', 'jwks.url', 'jwks.oidc_discovery_url'])('%s', (field) => {
  it.each([
    ['https to any host', 'https://10.0.0.1:6443', undefined, 'ok'],
    ['https to a name', 'https://kubernetes.default.svc', undefined, 'ok'],
    ['http to 127.0.0.1', 'http://127.0.0.1:8080', undefined, 'ok'],
    ['http to elsewhere in 127/8', 'http://127.9.9.9', undefined, 'ok'],
    ['http to localhost', 'http://localhost:8001', undefined, 'ok'],
    ['http to ::1', 'http://[::1]:8001', undefined, 'ok'],
    ['http to loopback, allowed anyway', 'http://127.0.0.1:8080', true, 'ok'],
    ['http to a private address', 'http://10.0.0.1:6443', undefined, REFUSED],
    ['http to a name', 'http://kubernetes.default.svc', undefined, REFUSED],
    ['http to a name that starts with localhost', 'http://localhost.attacker.example', undefined, REFUSED],
    ['http with allow_insecure_http: false', 'http://10.0.0.1:6443', false, REFUSED],
    ['http with allow_insecure_http: true', 'http://10.0.0.1:6443', true, 'warned'],
    ['another scheme', 'ftp://10.0.0.1', true, 'expected an http(s) URL'],
    ['not a URL', 'kubernetes.default.svc', undefined, 'expected an http(s) URL'],
  ])('%s (%s, allow_insecure_http %s) → %s', (_what, url, allow, expected) => {
    const got = outcome(field, url, allow);
    if (expected === 'ok' || expected === 'warned') expect(got).toBe(expected);
    else expect(got).toContain(expected);
  });
});

it('names the setting to change when it refuses plain HTTP', () => {
  expect(outcome('kubernetes_host', 'http://10.0.0.1')).toContain('allow_insecure_http: true');
});

describe('redisUrlProblem', () => {
  it('accepts redis:// and rediss:// URLs with a host, and never quotes the value', () => {
    for (const ok of ['redis://127.0.0.1:6379', 'rediss://:p%23w@cache:6380/2', 'redis://user:pw@h'])
      expect(redisUrlProblem(ok)).toBeUndefined();
    expect(redisUrlProblem('http://x')).toBe('expected a redis:// or rediss:// URL');
    // Each would become an ioredis option that beats authgate's own.
    for (const withQuery of [
      'redis://h:6379/0?enableOfflineQueue=1',
      'redis://h?commandTimeout=0',
      'redis://h#x',
    ])
      expect(redisUrlProblem(withQuery)).toMatch(/^takes no query/);
    // A raw # ends the URL's authority early: the host would be wrong, and the password cut.
    for (const bad of ['redis://:zq#xv@host:6379', 'redis://:zq?xv@host', 'redis://:zqxv@']) {
      const problem = redisUrlProblem(bad);
      expect(problem).toMatch(/^not a valid URL/);
      expect(problem).not.toContain('zq');
    }
    // A % that begins no escape: the password cannot be decoded (it was "URI malformed" at start).
    for (const bad of ['redis://:zq%zzxv@host:6379', 'redis://zq%e0:pw@host', 'rediss://:zq%@host']) {
      const problem = redisUrlProblem(bad);
      expect(problem).toMatch(/percent-encoded.*%25/);
      expect(problem).not.toContain('zq');
    }
  });
});
