import { execFile } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { recordSecrets } from './audit.js';

/** Debian's interpreter, whose python3-hvac (0.11.2) the hvac tests drive. */
const PYTHON = '/usr/bin/python3';

export type HvacRun = { code: number; stdout: string; stderr: string };

/**
 * Runs a script of test/helpers with Debian's python3 (asynchronously: the server answers it from
 * this process) with only `env`, PATH and a HOME of its own (`dir`): no proxy, VAULT_TOKEN or
 * ~/.vault-token of the machine applies. The script writes the tokens it saw to `SECRETS_FILE`,
 * one a line; they are recorded for the audit secrets scan.
 */
export const runHvacScript = async (
  script: string,
  dir: string,
  env: Record<string, string>,
): Promise<HvacRun> => {
  const secretsFile = join(dir, `${script}-secrets.txt`);
  rmSync(secretsFile, { force: true });
  const options = {
    // No __pycache__ beside the scripts (hvac_common is imported): the source tree stays clean.
    env: {
      PATH: process.env['PATH'] ?? '',
      HOME: dir,
      SECRETS_FILE: secretsFile,
      PYTHONDONTWRITEBYTECODE: '1',
      ...env,
    },
    timeout: 15_000,
  };
  let run: HvacRun;
  try {
    run = { code: 0, ...(await promisify(execFile)(PYTHON, [join(import.meta.dirname, script)], options)) };
  } catch (err) {
    const e = err as { code?: unknown; stdout?: string; stderr?: string };
    run = { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
  if (existsSync(secretsFile)) recordSecrets(...readFileSync(secretsFile, 'utf8').split('\n'));
  return run;
};
