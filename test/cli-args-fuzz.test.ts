import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAgent } from '../src/cli/agent.js';
import { runAudit } from '../src/cli/audit.js';
import { runCommand, type CommandIo, type CommandUsage } from '../src/cli/command.js';
import { runDev } from '../src/cli/dev.js';
import { runDevToken } from '../src/cli/dev-token.js';
import { runDevTokens } from '../src/cli/dev-tokens.js';
import { runServerCommand } from '../src/cli/server.js';
import { runToken } from '../src/cli/token.js';
import {
  AGENT_USAGE,
  DEV_TOKEN_USAGE,
  DEV_TOKENS_USAGE,
  DEV_USAGE,
  SERVER_USAGE,
  TOKEN_USAGE,
} from '../src/cli/usages.js';
import { configDoc } from '../src/config/test-support.js';
import { runAuthgate, waitFor, type Running } from './helpers/authgate-process.js';
import { ALIAS_BOMB } from './helpers/fuzz-config.js';

/*
 * The command line, as a property: a command line with one mistake in it (an unknown flag, a
 * flag without its value, a value out of range, a stray argument) among good flags, in any
 * order and repeated, is a usage mistake: exit 2, the mistake named, the usage printed, no stack
 * trace, and nothing started. In-process, as main() runs each command, but with the output
 * captured; then a few whole processes. FUZZ_SEED, FUZZ_RUNS as test/fuzz-http.test.ts.
 */

const SEED = Number(process.env['FUZZ_SEED'] ?? 20261129);
const RUNS = Number(process.env['FUZZ_RUNS'] ?? 400);
const RUN_OPTIONS = { seed: SEED, numRuns: RUNS };

let dir: string;
const saved = { ...process.env };
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'authgate-cli-fuzz-'));
  delete process.env['AUTHGATE_CONFIG'];
  // Were a mistake missed, `dev token` would find no dev running and fail (exit 1), not hang.
  process.env['AUTHGATE_DEV_STATE'] = join(dir, 'no-dev.json');
});
afterAll(() => {
  process.env = saved;
  rmSync(dir, { recursive: true, force: true });
});

type Command = {
  name: string;
  usage: CommandUsage | string;
  run: (argv: string[], io: CommandIo) => Promise<number>;
  /** Flags that take a value, and good values of them. */
  good: Record<string, string[]>;
  /** Flags that take a value, and values each refuses before anything starts. */
  bad: Record<string, string[]>;
  /** Boolean flags. */
  switches?: string[];
};

const viaRunCommand =
  (name: string, usage: CommandUsage, run: (argv: string[]) => Promise<number>) =>
  (argv: string[], io: CommandIo) =>
    runCommand(name, usage, () => run(argv), io);

const BAD_INTEGERS = ['abc', '', ' 1', '1.5', '1e3', '0x10', '+1', '１', '99999999999999999999'];
const COMMANDS: Command[] = [
  {
    name: 'authgate server',
    usage: SERVER_USAGE,
    run: viaRunCommand('authgate server', SERVER_USAGE, runServerCommand),
    good: {},
    bad: { '--config': [''] },
  },
  {
    name: 'authgate dev',
    usage: DEV_USAGE,
    run: viaRunCommand('authgate dev', DEV_USAGE, runDev),
    good: { '--address': ['127.0.0.1', 'localhost', '::1'], '--metrics': ['on', 'off'] },
    bad: {
      '--port': [...BAD_INTEGERS, '65536', '99999'],
      '--cluster-port': [...BAD_INTEGERS, '70000'],
      '--metrics': ['yes', 'ON', ''],
      '--address': ['999.1.1.1', '[::1]', '0x7f.1', '', 'a b'],
      '--redis': ['http://x', 'redis://', 'redis://:pw@', 'redis://h\u0000'],
      '--policy-dir': ['/nonexistent-policy-dir'],
      '--audit-file': ['/nonexistent-dir/audit.log'],
    },
  },
  {
    name: 'authgate dev token',
    usage: DEV_TOKEN_USAGE,
    run: viaRunCommand('authgate dev token', DEV_TOKEN_USAGE, runDevToken),
    good: {
      '--namespace': ['test'],
      '--service-account': ['nginx'],
      '--audience': ['vault'],
      '--pod': ['p'],
    },
    bad: { '--ttl': [...BAD_INTEGERS, '599', '4294967297'] },
  },
  {
    name: 'authgate dev tokens',
    usage: DEV_TOKENS_USAGE,
    run: viaRunCommand('authgate dev tokens', DEV_TOKENS_USAGE, runDevTokens),
    good: { '--audience': ['vault'], '--out': [join(tmpdir(), 'tokens-never-written.json')] },
    bad: { '--count': [...BAD_INTEGERS, '0'], '--namespaces': [...BAD_INTEGERS, '0'], '--ttl': BAD_INTEGERS },
  },
  {
    name: 'authgate agent',
    usage: AGENT_USAGE,
    run: viaRunCommand('authgate agent', AGENT_USAGE, runAgent),
    good: {
      '--role': ['nginx'],
      '--sink': [join(tmpdir(), 'agent-sink-never-written')],
      '--mount': ['kubernetes'],
      '--jwt-file': [join(tmpdir(), 'no-jwt')],
      '--address': ['http://127.0.0.1:1'],
      '--sink-mode': ['0600'],
    },
    bad: {
      '--timeout': [...BAD_INTEGERS, '0', '3601'],
      '--sink-mode': ['999', 'rw', '', '01234'],
      '--address': ['ftp://x', '', '127.0.0.1:8200'],
      '--sink': ['/nonexistent-dir/token', tmpdir()],
    },
    switches: ['--exit-after-auth'],
  },
  ...['lookup', 'revoke', 'revoke-identity'].map((sub): Command => ({
    name: 'authgate token',
    usage: TOKEN_USAGE,
    // No token in the environment: were a mistake missed, the command would stop at the missing
    // token (still a usage mistake, but naming the token, not the mistake).
    run: (argv, io) => runToken([sub, ...argv], { ...io, env: {} }),
    good: {
      '--address': ['http://127.0.0.1:1'],
      ...(sub === 'revoke-identity' ? { '--pod-uid': ['uid-1'] } : { '--accessor': ['acc-1'] }),
    },
    bad: {
      '--timeout': [...BAD_INTEGERS, '0', '3601'],
      '--address': ['ftp://x', '', '127.0.0.1:8200', 'http://[', 'http://h/?x', 'http://h#f'],
      ...(sub === 'revoke-identity' ? {} : { '--accessor': [''] }),
    },
    switches: ['--json'],
  })),
  ...['query', 'tail', 'summary'].map((sub): Command => ({
    name: 'authgate audit',
    usage: 'Usage:',
    run: (argv, io) => runAudit([sub, ...argv], { ...io, stdin: new PassThrough() }),
    good: { '--namespace': ['test'], '--role': ['nginx'], '--mount': ['kubernetes'] },
    bad: {
      '--since': ['bogus', '-1h', '1x'],
      '--until': ['tomorrow'],
      '--outcome': ['maybe', ''],
      '--hmac': ['md5:x'],
    },
    switches: ['--json'],
  })),
];

type Mistake = { kind: 'unknown' | 'missing' | 'positional' | 'value'; tokens: string[]; named: string };

const mistakeOf = (c: Command): fc.Arbitrary<Mistake> => {
  const known = new Set([...Object.keys(c.good), ...Object.keys(c.bad), ...(c.switches ?? []), '--help']);
  const valued = [...Object.keys(c.good), ...Object.keys(c.bad)];
  const options: Array<fc.Arbitrary<Mistake>> = [
    fc
      .stringMatching(/^--[a-z][a-z0-9-]{0,12}$/)
      .filter((f) => !known.has(f) && !known.has(f.split('=')[0] ?? ''))
      .map((f) => ({ kind: 'unknown', tokens: [f], named: f })),
    fc.constantFrom('-x', '-p', '-Z').map((f) => ({ kind: 'unknown', tokens: [f], named: f })),
    fc.constantFrom('extra', 'x=1', '--', '-').map((p) => ({
      kind: 'positional',
      tokens: p === '--' ? ['--', 'after'] : [p],
      named: p === '--' ? 'after' : p,
    })),
  ];
  if (valued.length > 0)
    options.push(fc.constantFrom(...valued).map((f) => ({ kind: 'missing', tokens: [f], named: f })));
  const bad = Object.entries(c.bad).flatMap(([f, vs]) => vs.map((v): [string, string] => [f, v]));
  if (bad.length > 0) {
    options.push(
      fc.tuple(fc.constantFrom(...bad), fc.boolean()).map(([[f, v], joined]) => ({
        kind: 'value',
        // `--port=-1` is the one way to give a value that begins with a dash.
        tokens: joined || v.startsWith('-') ? [`${f}=${v}`] : [f, v],
        named: f,
      })),
    );
  }
  return fc.oneof(...options);
};

/** Good flags, some repeated, none the flag of the mistake (a later good one would override it). */
const noiseOf = (c: Command, mistake: Mistake): fc.Arbitrary<string[][]> => {
  const flags = Object.entries(c.good)
    .filter(([f]) => f !== mistake.named)
    .flatMap(([f, vs]) => vs.map((v) => [f, v]));
  const all = [...flags, ...(c.switches ?? []).map((s) => [s])];
  return all.length === 0 ? fc.constant([]) : fc.array(fc.constantFrom(...all), { maxLength: 5 });
};

/** The command line: the noise with the mistake put anywhere (a flag missing its value: last). */
const argvOf = (mistake: Mistake, noise: string[][], at: number): string[] => {
  if (mistake.kind === 'missing' || mistake.tokens[0] === '--') return [...noise.flat(), ...mistake.tokens];
  const i = at % (noise.length + 1);
  return [...noise.slice(0, i), mistake.tokens, ...noise.slice(i)].flat();
};

const capture = () => {
  const out = { stdout: '', stderr: '' };
  const sink = (k: keyof typeof out) => {
    const s = new PassThrough();
    s.on('data', (d: Buffer) => (out[k] += d.toString()));
    return s;
  };
  return { io: { stdout: sink('stdout'), stderr: sink('stderr') }, out };
};

const CASE = fc.nat({ max: COMMANDS.length - 1 }).chain((i) => {
  const c = COMMANDS[i] as Command;
  return mistakeOf(c).chain((mistake) =>
    fc.tuple(fc.constant(c), fc.constant(mistake), noiseOf(c, mistake), fc.nat()),
  );
});

describe('a command line with one mistake', () => {
  it('is a usage mistake: exit 2, named, with the usage, no stack trace', async () => {
    await fc.assert(
      fc.asyncProperty(CASE, async ([c, mistake, noise, at]) => {
        const argv = argvOf(mistake, noise, at);
        const { io, out } = capture();
        const code = await c.run(argv, io);
        await new Promise((r) => setImmediate(r));
        expect(code, `${c.name} ${JSON.stringify(argv)}: ${out.stderr}`).toBe(2);
        expect(out.stderr.startsWith(`${c.name}: `)).toBe(true);
        expect(out.stderr).toContain('Usage:');
        expect(out.stderr).not.toMatch(/\n\s+at .+:\d+:\d+/);
        expect(out.stdout).toBe('');
        // Audit checks its filters before its source, and a source before --limit: the
        // mistake may not be the first problem it finds.
        if (c.name !== 'authgate audit' || mistake.kind !== 'value') {
          expect(out.stderr.split('\n')[0]).toContain(mistake.named);
        }
      }),
      RUN_OPTIONS,
    );
  }, 120_000);
});

describe('authgate as a process', () => {
  const exit = async (p: Running): Promise<number | null> => {
    await waitFor(() => p.child.exitCode ?? p.child.signalCode ?? undefined, 15_000, 'the process to exit');
    return p.exited;
  };
  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };
  const minimal = () => JSON.stringify(configDoc());

  it.each([
    ['an alias bomb', () => ['server', '--config', file('bomb.yaml', `${ALIAS_BOMB}\n`)], 78, /alias/],
    ['a tag', () => ['server', '--config', file('tag.yaml', 'listener: !!omap [{port: 1}]\n')], 78, /!!omap/],
    [
      'an escape sequence in a key',
      () => ['server', '--config', file('esc.yaml', `${minimal().slice(0, -1)}, "\\u001b[2J": 1}`)],
      78,
      /\\u001b\[2J/,
    ],
    ['an empty --config', () => ['server', '--config', ''], 2, /--config/],
    ['a config that is a directory', () => ['server', '--config', dir], 78, /cannot read the file/],
    [
      '--port 99999 for dev',
      () => ['dev', '--port', '99999'],
      2,
      /--port: must be an integer from 0 to 65535/,
    ],
    ['--limit without its value', () => ['audit', 'query', '--limit'], 2, /--limit/],
  ])('refuses %s with its exit code, and no stack trace', async (_what, args, code, message) => {
    const p = runAuthgate(args(), { AUTHGATE_DEV_STATE: join(dir, 'no-dev.json') });
    expect(await exit(p)).toBe(code);
    expect(p.output()).toMatch(message);
    expect(p.output()).not.toMatch(/\n\s+at .+:\d+:\d+/);
    expect(p.output()).not.toContain('\u001b');
  });

  it('counts an empty AUTHGATE_CONFIG as unset: a usage mistake', async () => {
    const p = runAuthgate(['server'], { AUTHGATE_CONFIG: '' });
    expect(await exit(p)).toBe(2);
    expect(p.output()).toContain('give the config file with --config FILE or AUTHGATE_CONFIG');
  });

  it('counts an empty AUTHGATE_DEV_STATE as unset: the default state file', async () => {
    const p = runAuthgate(['dev', 'token'], { AUTHGATE_DEV_STATE: '', TMPDIR: dir, XDG_RUNTIME_DIR: '' });
    expect(await exit(p)).toBe(1);
    expect(p.output()).toContain(
      `state file ${join(dir, `authgate-${process.getuid?.() ?? 'user'}`, 'dev.json')}`,
    );
  });
});
