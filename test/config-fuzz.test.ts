import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, parseConfig, type AuthgateConfig } from '../src/config/index.js';
import { roleDoc } from '../src/config/test-support.js';
import { composeServer } from '../src/cli/compose.js';
import { createPolicyRegistry, PolicyLoadError } from '../src/policy/index.js';
import { createLogger } from '../src/telemetry/index.js';
import {
  ALIAS_BOMB,
  MUTATION,
  RAW_YAML,
  TEXT_CHANGE,
  kindOf,
  mutate,
  render,
  type Mutation,
  type Path,
} from './helpers/fuzz-config.js';
import { BASE_DOCS, FILE_SECRETS, KEY_BODY, writeConfigFiles } from './helpers/fuzz-config-docs.js';

/*
 * The contract of the config loader, as a property: whatever the file holds, `parseConfig` (and
 * the policy loader after it, as `authgate server` runs them) returns a config or throws a
 * ConfigError (a PolicyLoadError for the policies) listing problems, each with the path it is
 * at, in a message that quotes no secret and holds no control character. Never another
 * exception, never a hang. Documents start valid (test/helpers/fuzz-config.ts) and are mutated.
 * Seed and size: FUZZ_SEED, FUZZ_RUNS; a failure prints the shrunk case, the seed and the path
 * (FUZZ_PATH replays it).
 */

const SEED = Number(process.env['FUZZ_SEED'] ?? 20261129);
const RUNS = Number(process.env['FUZZ_RUNS'] ?? 400);
const PATH = process.env['FUZZ_PATH'];
const RUN_OPTIONS = { seed: SEED, numRuns: RUNS, ...(PATH === undefined ? {} : { path: PATH }) };

const LOG = createLogger('silent');
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'authgate-config-fuzz-'));
  writeConfigFiles(dir);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Outcome = { config: AuthgateConfig } | { error: ConfigError };

/**
 * Loads `text` as `authgate server` does, in-process and short of listening: the config, then
 * (memory store) the composed server, which loads the policies when ready; with a Redis store,
 * whose client would reach for the network, the policies alone, reported as compose does.
 */
const load = async (text: string): Promise<Outcome> => {
  try {
    const config = parseConfig(text, { source: 'fuzz.yaml', baseDir: dir, env: {} });
    if (config.store.type === 'memory') {
      const server = composeServer(config, { log: LOG });
      try {
        await server.app.ready();
      } finally {
        await server.close();
      }
    } else {
      await createPolicyRegistry({ log: LOG })
        .load(config.policies)
        .catch((err: unknown) => {
          if (!(err instanceof PolicyLoadError)) throw err;
          throw new ConfigError(
            'policies',
            err.problems.map((message) => ({ path: 'policies', message })),
          );
        });
    }
    return { config };
  } catch (err) {
    // Anything else (a TypeError, a RangeError, a ReferenceError) is the bug this test looks for.
    if (err instanceof ConfigError) return { error: err };
    throw err;
  }
};

/** Control characters (a newline between problems aside) and bidi overrides. */
const UNPRINTABLE = /(?!\n)[\p{Cc}\u202a-\u202e\u2066-\u2069]/u;
const SECRETS = [...Object.values(FILE_SECRETS), KEY_BODY];

/** What every refusal must be: problems listed, each with a path and a message, nothing leaked. */
const checkRefusal = (error: ConfigError): void => {
  expect(error.problems.length).toBeGreaterThan(0);
  for (const p of error.problems) {
    expect(typeof p.path).toBe('string');
    expect(p.message.trim()).not.toBe('');
  }
  expect(error.message).not.toMatch(UNPRINTABLE);
  expect(error.message).not.toMatch(/\n\s+at .+:\d+:\d+/);
  for (const secret of SECRETS) expect(error.message).not.toContain(secret);
};

const matches = (path: Path, pattern: string[]): boolean =>
  path.length === pattern.length && pattern.every((p, i) => p === '*' || p === String(path[i]));

/** Fields a document must have (`*` any name). */
const REQUIRED = [
  ['auth'],
  ['auth', '*', 'type'],
  ['auth', '*', 'verification'],
  ['auth', '*', 'roles'],
  ['auth', '*', 'roles', '*', 'bound_service_account_names'],
  ['auth', '*', 'roles', '*', 'bound_service_account_namespaces'],
  ['identity', 'roles', '*', 'audience'],
  ['audit', '*', 'type'],
  ['store', 'type'],
  ['policies', '*', 'path'],
  ['policies', '*', 'path', '*', 'capabilities'],
];
/** Mappings whose keys are names (any valid name is a new entry), and a policy rule's free keys. */
const RECORDS = [
  ['auth'],
  ['auth', '*', 'roles'],
  ['secrets', 'kv'],
  ['identity', 'keys'],
  ['identity', 'roles'],
  ['audit'],
  ['policies'],
  ['policies', '*', 'path'],
  ['policies', '*', 'path', '*'],
];
/** Names compared without case: a twin in another case is the same name twice. */
const CASELESS = [['auth', '*', 'roles'], ['policies']];
const DURATION = /(ttl|period|leeway|cooldown|max_age|timeout|delete_version_after)$/;
/** Raw YAML that can never be a config value, wherever it is put. */
const NEVER_VALID = new Set([
  '!!binary aGVsbG8=',
  '!!timestamp 2001-12-14',
  '!!omap [{port: 1}]',
  '!!set {a, b}',
]);
NEVER_VALID.add('!!js/function "function () {}"').add('!foo bar').add('*nowhere').add('[*x]');

const valueAt = (doc: unknown, path: Path): unknown =>
  path.reduce<unknown>((node, k) => (node as Record<string | number, unknown> | undefined)?.[k], doc);

/**
 * Whether `m`, made at `path` of `base`, must be refused: a required field deleted, a value of
 * another type (a duration may be a number or a string), a YAML value no field takes, an
 * unknown field, a name twice in another case where names are caseless.
 */
const mustRefuse = (base: unknown, m: Mutation, path: Path): boolean => {
  const before = valueAt(base, path);
  const parent = path.slice(0, -1);
  const inRecord = RECORDS.some((r) => matches(parent, r));
  switch (m.op) {
    case 'delete':
      return REQUIRED.some((r) => matches(path, r));
    case 'set': {
      const [was, now] = [kindOf(before), kindOf(m.value)];
      if (was === now || inRecord) return false;
      return !(DURATION.test(String(path[path.length - 1])) && ['number', 'string'].includes(now));
    }
    case 'raw':
      return NEVER_VALID.has(RAW_YAML[m.raw] ?? '');
    case 'add-key':
      return before === undefined && !inRecord && kindOf(valueAt(base, parent)) === 'map';
    case 'case-twin':
      return before === undefined && (!inRecord || CASELESS.some((r) => matches(parent, r)));
    default:
      return false;
  }
};

/** A problem at the path changed, above it, below it, or beside it (a rule between siblings). */
const namesPath = (error: ConfigError, path: Path): boolean => {
  const changed = path.join('.');
  const parent = path.slice(0, -1).join('.');
  return error.problems.some((p) =>
    // The policy loader names a policy by its source: `policies.<name>`, or policy_dir's file.
    error.source === 'policies'
      ? p.message.includes(`policies.${String(path[1])}`) || p.message.includes('policy_dir')
      : (p.path !== '' || path.length === 1) &&
        (changed.startsWith(p.path) || p.path.startsWith(parent === '' ? changed : parent)),
  );
};

describe('the documents the fuzzing starts from', () => {
  it.each(BASE_DOCS.slice(0, -1))('loads $name without a problem', async ({ doc }) => {
    const outcome = await load(JSON.stringify(doc));
    expect('config' in outcome ? [] : outcome.error.problems).toEqual([]);
  });

  it('refuses deploy/base only for the files it names, which this machine has not', async () => {
    const outcome = await load(JSON.stringify(BASE_DOCS[BASE_DOCS.length - 1]?.doc));
    const problems = 'error' in outcome ? outcome.error.problems : [];
    expect(problems.length).toBeGreaterThan(0);
    for (const p of problems) expect(p.message).toMatch(/^cannot read \//);
  });
});

describe('a mutated authgate.yaml', () => {
  it('is loaded or refused with its problems, never with another exception', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.nat({ max: BASE_DOCS.length - 1 }),
        fc.array(MUTATION, { minLength: 1, maxLength: 3 }),
        fc.boolean(),
        TEXT_CHANGE,
        async (which, mutations, json, change) => {
          const raws: string[] = [];
          const base = BASE_DOCS[which]?.doc ?? {};
          const doc = mutations.reduce((d, m) => mutate(d, m, raws).doc, base);
          const outcome = await load(render(doc, raws, json, change));
          if ('error' in outcome) checkRefusal(outcome.error);
        },
      ),
      RUN_OPTIONS,
    );
  }, 120_000);

  it('is refused when one change makes it wrong, with a problem that names where', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.nat({ max: BASE_DOCS.length - 2 }),
        MUTATION,
        fc.boolean(),
        async (which, m, json) => {
          const raws: string[] = [];
          const base = BASE_DOCS[which]?.doc ?? {};
          const { doc, path } = mutate(base, m, raws);
          const outcome = await load(render(doc, raws, json, { op: 'none' }));
          if (mustRefuse(base, m, path)) expect(outcome).toHaveProperty('error');
          if (!('error' in outcome)) return;
          checkRefusal(outcome.error);
          expect(namesPath(outcome.error, path), JSON.stringify(outcome.error.problems)).toBe(true);
        },
      ),
      RUN_OPTIONS,
    );
  }, 120_000);
});

describe('YAML only a file can hold', () => {
  const minimal = JSON.stringify(BASE_DOCS[0]?.doc);
  const problemsOf = async (text: string) => {
    const outcome = await load(text);
    if (!('error' in outcome)) return [];
    checkRefusal(outcome.error);
    return outcome.error.problems;
  };

  it('refuses an alias bomb without expanding it', async () => {
    expect(
      await problemsOf(`${ALIAS_BOMB}\nauth: ${JSON.stringify(BASE_DOCS[0]?.doc['auth'])}`),
    ).toContainEqual(expect.objectContaining({ message: expect.stringMatching(/alias/i) }));
  });

  /** The minimal document with one more top-level entry, written in YAML. */
  const withEntry = (key: string, yaml: string) =>
    `${minimal.slice(0, -1)}, ${JSON.stringify(key)}: ${yaml}}`;

  it.each([
    ['an alias of no anchor', 'listener', '*nowhere', 'nowhere'],
    ['a listener as !!omap, whose port would be dropped', 'listener', '!!omap [{port: 1}]', '!!omap'],
    ['a listener as !!timestamp', 'listener', '!!timestamp 2001-12-14', '!!timestamp'],
    ['a path as !!binary', 'policy_dir', '!!binary aGVsbG8=', '!!binary'],
    ['a tag no one resolves', 'policy_dir', '!foo policies', '!foo'],
    ['a JavaScript function', 'policy_dir', '!!js/function "function () {}"', 'js/function'],
  ])('refuses %s, naming it', async (_what, key, yaml, named) => {
    const problems = await problemsOf(withEntry(key, yaml));
    expect(problems.map((p) => `${p.path}: ${p.message}`).join('\n')).toContain(named);
    expect(problems.every((p) => p.path === key)).toBe(true);
  });

  it.each([
    ['a second document', `${minimal}\n---\n${minimal}`, 'more than one YAML document'],
    [
      'lists nested too deeply',
      `${minimal.slice(0, -1)}, "x": ${'['.repeat(3000)}${']'.repeat(3000)}}`,
      'nested too deeply',
    ],
    // The yaml library recurses: at a thousand levels its second parse of a text aborted the
    // process (a reload), before authgate measured the depth first.
    ['compact sequences nested too deeply', `${minimal}\nx:\n${'- '.repeat(5000)}y\n`, 'nested too deeply'],
    [
      'mappings nested too deeply',
      `${minimal}\nx: ${'{a: '.repeat(1000)}1${'}'.repeat(1000)}\n`,
      'nested too deeply',
    ],
  ])('says so plainly for %s, every time it is read', async (_what, text, message) => {
    for (let i = 0; i < 3; i++)
      expect((await problemsOf(text)).map((p) => p.message)).toContainEqual(expect.stringContaining(message));
  });

  it.each([
    ['an escape sequence in a key', { '\u001b[31mred': 1 }],
    ['a NUL in a role name', { auth: { kubernetes: { roles: { 'ngi\u0000nx': {} } } } }],
    ['a right-to-left override in a CIDR', { listener: { trusted_proxies: ['10.0.0.0/8\u202e'] } }],
  ])('writes %s escaped, so that a terminal shows it as it is', async (_what, over) => {
    const doc = { ...(BASE_DOCS[0]?.doc ?? {}), ...over };
    const outcome = await load(JSON.stringify(doc));
    expect(outcome).toHaveProperty('error');
    if ('error' in outcome) checkRefusal(outcome.error);
  });

  it('accepts a byte-order mark, CRLF line ends and a %YAML directive', async () => {
    for (const text of [`\ufeff${minimal}`, minimal.replace(/,/g, ',\r\n'), `%YAML 1.2\n---\n${minimal}`]) {
      expect(await load(text)).toHaveProperty('config');
    }
  });
});

describe('values the schema once let through', () => {
  const minimal = BASE_DOCS[0]?.doc ?? {};
  const mount = (over: Record<string, unknown>) => ({
    ...minimal,
    auth: { kubernetes: { ...(minimal['auth'] as { kubernetes: object }).kubernetes, ...over } },
  });
  const problemsOf = async (doc: object) => {
    const outcome = await load(JSON.stringify(doc));
    if (!('error' in outcome)) return [];
    checkRefusal(outcome.error);
    return outcome.error.problems;
  };

  it.each([
    [
      'a review cache too large to allocate',
      mount({ tokenreview: { cache_max_entries: 1e10 } }),
      'cache_max_entries',
    ],
    [
      'a review cache no integer array holds',
      mount({ tokenreview: { cache_max_entries: 1e30 } }),
      'cache_max_entries',
    ],
    [
      'an audit stream length Redis cannot read',
      { ...minimal, audit: { r: { type: 'redis', max_len: 1e30 } } },
      'max_len',
    ],
    [
      'a use count past the safe integers',
      mount({ roles: { r: { ...roleDoc(), token_num_uses: 1e30 } } }),
      'token_num_uses',
    ],
  ])('refuses %s, naming the field', async (_what, doc, field) => {
    expect((await problemsOf(doc)).map((p) => p.path)).toContainEqual(
      expect.stringMatching(new RegExp(`${field}$`)),
    );
  });

  it.each([
    [
      'a NUL after the port of kubernetes_host',
      mount({ kubernetes_host: 'https://10.0.0.1:6443\u0000' }),
      'auth.kubernetes.kubernetes_host',
    ],
    [
      'a tab inside kubernetes_host',
      mount({ kubernetes_host: 'https://10.0.\t0.1' }),
      'auth.kubernetes.kubernetes_host',
    ],
    [
      'a space before the issuer',
      { ...minimal, identity: { issuer: ' https://authgate.example.com' } },
      'identity.issuer',
    ],
  ])('refuses a URL with %s, which the URL parser would silently drop', async (_what, doc, path) => {
    expect((await problemsOf(doc)).map((p) => p.path)).toContain(path);
  });

  it('refuses an auth mount inside another, as Vault does ("path is already in use")', async () => {
    const kubernetes = (minimal['auth'] as { kubernetes: object }).kubernetes;
    const problems = await problemsOf({ ...minimal, auth: { team: kubernetes, 'team/config': kubernetes } });
    expect(problems).toContainEqual(
      expect.objectContaining({ path: 'auth.team/config', message: 'is inside the mount team' }),
    );
  });

  it.each(['token', 'token/k8s'])(
    "refuses an auth mount at %s: auth/token/ is the token store, as Vault's own mount",
    async (name) => {
      const kubernetes = (minimal['auth'] as { kubernetes: object }).kubernetes;
      const problems = await problemsOf({ ...minimal, auth: { kubernetes, [name]: kubernetes } });
      expect(problems).toContainEqual(
        expect.objectContaining({
          path: `auth.${name}`,
          message: 'auth/token/ is the token store, which authgate serves itself; name the mount otherwise',
        }),
      );
    },
  );

  it.each(['.inf', '1e309', '.nan'])(
    'says a duration of %s is not one, not that it is "null"',
    async (raw) => {
      const text = `${JSON.stringify(minimal).slice(0, -1)}, "listener": {"request_timeout": ${raw}}}`;
      const outcome = await load(text);
      const messages = 'error' in outcome ? outcome.error.problems.map((p) => p.message) : [];
      expect(messages).toContainEqual(expect.stringContaining('expected a duration'));
      expect(messages.join()).not.toContain('null');
    },
  );
});
