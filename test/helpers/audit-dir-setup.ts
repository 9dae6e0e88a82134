import { mkdirSync, rmSync } from 'node:fs';

/**
 * Creates the directory every test audit device writes under (vitest.config.ts names it) and
 * removes it after the run. Vitest runs this once per project: both steps are idempotent.
 */
export default function setup(): () => void {
  const dir = process.env['AUTHGATE_TEST_AUDIT_DIR'];
  if (dir === undefined) throw new Error('AUTHGATE_TEST_AUDIT_DIR is not set (see vitest.config.ts)');
  mkdirSync(dir, { recursive: true });
  return () => rmSync(dir, { recursive: true, force: true });
}
