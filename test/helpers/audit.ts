import { randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseEntryLine, type AuditEntry } from '../../src/audit/index.js';

/**
 * Every audit device the tests configure writes under one directory, which vitest.config.ts
 * names (`AUTHGATE_TEST_AUDIT_DIR`), and every token, JWT and accessor the tests see is recorded
 * there too; `test/audit-secrets-scan.test.ts` runs after every other test file and checks that
 * no line of any of those files holds one of them in plaintext.
 */
export const auditTestDir = (): string => {
  const dir = process.env['AUTHGATE_TEST_AUDIT_DIR'];
  if (dir === undefined || dir === '')
    throw new Error('AUTHGATE_TEST_AUDIT_DIR is not set (see vitest.config.ts)');
  mkdirSync(join(dir, 'secrets'), { recursive: true });
  return dir;
};

/** `authgate.login` of a successful login of the harness's pod `test/nginx` through `kubernetes`. */
export const NGINX_LOGIN = {
  mount: 'kubernetes',
  role: 'nginx',
  namespace: 'test',
  service_account: 'nginx',
  pod: 'nginx',
  verified: true,
} as const;

/** A fresh audit file path under the shared directory (`<label>-<pid>-<random>.log`). */
export const auditFile = (label: string): string =>
  join(auditTestDir(), `${label}-${process.pid}-${randomBytes(4).toString('hex')}.log`);

/** Records secrets a test has seen (tokens, JWTs, accessors), for the final scan. */
export const recordSecrets = (...values: Array<string | undefined>): void => {
  const lines = values.filter((v): v is string => typeof v === 'string' && v !== '');
  if (lines.length === 0) return;
  appendFileSync(join(auditTestDir(), 'secrets', `${process.pid}.txt`), `${lines.join('\n')}\n`);
};

/** Records the token and accessor of a Vault answer's `auth` block, if any. */
export const recordAuthSecrets = (json: unknown): void => {
  const auth = (json as { auth?: { client_token?: unknown; accessor?: unknown } } | undefined)?.auth;
  if (auth === undefined || auth === null) return;
  recordSecrets(
    typeof auth.client_token === 'string' ? auth.client_token : undefined,
    typeof auth.accessor === 'string' ? auth.accessor : undefined,
  );
};

/** The entries of an audit file (empty when it does not exist yet). */
export const readEntries = (path: string): AuditEntry[] =>
  existsSync(path)
    ? readFileSync(path, 'utf8')
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => parseEntryLine(l) as AuditEntry)
    : [];

/** Every `.log` file under `dir`, at any depth. */
export const auditLogFiles = (dir: string): string[] =>
  existsSync(dir)
    ? readdirSync(dir, { recursive: true, encoding: 'utf8' })
        .filter((f) => f.endsWith('.log'))
        .map((f) => join(dir, f))
    : [];

/** Every secret recorded by any test process so far. */
export const recordedSecrets = (dir: string): Set<string> => {
  const secrets = new Set<string>();
  const secretsDir = join(dir, 'secrets');
  if (!existsSync(secretsDir)) return secrets;
  for (const f of readdirSync(secretsDir)) {
    for (const line of readFileSync(join(secretsDir, f), 'utf8').split('\n'))
      if (line !== '') secrets.add(line);
  }
  return secrets;
};
