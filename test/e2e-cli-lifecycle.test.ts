import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exitCodeOf, runAuthgate, waitFor } from './helpers/authgate-process.js';
import { freePort, startRedis } from './helpers/redis-server.js';

/*
 * `authgate` as a process, continued from test/e2e-cli.test.ts (split so that no one file holds a
 * test worker for two minutes): how dev and server start, refuse, fail and stop, and the help.
 */

const run = runAuthgate;

/** A state file of `authgate dev` that names a cluster nobody listens on any more. */
const staleState = async (dir: string): Promise<{ path: string; clusterUrl: string }> => {
  const clusterUrl = `http://127.0.0.1:${await freePort()}`;
  const path = join(dir, 'stale.json');
  const gatewayAddress = `http://127.0.0.1:${await freePort()}`;
  writeFileSync(
    path,
    JSON.stringify({ clusterUrl, clusterAdminToken: 'gone', gatewayAddress, adminToken: 'gone', pid: 1 }),
  );
  return { path, clusterUrl };
};

describe('authgate dev with a Redis password', () => {
  it('never prints the password', async () => {
    const password = 'hunter2-dev-banner';
    const redis = await startRedis({ password });
    const dir = mkdtempSync(join(tmpdir(), 'authgate-dev-redis-pw-'));
    const dev = run(['dev', '--port', '0', '--redis', redis.url], {
      AUTHGATE_DEV_STATE: join(dir, 'dev.json'),
      AUTHGATE_LOG_LEVEL: 'warn',
    });
    try {
      await waitFor(() => dev.output().match(/More tokens/));
      expect(dev.output()).toContain(`Redis store at redis://***@127.0.0.1:${redis.port}, key prefix`);
      expect(dev.output()).not.toContain(password);
    } finally {
      dev.child.kill('SIGTERM');
      await dev.exited;
      await redis.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('two authgate dev on one machine', () => {
  it('leaves the state file of the one still running when the other stops', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'authgate-two-devs-'));
    const env = { AUTHGATE_DEV_STATE: join(dir, 'dev.json'), AUTHGATE_LOG_LEVEL: 'warn' };
    const first = run(['dev', '--port', '0'], env);
    let second: ReturnType<typeof run> | undefined;
    try {
      await waitFor(() => first.output().match(/Gateway:\s+(http:\/\/\S+)/));
      second = run(['dev', '--port', '0'], env);
      await waitFor(() => second?.output().match(/Gateway:\s+(http:\/\/\S+)/));
      first.child.kill('SIGTERM');
      await first.exited;
      const state = JSON.parse(readFileSync(join(dir, 'dev.json'), 'utf8')) as { pid: number };
      expect(state.pid).toBe(second.child.pid);
    } finally {
      first.child.kill('SIGTERM');
      second?.child.kill('SIGTERM');
      await Promise.all([first.exited, second?.exited]);
      rmSync(dir, { recursive: true, force: true });
    }
    // Two `authgate dev` started one after the other (3.0 s, 5.8 s under load), each given 15 s.
  }, 60_000);
});

describe('authgate dev on a port that is taken', () => {
  it('says so and exits instead of hanging', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as AddressInfo).port;
    const dir = mkdtempSync(join(tmpdir(), 'authgate-taken-'));
    try {
      const dev = run(['dev', '--port', String(port)], { AUTHGATE_DEV_STATE: join(dir, 'dev.json') });
      expect(await dev.exited).toBe(1);
      expect(dev.output()).toMatch(/EADDRINUSE/);
    } finally {
      blocker.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('authgate dev that cannot start', () => {
  let dir: string;
  /** The temporary directory of the child: where `authgate dev` keeps its keys while it runs. */
  let tmp: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'authgate-dev-fails-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const runIn = (args: string[], env: Record<string, string> = {}) => {
    tmp = mkdtempSync(join(dir, 'tmp-'));
    return run(['dev', ...args], { TMPDIR: tmp, AUTHGATE_DEV_STATE: join(dir, 'dev.json'), ...env });
  };

  it.each([
    [['--port', 'abc'], '--port: must be an integer from 0 to 65535'],
    [['--port', '99999'], '--port: must be an integer from 0 to 65535'],
    [['--cluster-port=-1'], '--cluster-port: must be an integer from 0 to 65535'],
    [['--redis', 'http://x'], '--redis: expected a redis:// or rediss:// URL'],
    [['--redis', 'redis://:zq#xv@cache:6379'], '--redis: not a valid URL'],
    [['--address', '999.1.1.1'], '--address: must be an IP address or a host name'],
    [['--metrics', 'maybe'], '--metrics: must be on or off'],
    [['--colour'], "Unknown option '--colour'"],
    [['--policy-dir', '/nonexistent/policies'], '--policy-dir: /nonexistent/policies is not a directory'],
    [
      ['--audit-file', '/nonexistent/dir/audit.log'],
      '--audit-file: directory /nonexistent/dir does not exist',
    ],
    [['--audit-file', '/tmp'], '--audit-file: /tmp is a directory'],
  ])('refuses %j before it starts anything, naming the flag (exit 2)', async (args, message) => {
    const dev = runIn(args);
    expect(await exitCodeOf(dev)).toBe(2);
    expect(dev.output()).toContain(`authgate dev: ${message}`);
    expect(dev.output()).toContain('Usage:\n  authgate dev [--port N]');
    expect(dev.output()).not.toContain('authgate.yaml');
    expect(readdirSync(tmp)).toEqual([]);
  });

  it('says so when the simulator in a process of its own cannot listen, and leaves nothing behind', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    try {
      const port = String((blocker.address() as AddressInfo).port);
      const dev = runIn(['--port', '0', '--cluster-process', '--cluster-port', port]);
      expect(await exitCodeOf(dev)).toBe(1);
      expect(dev.output()).toMatch(/authgate dev: listen EADDRINUSE/);
      expect(readdirSync(tmp)).toEqual([]);
    } finally {
      blocker.close();
    }
  });

  it('closes the cluster and removes its keys when the configuration fails after the cluster started', async () => {
    const dev = runIn(['--port', '0'], { AUTHGATE_LOG_LEVEL: 'chatty' });
    expect(await exitCodeOf(dev)).toBe(78);
    expect(dev.output()).toContain('log.level');
    expect(readdirSync(tmp)).toEqual([]);
  });

  it('takes an empty AUTHGATE_LOG_LEVEL as unset, as authgate server does', async () => {
    const dev = runIn(['--port', '0'], { AUTHGATE_LOG_LEVEL: '' });
    await waitFor(() => dev.output().match(/More tokens/) ?? dev.child.exitCode ?? undefined);
    expect(dev.child.exitCode).toBeNull();
    dev.child.kill('SIGINT');
    expect(await exitCodeOf(dev)).toBe(0);
  });

  it('removes its keys when stopped while it starts (a Ctrl-C that comes before it runs), exit 0', async () => {
    const dev = runIn(['--port', '0']);
    // The moment its key directory appears: the cluster runs, the gateway has not started.
    const started = Date.now();
    while (readdirSync(tmp).length === 0 && Date.now() - started < 15_000) {
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    expect(readdirSync(tmp)).toHaveLength(1);
    dev.child.kill('SIGINT');
    expect(await exitCodeOf(dev)).toBe(0);
    expect(readdirSync(tmp)).toEqual([]);
    expect(readdirSync(dir).filter((f) => f.endsWith('.json'))).toEqual([]);
  });

  it('closes the gateway and the cluster and removes its keys when it fails after the gateway started', async () => {
    // The state file cannot be written: its directory does not exist.
    const dev = runIn(['--port', '0'], { AUTHGATE_DEV_STATE: join(dir, 'missing', 'dev.json') });
    expect(await exitCodeOf(dev)).toBe(1);
    expect(dev.output()).toMatch(/authgate dev: ENOENT/);
    expect(readdirSync(tmp)).toEqual([]);
  });
});

describe("authgate dev's state file, where dev token finds it", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'authgate-dev-state-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const uid = process.getuid?.() ?? 0;
  /** The environment of a user with no AUTHGATE_DEV_STATE nor runtime directory, temp in `tmp`. */
  const defaults = (tmp: string) => ({ TMPDIR: tmp, AUTHGATE_DEV_STATE: '', XDG_RUNTIME_DIR: '' });
  const login = async (gateway: string, jwt: string) =>
    (
      await fetch(`${gateway}/v1/auth/kubernetes/login`, {
        method: 'POST',
        body: JSON.stringify({ role: 'nginx', jwt }),
      })
    ).status;

  it('keeps it in a directory of this user alone, and as the later devs stop, finds the earlier ones again', async () => {
    const tmp = mkdtempSync(join(dir, 'tmp-'));
    const start = async () => {
      const dev = run(['dev', '--port', '0'], { ...defaults(tmp), AUTHGATE_LOG_LEVEL: 'warn' });
      await waitFor(() => dev.output().match(/More tokens/));
      return { dev, gateway: (dev.output().match(/Gateway:\s+(http:\/\/\S+)/) ?? [])[1] ?? '' };
    };
    const a = await start();
    const b = await start();
    const c = await start();
    try {
      const state = join(tmp, `authgate-${uid}`, 'dev.json');
      expect(statSync(join(tmp, `authgate-${uid}`)).mode & 0o777).toBe(0o700);
      expect(statSync(state).mode & 0o777).toBe(0o600);
      expect(JSON.parse(readFileSync(state, 'utf8'))).toMatchObject({ pid: c.dev.child.pid });
      // The middle one first, then the last: the state C replaced (B's) has ended by then, and
      // the one B replaced (A's) is what runs.
      b.dev.child.kill('SIGINT');
      expect(await exitCodeOf(b.dev)).toBe(0);
      expect(JSON.parse(readFileSync(state, 'utf8'))).toMatchObject({ pid: c.dev.child.pid });
      c.dev.child.kill('SIGINT');
      expect(await exitCodeOf(c.dev)).toBe(0);
      // The state is the first dev's again: a token from `dev token` logs in there.
      expect(JSON.parse(readFileSync(state, 'utf8'))).toMatchObject({ pid: a.dev.child.pid });
      const mint = run(['dev', 'token'], defaults(tmp));
      expect(await exitCodeOf(mint)).toBe(0);
      expect(await login(a.gateway, mint.output().trim())).toBe(200);
    } finally {
      for (const d of [a, b, c]) d.dev.child.kill('SIGINT');
      await Promise.all([a.dev.exited, b.dev.exited, c.dev.exited]);
    }
  }, 90_000);

  it('takes the temporary directory when the runtime directory cannot hold its own', async () => {
    const tmp = mkdtempSync(join(dir, 'tmp-'));
    const notADirectory = join(tmp, 'runtime-file');
    writeFileSync(notADirectory, '');
    const mint = run(['dev', 'token'], { ...defaults(tmp), XDG_RUNTIME_DIR: notADirectory });
    expect(await exitCodeOf(mint)).toBe(1);
    expect(mint.output()).toContain(`(state file ${join(tmp, `authgate-${uid}`, 'dev.json')}: not found)`);
  });

  it('refuses a state directory that others may write to (one planted in a shared /tmp)', async () => {
    const tmp = mkdtempSync(join(dir, 'tmp-'));
    mkdirSync(join(tmp, `authgate-${uid}`));
    chmodSync(join(tmp, `authgate-${uid}`), 0o777);
    const mint = run(['dev', 'token'], defaults(tmp));
    expect(await exitCodeOf(mint)).toBe(1);
    expect(mint.output()).toContain(
      `${join(tmp, `authgate-${uid}`)} is not a directory of this user's alone (mode 0700): remove it, or set AUTHGATE_DEV_STATE`,
    );
  });

  it('says that the dev a state file names has ended, without calling its address', async () => {
    const ended = spawnSync(process.execPath, ['-e', '0']).pid;
    const path = join(dir, 'ended.json');
    const stale = await staleState(dir);
    writeFileSync(path, readFileSync(stale.path, 'utf8').replace('"pid":1', `"pid":${ended}`));
    const mint = run(['dev', 'token'], { AUTHGATE_DEV_STATE: path });
    expect(await exitCodeOf(mint)).toBe(1);
    expect(mint.output()).toContain(
      `no running authgate dev (state file ${path}: it names process ${ended}, which has ended)`,
    );
  });
});

describe('authgate dev token and dev tokens without a running dev', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'authgate-no-dev-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each([[['dev', 'token']], [['dev', 'tokens', '--count', '2', '--out', 'tokens-never-written.json']]])(
    '%j says that no dev runs at the address of a stale state file, and why (exit 1)',
    async (args) => {
      const stale = await staleState(dir);
      const p = run(args, { AUTHGATE_DEV_STATE: stale.path });
      expect(await exitCodeOf(p)).toBe(1);
      expect(p.output()).toContain(
        `authgate ${args[0]} ${args[1]}: no running authgate dev at ${stale.clusterUrl} (`,
      );
      expect(p.output()).toContain('ECONNREFUSED');
      expect(p.output()).toContain('start one with `authgate dev`');
      expect(p.output()).not.toContain('fetch failed');
    },
  );

  it.each(['null', '{}', '[]', '{"clusterUrl":7}'])(
    'says that no dev runs when the state file holds %s, not one that authgate dev wrote (exit 1)',
    async (content) => {
      const path = join(dir, 'odd-state.json');
      writeFileSync(path, content);
      const p = run(['dev', 'token'], { AUTHGATE_DEV_STATE: path });
      expect(await exitCodeOf(p)).toBe(1);
      expect(p.output()).toContain(
        `authgate dev token: no running authgate dev (state file ${path}: not one that authgate dev wrote)`,
      );
    },
  );

  it.each([
    [
      ['dev', 'token', '--ttl', 'abc'],
      'authgate dev token: --ttl: must be an integer from 600 to 4294967296 (seconds)',
    ],
    [
      ['dev', 'tokens', '--ttl', 'abc'],
      'authgate dev tokens: --ttl: must be an integer from 600 to 4294967296 (seconds)',
    ],
    [['dev', 'tokens', '--count', '0'], 'authgate dev tokens: --count: must be an integer of at least 1'],
  ])('%j is a usage mistake, told before anything is asked of a dev (exit 2)', async (args, message) => {
    const p = run(args, { AUTHGATE_DEV_STATE: join(dir, 'none.json') });
    expect(await exitCodeOf(p)).toBe(2);
    expect(p.output()).toContain(message);
    expect(p.output()).toContain(`Usage:\n  authgate ${args[0]} ${args[1]} [`);
  });
});

describe('authgate COMMAND --help', () => {
  it.each([
    [['server', '--help'], 'authgate server [--config FILE]'],
    [['server', '-h'], 'authgate server [--config FILE]'],
    [['dev', '--help'], 'authgate dev [--port N]'],
    [['dev', 'token', '--help'], 'authgate dev token [--namespace NS]'],
    [['dev', 'tokens', '-h'], 'authgate dev tokens [--count N]'],
    [['audit', '--help'], 'authgate audit query'],
    [['audit', 'query', '--help'], 'authgate audit query'],
  ])('%j prints the usage of that command and exits 0, starting nothing', async (args, synopsis) => {
    const p = run(args, { AUTHGATE_DEV_STATE: join(tmpdir(), 'authgate-help-no-state.json') });
    expect(await exitCodeOf(p)).toBe(0);
    expect(p.output()).toMatch(/^Usage:\n/);
    expect(p.output()).toContain(`  ${synopsis}`);
  });

  it('lists every command in authgate --help, with the synopsis each command prints', async () => {
    const top = run(['--help']);
    expect(await exitCodeOf(top)).toBe(0);
    for (const args of [['server'], ['dev'], ['dev', 'token'], ['dev', 'tokens'], ['agent']]) {
      const p = run([...args, '--help']);
      expect(await exitCodeOf(p)).toBe(0);
      const synopsis = (p.output().split('\n')[1] ?? '').trim();
      expect(top.output()).toContain(`  ${synopsis}`);
    }
    // Six processes one after another (five when this was measured): 3.9 s on a 2-core machine running another test file, 7.9 s
    // with two busy loops besides; CI's is twice as slow, too near the default 20 s.
  }, 60_000);
});

describe('authgate server', () => {
  it('calls an unknown flag a usage mistake (exit 2)', async () => {
    const server = run(['server', '--colour'], {});
    expect(await exitCodeOf(server)).toBe(2);
    expect(server.output()).toContain("authgate server: Unknown option '--colour'");
  });

  it('refuses to start on a bad config and lists every problem with its path', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'authgate-cfg-'));
    try {
      const file = join(dir, 'authgate.yaml');
      writeFileSync(
        file,
        [
          'auth:',
          '  kubernetes:',
          '    type: kubernetes',
          '    verification: tokenreview',
          '    roles:',
          '      web:',
          '        bound_service_account_names: [web]',
          '        bound_service_account_namespaces: [prod]',
          '        token_ttl: 2h',
          '        token_max_ttl: 1h',
        ].join('\n'),
      );
      const server = run(['server', '--config', file], {});
      expect(await server.exited).toBe(78);
      const out = server.output();
      expect(out).toContain('auth.kubernetes.kubernetes_host');
      expect(out).toContain('auth.kubernetes.roles.web.audience');
      expect(out).toContain("'token_ttl' cannot be greater than 'token_max_ttl'");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('exits 0 on SIGTERM', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'authgate-cfg-'));
    try {
      const file = join(dir, 'authgate.yaml');
      writeFileSync(
        file,
        [
          'listener: {port: 0}',
          'auth:',
          '  kubernetes:',
          '    type: kubernetes',
          '    kubernetes_host: http://127.0.0.1:1',
          '    verification: tokenreview',
          '    roles:',
          '      web: {bound_service_account_names: [web], bound_service_account_namespaces: [prod], audience: vault}',
        ].join('\n'),
      );
      const server = run(['server', '--config', file], {});
      await waitFor(() => server.output().match(/server\.listening/));
      server.child.kill('SIGTERM');
      expect(await server.exited).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
