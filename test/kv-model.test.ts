import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFakeClock } from '../src/lib/clock.js';
import { createRedisStore, type Store } from '../src/store/index.js';
import { ADMIN_TOKEN, startHarness, type Harness } from './helpers/harness.js';
import { startRedis, storeAnswers, type RedisServer } from './helpers/redis-server.js';
import { envelope, MERGE, NO_CONTENT, NOT_FOUND } from './helpers/kv-suite.js';
import { createCommands, type Cmd } from './helpers/kv-model-commands.js';
import {
  addVersion,
  badRequest,
  casProblem,
  isGone,
  mergePatch,
  newSecret,
  versionView,
  type Answer,
  type Json,
  type JsonObject,
  type Model,
  type ModelSecret,
  type ModelVersion,
} from './helpers/kv-model.js';
import {
  cas,
  data,
  FOLDERS,
  leaf,
  metadataBody,
  metadataPatch,
  path,
  patch,
  signedDuration,
  versionList,
} from './helpers/kv-model-inputs.js';

/*
 * KV version 2 against a model of Vault's engine (helpers/kv-model.ts): generated sequences of
 * requests — writes with and without check-and-set, merge patches, reads of any version, soft
 * delete, undelete, destroy, metadata (max_versions up and down, cas_required,
 * delete_version_after as the fake clock moves, custom_metadata), lists, subkeys, the mount's
 * config, and requests sent at once — each answer compared whole with the model's: status,
 * body, Vault's error strings. On a memory store, then on two replicas sharing a Redis.
 *
 * One server (or pair) for the whole run; each sequence works under a prefix of its own and
 * starts by resetting the mount's config. Seed and size: FUZZ_SEED, FUZZ_RUNS; a failure prints
 * the shrunk sequence, the seed and the path (FUZZ_PATH replays that one case).
 */

const SEED = Number(process.env['FUZZ_SEED'] ?? 20260701);
const RUNS = Number(process.env['FUZZ_RUNS'] ?? 150);
const PATH = process.env['FUZZ_PATH'];
const RUN_OPTIONS = { seed: SEED, numRuns: RUNS, ...(PATH === undefined ? {} : { path: PATH }) };

const clock = createFakeClock(Date.UTC(2026, 6, 1));
/** The servers of the run: one on a memory store, or two replicas sharing a Redis; requests take turns. */
let servers: Harness[] = [];
let turn = 0;
/** One server key for every replica: the key that seals secret values is derived from it. */
const serverKey = randomBytes(32);
const startServer = (store?: Store) =>
  startHarness({
    serverKey,
    clock,
    audit: null,
    ...(store ? { store } : {}),
    config: { secrets: { kv: { secret: {} } } },
  });

const send = async (method: string, url: string, body?: unknown, type?: string): Promise<Answer> => {
  turn += 1;
  const h = servers[turn % servers.length] as Harness;
  const res = await h.server.app.inject({
    method: method as 'GET',
    url,
    headers: {
      'x-vault-token': ADMIN_TOKEN,
      ...(body === undefined ? {} : { 'content-type': type ?? 'application/json' }),
    },
    ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
  });
  return { status: res.statusCode, json: res.body === '' ? undefined : (res.json() as unknown) };
};

/** The requests against one secret (or the config), in the model's terms. */
const cmd = createCommands({ send, clock });

/** The version each answer reports, -1 for an answer that is not a 200. */
const versionsOf = (answers: Answer[]): number[] =>
  answers.map((a) => (a.status === 200 ? (a.json as { data: { version: number } }).data.version : -1));

/**
 * The 200 answers of requests sent at once, which the secret's lock made take turns: their
 * versions must be the next ones, one each. Adds each to the model in the order the server took
 * them (`dataFor` gets the version it builds on) and returns the answer each should have had,
 * by request: the view of its version when written (a later write may trim it).
 */
const takeTurns = (
  m: Model,
  secret: ModelSecret,
  answers: Answer[],
  dataFor: (i: number, previous: ModelVersion | undefined) => JsonObject,
): Map<number, Answer> => {
  const versions = versionsOf(answers);
  const order = [...versions.keys()]
    .filter((i) => versions[i] !== -1)
    .sort((x, y) => (versions[x] as number) - (versions[y] as number));
  expect(
    order.map((i) => versions[i]),
    JSON.stringify(answers),
  ).toEqual(order.map((_, j) => secret.current + 1 + j));
  const expected = new Map<number, Answer>();
  for (const i of order) {
    addVersion(secret, m.config, dataFor(i, secret.versions.get(secret.current)), clock.nowMs());
    expected.set(i, { status: 200, json: envelope(versionView(secret, secret.current)) });
  }
  return expected;
};

/**
 * Writes sent at once to one secret, all without cas or all with the current version's: without
 * cas each gets a version of its own; with it exactly one wins, the others are refused.
 */
const concurrentWritesCmd = (p: string, datas: JsonObject[], withCas: boolean): Cmd =>
  cmd.command(`concurrent writes ${p} x${datas.length}${withCas ? ' cas=current' : ''}`, async (m, r) => {
    const s = m.secrets.get(p);
    const casValue = withCas ? (s?.current ?? 0) : undefined;
    const options = withCas ? { options: { cas: casValue } } : {};
    const answers = await Promise.all(
      datas.map((d) => send('POST', cmd.url(r, 'data', p), { data: d, ...options })),
    );
    const problem = casProblem(casValue, m.config, s);
    if (problem !== undefined) {
      for (const a of answers) cmd.check(a, badRequest(problem), 'concurrent write');
      return;
    }
    const secret = s ?? newSecret(clock.nowMs());
    m.secrets.set(p, secret);
    const won = takeTurns(m, secret, answers, (i) => datas[i] as JsonObject);
    expect(won.size).toBe(withCas ? 1 : datas.length);
    const lost = badRequest('check-and-set parameter did not match the current version');
    answers.forEach((a, i) => cmd.check(a, won.get(i) ?? lost, 'concurrent write'));
  });

/** Patches of distinct keys sent at once to one secret: each makes a version, none loses another's key. */
const concurrentPatchesCmd = (p: string, values: Json[]): Cmd =>
  cmd.command(`concurrent patches ${p} x${values.length}`, async (m, r) => {
    const patches: JsonObject[] = values.map((v, i) => ({ [`c${i}`]: v }));
    const answers = await Promise.all(
      patches.map((d) => send('PATCH', cmd.url(r, 'data', p), { data: d }, MERGE)),
    );
    const s = m.secrets.get(p);
    const current = s?.versions.get(s.current);
    const problem = casProblem(undefined, m.config, s);
    // What one patch finds, all find: none of them changes it.
    let refused: Answer | undefined;
    if (s === undefined || (problem === undefined && current === undefined)) refused = NOT_FOUND;
    else if (problem !== undefined) refused = badRequest(problem);
    else if (isGone(current as ModelVersion, clock.nowMs()))
      refused = { status: 404, json: envelope(versionView(s, s.current), '') };
    if (s === undefined || refused !== undefined) {
      for (const a of answers) cmd.check(a, refused ?? NOT_FOUND, 'concurrent patch');
      return;
    }
    const done = takeTurns(
      m,
      s,
      answers,
      (i, previous) => mergePatch(previous?.data, patches[i] as JsonObject) as JsonObject,
    );
    answers.forEach((a, i) =>
      // Every patch must have made a version: one that did not is shown against this.
      cmd.check(a, done.get(i) ?? { status: 200, json: 'a new version' }, 'concurrent patch'),
    );
  });

/**
 * Requests to distinct secrets sent at once (writes, patches, deletes, metadata): they commute, so
 * each answers as if alone, in any order. Then every folder is listed: a secret created while a
 * neighbour is deleted must not vanish from its folders, nor a deleted one linger.
 */
const concurrentCmd = (cmds: Cmd[]): Cmd =>
  cmd.command(`at once [${cmds.map(String).join('; ')}]`, async (m, r) => {
    await Promise.all(cmds.map((c) => c.run(m, r)));
    for (const folder of FOLDERS) await cmd.listCmd(folder).run(m, r);
  });
const onePath = (p: string): fc.Arbitrary<Cmd> =>
  fc.oneof(
    fc.tuple(data, cas).map(([d, c]) => cmd.writeCmd(p, d, c)),
    fc.tuple(patch, cas).map(([d, c]) => cmd.patchCmd(p, d, c)),
    fc.constant(p).map(cmd.deleteLatestCmd),
    fc.constant(p).map(cmd.deleteMetadataCmd),
    fc.constant(p).map(cmd.deleteMetadataCmd),
    metadataBody.map((b) => cmd.writeMetadataCmd(p, b)),
  );

const version = fc.option(fc.integer({ min: -1, max: 12 }), { nil: undefined });
const COMMANDS = [
  fc.tuple(path, data, cas).map(([p, d, c]) => cmd.writeCmd(p, d, c)),
  fc.tuple(path, data, cas).map(([p, d, c]) => cmd.writeCmd(p, d, c)),
  fc.tuple(path, patch, cas).map(([p, d, c]) => cmd.patchCmd(p, d, c)),
  fc.tuple(path, version).map(([p, v]) => cmd.readCmd(p, v)),
  fc.tuple(path, version).map(([p, v]) => cmd.readCmd(p, v)),
  fc
    .tuple(path, version, fc.option(fc.integer({ min: 0, max: 2 }), { nil: undefined }))
    .map(([p, v, d]) => cmd.subkeysCmd(p, v, d)),
  fc
    .tuple(path, fc.array(data, { minLength: 2, maxLength: 4 }), fc.boolean())
    .map(([p, ds, c]) => concurrentWritesCmd(p, ds, c)),
  fc
    .tuple(path, fc.array(leaf, { minLength: 2, maxLength: 4 }))
    .map(([p, vs]) => concurrentPatchesCmd(p, vs)),
  fc
    .uniqueArray(path, { minLength: 2, maxLength: 4 })
    .chain((paths) => fc.tuple(...paths.map(onePath)))
    .map(concurrentCmd),
  path.map(cmd.deleteLatestCmd),
  fc
    .tuple(
      fc.constantFrom<'delete' | 'undelete' | 'destroy'>('delete', 'undelete', 'destroy'),
      path,
      versionList,
      fc.boolean(),
    )
    .map(([op, p, vs, s]) => cmd.versionsCmd(op, p, vs, s)),
  path.map(cmd.readMetadataCmd),
  fc.tuple(path, metadataBody).map(([p, b]) => cmd.writeMetadataCmd(p, b)),
  fc.tuple(path, metadataPatch).map(([p, b]) => cmd.patchMetadataCmd(p, b)),
  path.map(cmd.deleteMetadataCmd),
  fc.constantFrom(...FOLDERS).map(cmd.listCmd),
  fc
    .record(
      {
        max_versions: fc.integer({ min: 0, max: 3 }),
        cas_required: fc.boolean(),
        delete_version_after: signedDuration,
      },
      { requiredKeys: [] },
    )
    .map(cmd.writeConfigCmd),
  fc.constant(null).map(cmd.readConfigCmd),
  fc
    .oneof(fc.constantFrom(0, 1, 999, 1000, 30_000, 3_600_000), fc.integer({ min: 1, max: 7_200_000 }))
    .map(cmd.advanceCmd),
];

let sequences = 0;
/** A fresh prefix and the mount's settings back to Vault's defaults. */
const setup = async () => {
  sequences += 1;
  const reset = { max_versions: 0, cas_required: false, delete_version_after: '0s' };
  expect(await send('POST', '/v1/secret/config', reset)).toEqual(NO_CONTENT);
  const model: Model = {
    secrets: new Map(),
    config: { maxVersions: 0, casRequired: false, deleteAfterSeconds: 0 },
  };
  return { model, real: { prefix: `m${sequences}` } };
};

const property = () =>
  fc.asyncProperty(fc.commands(COMMANDS, { maxCommands: 60, size: 'max' }), (cmds) =>
    fc.asyncModelRun(setup, cmds),
  );

describe('KV v2 against a model of Vault’s engine', () => {
  describe('on the memory store', () => {
    beforeAll(async () => {
      servers = [await startServer()];
    });
    afterAll(async () => {
      for (const s of servers) await s.close();
    });

    it('answers every generated sequence of requests as the model says', async () => {
      await fc.assert(property(), RUN_OPTIONS);
    }, 120_000);
  });

  describe('on two replicas sharing a Redis', () => {
    const quiet = { info: () => undefined, warn: () => undefined };
    let redis: RedisServer;
    const stores: Store[] = [];
    beforeAll(async () => {
      redis = await startRedis();
      const replica = async () => {
        const store = createRedisStore({ url: redis.url }, { log: quiet });
        stores.push(store);
        await storeAnswers(store);
        return startServer(store);
      };
      servers = [await replica(), await replica()];
    });
    afterAll(async () => {
      for (const s of servers) await s.close();
      await Promise.all(stores.map((s) => s.close().catch(() => undefined)));
      await redis?.stop();
    });

    it('answers every generated sequence of requests as the model says', async () => {
      await fc.assert(property(), { ...RUN_OPTIONS, numRuns: Math.ceil(RUNS / 5) });
    }, 120_000);
  });
});
