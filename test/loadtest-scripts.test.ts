import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const K6_DIR = join(import.meta.dirname, '..', 'loadtest', 'k6');
const scripts = [
  ...readdirSync(K6_DIR).filter((f) => f.endsWith('.js')),
  ...readdirSync(join(K6_DIR, 'lib')).map((f) => join('lib', f)),
];

describe('the k6 scripts', () => {
  it('are all there', () => {
    expect(scripts).toEqual(
      expect.arrayContaining([
        'jwks-login.js',
        'tokenreview-login.js',
        'renew-storm.js',
        'mixed-validity.js',
        'fleet-restart.js',
        'login-kv-read.js',
        join('lib', 'config.js'),
      ]),
    );
  });

  it('take the login role from ROLE before the tokens file (loadtest/README.md: ROLE=nginx-batch for batch tokens)', () => {
    const source = execFileSync('cat', [join(K6_DIR, 'lib', 'config.js')]).toString();
    expect(source).toMatch(/role: __ENV\.ROLE \|\| t\.role \|\| ROLE/);
  });

  it.each(scripts)('%s parses as a JavaScript module', (script) => {
    // k6 resolves k6/* imports at run time; node --check parses the module without running it.
    expect(() =>
      execFileSync(process.execPath, ['--check', join(K6_DIR, script)], { stdio: 'pipe' }),
    ).not.toThrow();
  });

  it.each(scripts.filter((s) => !s.startsWith('lib')))(
    '%s declares options with thresholds and a default function',
    (script) => {
      const source = execFileSync('cat', [join(K6_DIR, script)]).toString();
      expect(source).toMatch(/export const options = \{/);
      expect(source).toMatch(/thresholds/);
      expect(source).toMatch(/executor: '(constant-arrival-rate|ramping-arrival-rate|shared-iterations)'/);
      expect(source).toMatch(/export default function/);
    },
  );
});
