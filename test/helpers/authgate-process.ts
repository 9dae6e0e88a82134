import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const BIN = join(import.meta.dirname, '..', '..', 'bin', 'authgate.js');

export type Running = {
  child: ChildProcessWithoutNullStreams;
  output: () => string;
  exited: Promise<number | null>;
};

/** Runs the built `authgate` binary (npm test builds it first) with extra environment. */
export const runAuthgate = (args: string[], env: Record<string, string> = {}): Running => {
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env } });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  // 'close' comes after 'exit' once stdout and stderr are read to the end: the output is whole.
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { child, output: () => out, exited };
};

/** Polls `what` every 50 ms until it yields a match, or fails after `timeoutMs`. */
export const waitFor = async <T>(
  what: () => T | null | undefined | Promise<T | null | undefined>,
  timeoutMs = 15_000,
  label = 'output',
): Promise<T> => {
  const start = Date.now();
  for (;;) {
    const m = await what();
    if (m !== null && m !== undefined && m !== false) return m;
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${label}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};

export type AuthgateServer = Running & { url: string; stop(): Promise<number | null> };

/**
 * Writes `config` (an authgate.yaml as an object) to `dir/<name>.yaml` and runs
 * `authgate server --config` on it, with extra environment `env`; resolves once it listens.
 */
export const startAuthgateServer = async (
  dir: string,
  name: string,
  config: object,
  env: Record<string, string> = {},
): Promise<AuthgateServer> => {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, JSON.stringify(config));
  const proc = runAuthgate(['server', '--config', file], env);
  const url = await waitFor(
    () => /"event":"server\.listening","address":"(http[^"]+)"/.exec(proc.output())?.[1],
    15_000,
    `${name} to listen: ${proc.output()}`,
  );
  return {
    ...proc,
    url,
    stop: async () => {
      if (proc.child.exitCode === null) proc.child.kill('SIGTERM');
      return proc.exited;
    },
  };
};

/**
 * The status of `server`'s readiness check. When the call fails, the error carries the process's
 * exit code and the end of its log: a reset in one CI run turned out so to be authgate ending on
 * an unhandled socket error (src/store/redis-stream-guard.ts).
 */
export const readyStatus = async (server: AuthgateServer): Promise<number> => {
  try {
    return (await fetch(`${server.url}/v1/sys/health/ready`)).status;
  } catch (err) {
    const cause = (err as Error & { cause?: unknown }).cause;
    throw new Error(
      `readiness of ${server.url} failed (${String(cause ?? err)}; exit code ${String(server.child.exitCode)}): ` +
        server.output().slice(-2000),
      { cause: err },
    );
  }
};

/**
 * The exit code of `p`, once it has exited; fails, and kills it, when it has not exited in 15 s
 * (the bug a test of an exit looks for is often a process that never ends).
 */
export const exitCodeOf = async (p: Running): Promise<number | null> => {
  try {
    await waitFor(() => p.child.exitCode ?? p.child.signalCode ?? undefined, 15_000, 'the process to exit');
    return await p.exited;
  } finally {
    if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
  }
};
