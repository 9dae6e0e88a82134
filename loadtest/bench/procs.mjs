/**
 * The processes under test: `authgate dev` and the bare Fastify baseline, started as children and
 * always killed again (normal end, error, SIGINT), plus their CPU time and RSS read from /proc.
 */
import { spawn, execFileSync } from 'node:child_process';
import { createServer } from 'node:net';
import {
  appendFileSync,
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  readFileSync,
  symlinkSync,
} from 'node:fs';
import { join } from 'node:path';
// Timers are imported, not global: loadtest/'s lint config declares only process and console.
import { clearTimeout, setTimeout } from 'node:timers';
import { setTimeout as sleep } from 'node:timers/promises';
import { URL, fileURLToPath } from 'node:url';

/** The repository root (two levels above this file). */
export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** How long a child may take to print its address before the bench gives up, ms. */
const START_TIMEOUT_MS = 30_000;
/** How long a child gets to exit after SIGTERM before SIGKILL, ms (authgate's own grace is 10 s). */
const STOP_GRACE_MS = 12_000;
/** How much of a child's output is kept for the error message when it dies, characters. */
const OUTPUT_TAIL_CHARS = 4000;

/** @type {Set<import('node:child_process').ChildProcess>} every child not yet known to have exited */
const live = new Set();

/**
 * Kills every child still running with SIGKILL, synchronously. For `process.on('exit')` and fatal
 * paths, where nothing asynchronous runs any more; never throws.
 */
export const killAllNow = () => {
  for (const child of live) {
    try {
      child.kill('SIGKILL');
    } catch {
      // Already gone.
    }
  }
  live.clear();
};

/**
 * Stops every child still running: SIGTERM, then SIGKILL for any still there after `graceMs`.
 * Resolves when all have exited. For an interrupted bench, so that authgate removes its own
 * temporary files (and writes its CPU profile) on the way out.
 *
 * @param {number} graceMs
 */
export const stopAll = async (graceMs) => {
  const children = [...live];
  const exited = children.map((child) =>
    child.exitCode !== null || child.signalCode !== null
      ? Promise.resolve()
      : new Promise((done) => child.once('exit', done)),
  );
  for (const child of children) child.kill('SIGTERM');
  const timer = sleep(graceMs).then(() => 'timeout');
  if ((await Promise.race([Promise.all(exited), timer])) === 'timeout') killAllNow();
  await Promise.all(exited);
};

/**
 * @typedef {object} Child
 * @property {number} pid
 * @property {string} name
 * @property {() => string | undefined} exitReport  undefined while the child runs; once it has
 *   exited, its exit code or signal and the last {@link OUTPUT_TAIL_CHARS} characters it printed
 * @property {() => string} outputTail  the last {@link OUTPUT_TAIL_CHARS} characters it printed so
 *   far (a failed run shows it: the gateway logs why it refused or failed a request)
 * @property {() => Promise<void>} stop  SIGTERM, then SIGKILL after a grace; resolves once it has exited
 */

/**
 * Spawns `<command> <args>` (default command: this node) in `cwd` (default: the repository root)
 * as a tracked child, and resolves when a stdout line matches `ready` (its first capture group, if
 * any, is returned as `address`). Rejects, with the child's output, when the child exits first or
 * does not print the line within {@link START_TIMEOUT_MS}.
 *
 * @param {{ name: string, command?: string, args: string[], cwd?: string, env?: Record<string, string>, ready: RegExp, logFile?: string }} spec
 * @returns {Promise<Child & { address: string }>}
 */
export const startChild = (spec) =>
  new Promise((resolve, reject) => {
    const child = spawn(spec.command ?? process.execPath, spec.args, {
      cwd: spec.cwd ?? REPO_ROOT,
      env: { ...process.env, ...spec.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    live.add(child);
    let tail = '';
    let pending = '';
    let started = false;
    const exited = new Promise((done) => child.once('exit', done));
    void exited.then(() => live.delete(child));
    const keep = (chunk) => {
      if (spec.logFile !== undefined) appendFileSync(spec.logFile, chunk);
      tail = (tail + chunk).slice(-OUTPUT_TAIL_CHARS);
    };
    const handle = {
      pid: /** @type {number} */ (child.pid),
      name: spec.name,
      outputTail: () => tail,
      exitReport: () =>
        child.exitCode === null && child.signalCode === null
          ? undefined
          : `${spec.name} (pid ${child.pid}) exited (${child.signalCode ?? child.exitCode}); its last output:\n${tail}`,
      stop: async () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        child.kill('SIGTERM');
        const timer = sleep(STOP_GRACE_MS).then(() => 'timeout');
        if ((await Promise.race([exited, timer])) === 'timeout') {
          child.kill('SIGKILL');
          await exited;
        }
      },
    };
    const timeout = setTimeout(() => {
      fail(new Error(`${spec.name} did not start within ${START_TIMEOUT_MS} ms`));
    }, START_TIMEOUT_MS);
    const fail = (err) => {
      if (started) return;
      started = true;
      clearTimeout(timeout);
      child.kill('SIGKILL');
      reject(new Error(`${err.message}\n--- ${spec.name} output ---\n${tail}`));
    };
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    // Both pipes are drained for the whole life of the child, or it would block on a full pipe.
    child.stderr.on('data', keep);
    child.stdout.on('data', (chunk) => {
      keep(chunk);
      if (started) return;
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        const match = spec.ready.exec(line);
        if (match) {
          started = true;
          clearTimeout(timeout);
          resolve({ ...handle, address: match[1] ?? '' });
          return;
        }
      }
    });
    child.once('error', fail);
    child.once('exit', (code, signal) => fail(new Error(`${spec.name} exited (${signal ?? code})`)));
  });

/**
 * @typedef {object} DevGateway
 * @property {number} pid  the gateway's process
 * @property {number} apiServerPid  the simulated API server's process (`dev --cluster-process`),
 *   as a real API server is never in the gateway's process
 * @property {string} gatewayUrl
 * @property {string} clusterUrl
 * @property {string} clusterAdminToken
 * @property {string} adminToken  the gateway's admin token (writes the secrets a scenario reads)
 * @property {() => string | undefined} exitReport  see {@link Child}
 * @property {() => string} outputTail  see {@link Child}
 * @property {() => Promise<void>} stop
 */

/**
 * Copies the built gateway (dist/, bin/, package.json) into `dir`, with node_modules linked, and
 * returns `dir`: every scenario then runs the same build even if someone rebuilds dist/ in the
 * work tree while the bench runs. Throws when dist/ is not built.
 *
 * @param {string} dir  a new directory
 */
export const snapshotBuild = (dir) => {
  if (!existsSync(join(REPO_ROOT, 'dist', 'cli', 'main.js'))) {
    throw new Error('dist/ is not built: run `npm run build` (npm run bench does)');
  }
  mkdirSync(dir, { recursive: true });
  cpSync(join(REPO_ROOT, 'dist'), join(dir, 'dist'), { recursive: true });
  cpSync(join(REPO_ROOT, 'bin'), join(dir, 'bin'), { recursive: true });
  copyFileSync(join(REPO_ROOT, 'package.json'), join(dir, 'package.json'));
  symlinkSync(join(REPO_ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  return dir;
};

/**
 * Starts `node bin/authgate.js dev --port 0 --cluster-process` from `appDir` (a
 * {@link snapshotBuild}) with `AUTHGATE_LOG_LEVEL=warn`, reads its state file and finds its
 * simulated API server, the one child process it has. `nodeArgs` go before the script (e.g.
 * `--cpu-prof`), `devArgs` after `dev` (e.g. `--redis URL`).
 *
 * @param {{ appDir: string, stateDir: string, nodeArgs?: string[], devArgs?: string[], logFile?: string }} opts
 * @returns {Promise<DevGateway>}
 */
export const startDevGateway = async ({ appDir, stateDir, nodeArgs = [], devArgs = [], logFile }) => {
  const statePath = join(stateDir, `authgate-dev-${Date.now()}-${Math.random().toString(36).slice(2)}.json`);
  const child = await startChild({
    name: 'authgate dev',
    cwd: appDir,
    args: [
      ...nodeArgs,
      'bin/authgate.js',
      'dev',
      '--port',
      '0',
      '--cluster-port',
      '0',
      '--cluster-process',
      ...devArgs,
    ],
    env: { AUTHGATE_DEV_STATE: statePath, AUTHGATE_LOG_LEVEL: 'warn' },
    ready: /Gateway:\s+(\S+)/,
    ...(logFile === undefined ? {} : { logFile }),
  });
  // dev writes the state file before it prints the banner.
  const state = JSON.parse(readFileSync(statePath, 'utf8'));
  if (state.pid !== child.pid) {
    await child.stop();
    throw new Error(`authgate dev state file names pid ${state.pid}, the child is ${child.pid}`);
  }
  const children = readProc(child.pid, `task/${child.pid}/children`).trim().split(/\s+/).filter(Boolean);
  if (children.length !== 1) {
    await child.stop();
    throw new Error(`authgate dev has ${children.length} child processes, expected its simulated API server`);
  }
  return {
    pid: child.pid,
    apiServerPid: Number(children[0]),
    gatewayUrl: state.gatewayAddress,
    clusterUrl: state.clusterUrl,
    clusterAdminToken: state.clusterAdminToken,
    adminToken: state.adminToken,
    exitReport: child.exitReport,
    outputTail: child.outputTail,
    stop: child.stop,
  };
};

/**
 * Starts loadtest/bench/baseline-server.mjs, which verifies against `jwks` (the cluster's
 * `{"keys":[…]}` document) on `POST /verify`.
 *
 * @param {{ jwks: string }} opts
 * @returns {Promise<Child & { url: string }>}
 */
export const startBaseline = async ({ jwks }) => {
  const child = await startChild({
    name: 'baseline server',
    args: ['loadtest/bench/baseline-server.mjs'],
    env: { BENCH_BASELINE_JWKS: jwks },
    ready: /Baseline:\s+(\S+)/,
  });
  return { ...child, url: child.address };
};

/** `/proc/<pid>/<file>`; throws a plain "has exited" when the process is gone. */
const readProc = (pid, file) => {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'utf8');
  } catch (err) {
    if (/** @type {NodeJS.ErrnoException} */ (err).code === 'ENOENT') {
      throw new Error(`the server process ${pid} has exited`);
    }
    throw err;
  }
};

/** A TCP port on 127.0.0.1 that was free a moment ago (for servers that cannot take port 0). */
const freePort = () =>
  new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = /** @type {import('node:net').AddressInfo} */ (probe.address());
      probe.close(() => resolve(port));
    });
  });

/**
 * Starts a private `redis-server` on 127.0.0.1 (a free port, no persistence) as a tracked child,
 * so that it is stopped with the others on every way out. Resolves once it accepts connections.
 *
 * @returns {Promise<Child & { url: string }>}
 */
export const startRedis = async () => {
  const port = await freePort();
  const child = await startChild({
    name: 'redis-server',
    command: 'redis-server',
    args: ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    ready: /Ready to accept connections/,
  });
  return { ...child, url: `redis://127.0.0.1:${port}` };
};

let clockTicks;
/** `getconf CLK_TCK`: the unit of utime/stime in /proc/<pid>/stat (normally 100). */
export const clockTicksPerSecond = () => {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
};

/**
 * CPU time (user + system, all threads) a process has used so far, in seconds, from
 * /proc/<pid>/stat. Resolution is one clock tick (10 ms at 100 Hz). Throws when the process is gone.
 *
 * @param {number} pid
 */
export const cpuSeconds = (pid) => {
  const stat = readProc(pid, 'stat');
  // Fields after the command name, which may itself hold spaces and parentheses.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of stat; fields[0] here is field 3 (state).
  return (Number(fields[11]) + Number(fields[12])) / clockTicksPerSecond();
};

/**
 * Resident set size of a process now (VmRSS of /proc/<pid>/status), in bytes.
 *
 * @param {number} pid
 */
export const rssBytes = (pid) => {
  const status = readProc(pid, 'status');
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
  if (!match) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(match[1]) * 1024;
};

/**
 * CPU time the whole machine has spent busy so far (user, nice, system, irq, softirq and steal —
 * time the hypervisor gave to someone else — of the first line of /proc/stat), in seconds.
 */
export const machineBusySeconds = () => {
  const fields = readFileSync('/proc/stat', 'utf8')
    .split('\n', 1)[0]
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number);
  const [user, nice, system, , , irq, softirq, steal = 0] = fields;
  return (user + nice + system + irq + softirq + steal) / clockTicksPerSecond();
};
