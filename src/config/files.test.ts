import { generateKeyPairSync } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from './load.js';
import { TEST_CERT as CERT, TEST_KEY as KEY, configDoc, parseDoc, problemsOf } from './test-support.js';

const OTHER_KEY = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  .privateKey.export({ type: 'pkcs8', format: 'pem' })
  .toString();

const dir = mkdtempSync(join(tmpdir(), 'authgate-files-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
/** Writes `content` to a fresh file in the test directory and returns its name (relative). */
const fileWith = (content: string): string => {
  const name = `f${(n += 1)}`;
  writeFileSync(join(dir, name), content);
  return name;
};

const problemsAt = (doc: Record<string, unknown>) =>
  problemsOf(doc, dir).map((p) => `${p.path}: ${p.message}`);

describe('server_key_file', () => {
  it.each([
    ['exactly 32 bytes', 'k'.repeat(32), 'k'.repeat(32)],
    ['a base64 key with a newline', `${'a'.repeat(64)}\n`, 'a'.repeat(64)],
    ['32 bytes of multi-byte characters', '\u00e9'.repeat(16), '\u00e9'.repeat(16)],
  ])('accepts %s and carries the trimmed key', (_what, content, key) => {
    const config = parseDoc(configDoc({ server_key_file: fileWith(content) }), dir);
    expect(config.serverKey?.toString('utf8')).toBe(key);
  });

  it.each([
    ['an empty file', '', '0 bytes'],
    ['31 bytes', 'k'.repeat(31), '31 bytes'],
    ['31 bytes padded with spaces', `  ${'k'.repeat(31)} \n`, '31 bytes'],
  ])('refuses %s', (_what, content, holds) => {
    const name = fileWith(content);
    expect(problemsAt(configDoc({ server_key_file: name }))).toEqual([
      `server_key_file: ${join(dir, name)} holds ${holds}; at least 32 are required`,
    ]);
  });

  it('refuses a missing file', () => {
    expect(problemsAt(configDoc({ server_key_file: 'missing.key' }))).toEqual([
      expect.stringMatching(/^server_key_file: cannot read .*missing\.key: ENOENT/),
    ]);
  });

  it('reads the files AUTHGATE_SERVER_KEY_FILE and AUTHGATE_ADMIN_TOKEN_FILE name, and checks them alike', () => {
    const env = {
      AUTHGATE_SERVER_KEY_FILE: join(dir, fileWith('e'.repeat(40))),
      AUTHGATE_ADMIN_TOKEN_FILE: join(dir, fileWith('t'.repeat(20))),
    };
    const config = parseConfig(JSON.stringify(configDoc()), { env, baseDir: dir });
    expect(config.serverKey?.toString()).toBe('e'.repeat(40));
    expect(config.adminToken).toBe('t'.repeat(20));
    const short = { AUTHGATE_SERVER_KEY_FILE: join(dir, fileWith('e'.repeat(8))) };
    expect(() => parseConfig(JSON.stringify(configDoc()), { env: short, baseDir: dir })).toThrow(ConfigError);
  });
});

describe('admin_token_file', () => {
  it.each([
    ['16 characters', 'a'.repeat(16)],
    ['a long token with a newline', `agadmin.${'x'.repeat(32)}\n`],
  ])('accepts %s and carries the trimmed token', (_what, content) => {
    expect(parseDoc(configDoc({ admin_token_file: fileWith(content) }), dir).adminToken).toBe(content.trim());
  });

  it.each([
    ['an empty file', ''],
    ['15 characters', 'a'.repeat(15)],
    ['15 characters and whitespace', ` ${'a'.repeat(15)}\n\n`],
  ])('refuses %s', (_what, content) => {
    const name = fileWith(content);
    expect(problemsAt(configDoc({ admin_token_file: name }))).toEqual([
      `admin_token_file: ${join(dir, name)} holds a token shorter than 16 characters`,
    ]);
  });

  it('refuses a missing file', () => {
    expect(problemsAt(configDoc({ admin_token_file: 'missing' }))[0]).toMatch(
      /^admin_token_file: cannot read/,
    );
  });
});

describe('listener TLS files', () => {
  const listener = (cert: string, key: string) =>
    configDoc({ listener: { tls_cert_file: cert, tls_key_file: key } });

  it('accepts a certificate and its key, carries both and warns of no plain listener', () => {
    const config = parseDoc(listener(fileWith(CERT), fileWith(KEY)), dir);
    expect(config.listener.tls?.cert.toString()).toBe(CERT);
    expect(config.listener.tls?.key.toString()).toBe(KEY);
    expect(config.warnings.some((w) => w.includes('no TLS'))).toBe(false);
  });

  it.each([
    [
      'a missing certificate',
      () => listener('missing.crt', fileWith(KEY)),
      'listener.tls_cert_file: cannot read',
    ],
    ['a missing key', () => listener(fileWith(CERT), 'missing.key'), 'listener.tls_key_file: cannot read'],
    [
      'a certificate file holding no certificate',
      () => listener(fileWith('hello'), fileWith(KEY)),
      'listener.tls_cert_file:',
    ],
    [
      'a key file holding a certificate',
      () => listener(fileWith(CERT), fileWith(CERT)),
      'listener.tls_key_file:',
    ],
    [
      'a key that is not the certificate’s',
      () => listener(fileWith(CERT), fileWith(OTHER_KEY)),
      'listener.tls_key_file: ',
    ],
  ])('refuses %s', (_what, doc, start) => {
    const problems = problemsAt(doc());
    expect(problems).toHaveLength(1);
    expect(problems[0]?.startsWith(start)).toBe(true);
  });

  it('names the mismatch', () => {
    expect(problemsAt(listener(fileWith(CERT), fileWith(OTHER_KEY)))[0]).toContain(
      'is not the private key of the certificate',
    );
  });

  it('reports every bad file at once', () => {
    const doc = configDoc({
      listener: { tls_cert_file: 'no.crt', tls_key_file: 'no.key' },
      server_key_file: fileWith('short'),
      admin_token_file: fileWith('short'),
    });
    expect(problemsAt(doc).map((p) => p.split(':')[0])).toEqual([
      'listener.tls_cert_file',
      'listener.tls_key_file',
      'server_key_file',
      'admin_token_file',
    ]);
  });
});

describe('secret files open to every user', () => {
  it.each([
    ['server_key_file', 'k'.repeat(32)],
    ['admin_token_file', 'a'.repeat(24)],
  ])('warns when %s can be read by others, not when only its group can', (field, content) => {
    const name = fileWith(content);
    chmodSync(join(dir, name), 0o644);
    const warnings = parseDoc(configDoc({ [field]: name }), dir).warnings;
    expect(warnings).toContain(
      `${field}: ${join(dir, name)} is open to every user of the machine (mode 0644); make it 0600 or 0400`,
    );
    chmodSync(join(dir, name), 0o440);
    expect(parseDoc(configDoc({ [field]: name }), dir).warnings.filter((w) => w.startsWith(field))).toEqual(
      [],
    );
  });

  it('warns for each previous encryption key file others can read, by its place in the list', () => {
    const [kept, open] = [fileWith('p'.repeat(32)), fileWith('q'.repeat(32))];
    chmodSync(join(dir, kept), 0o600);
    chmodSync(join(dir, open), 0o604);
    const doc = configDoc({ secrets: { previous_encryption_key_files: [kept, open] } });
    expect(parseDoc(doc, dir).warnings.filter((w) => w.startsWith('secrets.'))).toEqual([
      `secrets.previous_encryption_key_files.1: ${join(dir, open)} is open to every user of the machine (mode 0604); make it 0600 or 0400`,
    ]);
  });
});
