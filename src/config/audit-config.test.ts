import { describe, expect, it } from 'vitest';
import { configDoc, parseDoc, problemsOf } from './test-support.js';

describe('the audit section', () => {
  it('is empty when absent: nothing is audited', () => {
    expect(parseDoc(configDoc()).audit).toEqual([]);
  });

  it('lists devices in file order with defaults, file paths resolved against the config directory', () => {
    const config = parseDoc(
      configDoc({
        audit: {
          file: { type: 'file', path: 'audit/authgate.log' },
          out: { type: 'stdout', prefix: 'AUDIT ', hmac_accessor: false, timeout: '5s' },
          redis: { type: 'redis', max_len: 5000 },
        },
      }),
      '/etc/authgate',
    );
    expect(config.audit).toEqual([
      {
        name: 'file',
        type: 'file',
        path: '/etc/authgate/audit/authgate.log',
        hmacAccessor: true,
        prefix: '',
        timeoutMs: 2000,
        maxLen: 100_000,
      },
      {
        name: 'out',
        type: 'stdout',
        path: undefined,
        hmacAccessor: false,
        prefix: 'AUDIT ',
        timeoutMs: 5000,
        maxLen: 100_000,
      },
      {
        name: 'redis',
        type: 'redis',
        path: undefined,
        hmacAccessor: true,
        prefix: '',
        timeoutMs: 2000,
        maxLen: 5000,
      },
    ]);
  });

  it('reports every misuse of a device option with its path', () => {
    const problems = problemsOf(
      configDoc({
        audit: {
          nopath: { type: 'file' },
          pathless: { type: 'stdout', path: '/tmp/x' },
          long: { type: 'file', path: '/tmp/a', max_len: 10 },
          prefixed: { type: 'redis', prefix: 'x' },
        },
      }),
    ).map((p) => `${p.path}: ${p.message}`);
    expect(problems).toEqual([
      'audit.nopath.path: is required for a file device',
      'audit.pathless.path: is only used by a file device',
      'audit.long.max_len: is only used by a redis device',
      'audit.prefixed.prefix: is only used by file and stdout devices',
    ]);
  });

  it('refuses unknown types, fields and badly named devices', () => {
    const problems = problemsOf(
      configDoc({
        audit: {
          odd: { type: 'syslog' },
          'bad name': { type: 'stdout' },
          extra: { type: 'stdout', format: 'jsonx' },
        },
      }),
    ).map((p) => `${p.path}: ${p.message}`);
    expect(problems.sort()).toEqual([
      "audit.bad name: audit device names are letters, digits, '-' and '_'",
      'audit.extra.format: unknown field',
      'audit.odd.type: expected "file", "stdout" or "redis"',
    ]);
  });

  it('bounds the wait for a device: at least one second', () => {
    expect(problemsOf(configDoc({ audit: { slow: { type: 'stdout', timeout: '0s' } } }))).toEqual([
      expect.objectContaining({ path: 'audit.slow.timeout' }),
    ]);
  });
});
