import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { usageText } from '../src/cli/command.js';
import {
  AGENT_USAGE,
  AUDIT_USAGE,
  DEV_TOKEN_USAGE,
  DEV_TOKENS_USAGE,
  DEV_USAGE,
  SERVER_USAGE,
  TOKEN_USAGE,
} from '../src/cli/usages.js';

/*
 * The docs against the CLI: every flag that a command line in README.md, docs/ and
 * loadtest/README.md gives to `authgate server`, `authgate dev [token|tokens]`, `authgate audit …`, `authgate agent` or `authgate token …`
 * is one that command's --help lists, so a flag renamed or removed in the code fails here rather
 * than in the hands of a reader who copies the line; and every flag a --help lists is named where
 * the docs show that command, so a flag added to the code does not go unmentioned.
 */

const ROOT = join(import.meta.dirname, '..');
const FILES = [
  'README.md',
  'loadtest/README.md',
  ...readdirSync(join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md') && f !== 'benchmarks.md')
    .map((f) => `docs/${f}`),
];

const USAGES: Record<string, string> = {
  server: usageText(SERVER_USAGE),
  dev: usageText(DEV_USAGE),
  'dev token': usageText(DEV_TOKEN_USAGE),
  'dev tokens': usageText(DEV_TOKENS_USAGE),
  audit: AUDIT_USAGE,
  agent: usageText(AGENT_USAGE),
  token: usageText(TOKEN_USAGE),
};

/** Every command accepts these, and no usage lists them. */
const UNIVERSAL = new Set(['--help', '-h']);

type Invocation = { file: string; command: string; line: string; flags: string[] };

/**
 * The invocations of the CLI in `text` (`authgate dev tokens --count 60000 …`, also after `npx ` or
 * as `node bin/authgate.js`), each up to the end of its command: a backtick, a `#` comment, a
 * pipe, `;`, `&&`, a redirection or the end of the line.
 */
const invocations = (file: string, text: string): Invocation[] =>
  [...text.matchAll(/authgate(?:\.js)? (server|dev(?: tokens?\b)?|audit|agent|token)\b([^`#|;&<>\n]*)/g)].map(
    (m) => ({
      file,
      command: m[1] ?? '',
      line: m[0],
      flags: [...(m[2] ?? '').matchAll(/(?<![\w-])(--?[a-z][a-z-]*)/g)].map((f) => f[1] ?? ''),
    }),
  );

const ALL = FILES.flatMap((file) => invocations(file, readFileSync(join(ROOT, file), 'utf8')));

/** The flags in `text` (`--port`, `-n`), in the order they stand. */
const flagsIn = (text: string): string[] =>
  [...text.matchAll(/(?<![\w-])(--?[a-z][a-z-]*)/g)].map((f) => f[1] ?? '');

/**
 * The flags the docs give `command`: those of its command lines, and every flag named in a
 * section (a `## ` heading to the next) that shows one of its command lines, where the prose
 * lists the rest (`authgate dev --help` lists its flags (`--port`, …)).
 */
const documentedFlags = (command: string): Set<string> => {
  const found = new Set<string>();
  for (const file of FILES) {
    for (const section of readFileSync(join(ROOT, file), 'utf8').split(/^(?=## )/m)) {
      if (invocations(file, section).some((i) => i.command === command))
        for (const flag of flagsIn(section)) found.add(flag);
    }
  }
  return found;
};

describe('the CLI as the docs show it', () => {
  it('finds the command lines it checks', () => {
    expect(ALL.length).toBeGreaterThan(20);
    expect(new Set(ALL.map((i) => i.command))).toEqual(new Set(Object.keys(USAGES)));
  });

  it('gives each command only flags its --help lists', () => {
    const unknown = ALL.flatMap(({ file, command, line, flags }) =>
      flags
        .filter((flag) => !UNIVERSAL.has(flag))
        .filter((flag) => !new RegExp(`(^|[\\s\\[,(])${flag}(?![\\w-])`).test(USAGES[command] ?? ''))
        .map((flag) => `${file}: ${flag} in "${line.trim()}"`),
    );
    expect(unknown).toEqual([]);
  });

  it('names every flag that each command’s --help lists', () => {
    const undocumented = Object.entries(USAGES).flatMap(([command, usage]) => {
      const documented = documentedFlags(command);
      return [...new Set(flagsIn(usage))]
        .filter((flag) => !UNIVERSAL.has(flag) && !documented.has(flag))
        .map((flag) => `authgate ${command} ${flag}`);
    });
    expect(undocumented).toEqual([]);
  });
});
