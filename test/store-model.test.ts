import fc from 'fast-check';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFakeClock, systemClock, type FakeClock } from '../src/lib/clock.js';
import { createMemoryStore, createRedisStore, type MemoryStore, type Store } from '../src/store/index.js';
import { StoreModel, type Span } from './helpers/store-model.js';
import {
  LONG_TTL,
  name,
  observations,
  perform,
  scenario,
  value,
  type Outcome,
  type StoreOp,
} from './helpers/store-ops.js';
import {
  startRedis,
  startRedisCluster,
  storeAnswers,
  type RedisCluster,
  type RedisServer,
} from './helpers/redis-server.js';

/*
 * The Store interface (src/store/store.ts) as a property: random sequences of calls (every
 * method: odd keys and values, TTLs of every sort, batches, expiring indexes, streams) go to the
 * memory store, a Redis and a Redis Cluster, and each answer is checked against a model of the
 * interface's documentation (test/helpers/store-model.ts); the stores' answers are also compared
 * with each other. Four properties:
 *
 * - no time: TTLs of a minute and more, nothing expires during a run; the stores must answer alike;
 * - a fake clock: the memory store, TTLs of milliseconds to seconds, time advanced between calls;
 * - real time, sparingly: short real TTLs and waits; where a call falls too close to an expiry to
 *   say, either answer is right (the model counts time in intervals, see store-model.ts);
 * - publish and subscribe, on every store.
 *
 * Seed and size: FUZZ_SEED, FUZZ_RUNS (the first property's runs; the others take a share);
 * FUZZ_PATH replays one case. A failure prints the shrunk sequence and which call of which store
 * answered what.
 */

const SEED = Number(process.env['FUZZ_SEED'] ?? 20260715);
const RUNS = Number(process.env['FUZZ_RUNS'] ?? 80);
const PATH = process.env['FUZZ_PATH'];
const RUN_OPTIONS = { seed: SEED, ...(PATH === undefined ? {} : { path: PATH }) };

const quiet = { info: () => undefined, warn: () => undefined };
let redis: RedisServer;
let cluster: RedisCluster;
let redisStore: Store;
let clusterStore: Store;
/** Plain connections to every server, to empty them between runs. */
let admins: Redis[] = [];

beforeAll(async () => {
  [redis, cluster] = await Promise.all([startRedis(), startRedisCluster()]);
  redisStore = createRedisStore({ url: redis.url }, { log: quiet });
  // As a single Redis keeps index members: exactly as long as asked (the grace is tested elsewhere).
  clusterStore = createRedisStore({ clusterNodes: cluster.nodes }, { log: quiet, clusterIndexGraceMs: 0 });
  await Promise.all([storeAnswers(redisStore), storeAnswers(clusterStore)]);
  admins = [redis.port, ...cluster.nodes.map((n) => n.port)].map(
    (port) => new Redis({ port, host: '127.0.0.1' }),
  );
});
afterAll(async () => {
  for (const a of admins) a.disconnect();
  await redisStore?.close();
  await clusterStore?.close();
  await redis?.stop();
  await cluster?.stop();
});

/** One store under test, with its sense of time. */
type Subject = {
  name: string;
  store: Store;
  /** The interval in which the store saw a call made between `before` and `after` (ms). */
  instant(before: number, after: number): Span;
  now(): number;
  /** How much later than asked the store may expire an index member. */
  memberLeewayMs: number;
};

/** Real time: the store saw the call somewhere between the two readings of the clock, give or take. */
const realTime = {
  instant: (before: number, after: number) => ({ lo: before - 2, hi: after + 2 }),
  now: () => Date.now(),
};
const redisSubjects = (): Subject[] => [
  { name: 'redis', store: redisStore, memberLeewayMs: 0, ...realTime },
  { name: 'redis-cluster', store: clusterStore, memberLeewayMs: 0, ...realTime },
];
/** The memory store keeps an index member's expiry to the second, rounded up (expiring-set.ts). */
const MEMORY_MEMBER_LEEWAY_MS = 1000;
const fakeClockMemory = (clock: FakeClock): Subject & { store: MemoryStore } => ({
  name: 'memory',
  store: createMemoryStore({ clock, sweepIntervalMs: 0 }),
  instant: () => ({ lo: clock.nowMs(), hi: clock.nowMs() }),
  now: () => clock.nowMs(),
  memberLeewayMs: MEMORY_MEMBER_LEEWAY_MS,
});

const emptyRedis = () => Promise.all(admins.map((a) => a.flushall()));

/** What two stores must answer alike, whatever their clocks: ids, TTLs and streams left aside. */
const comparable = (op: StoreOp, outcome: Outcome): unknown => {
  if ('error' in outcome) return 'error';
  const r = outcome.ok;
  switch (op.op) {
    case 'ttlMs':
      return typeof r === 'number' && Number.isFinite(r) ? 'finite' : r;
    case 'streamAdd':
      return 'id';
    case 'setMembers':
    case 'indexMembers':
      return [...(r as string[])].sort();
    case 'streamRange':
      // Each store trims a stream in its own way (Redis by whole nodes, of 100 entries or 4 kB), so
      // what one holds is not what the other does: each is checked against its model only.
      return 'read';
    default:
      return r;
  }
};

const describeOp = (op: StoreOp): string =>
  JSON.stringify(op, (_, v: unknown) =>
    typeof v === 'number' && !Number.isFinite(v)
      ? String(v)
      : typeof v === 'string' && v.length > 60
        ? `${v.slice(0, 20)}…(${v.length})`
        : v,
  );

/**
 * Makes `ops` on every subject, each followed by the reads that show what it wrote, and checks
 * every answer against that subject's model; with `alike`, also against the first subject's.
 */
const runOn = async (
  subjects: Subject[],
  ops: StoreOp[],
  options: { alike: boolean; wait: (ms: number) => Promise<void> | void; sweep?: () => void },
): Promise<void> => {
  const models = subjects.map((s) => new StoreModel({ memberLeewayMs: s.memberLeewayMs }));
  for (const [n, op] of ops.entries()) {
    if (op.op === 'wait') await options.wait(op.ms);
    if (op.op === 'sweep') options.sweep?.();
    for (const step of [op, ...observations(op)]) {
      const answers: unknown[] = [];
      for (const [i, subject] of subjects.entries()) {
        const model = models[i] as StoreModel;
        const before = subject.now();
        const outcome = await perform(subject.store, step, (key) => model.streamIds(key));
        const after = subject.now();
        const where = `${subject.name}, call ${n} ${describeOp(step)}`;
        try {
          model.check(step, outcome, subject.instant(before, after));
        } catch (err) {
          throw new Error(`${where}: ${(err as Error).message}`, { cause: err });
        }
        answers.push(comparable(step, outcome));
      }
      if (options.alike)
        for (const [i, answer] of answers.entries())
          expect(
            answer,
            `${subjects[i]?.name} and ${subjects[0]?.name} differ on call ${n} ${describeOp(step)}`,
          ).toEqual(answers[0]);
    }
  }
};

describe('the stores against a model of the Store interface', () => {
  it('answer alike and as documented when nothing expires meanwhile', async () => {
    await fc.assert(
      fc.asyncProperty(scenario({ ttl: LONG_TTL, maxOps: 25 }), async (ops) => {
        await emptyRedis();
        const memory = fakeClockMemory(createFakeClock());
        try {
          await runOn([memory, ...redisSubjects()], ops, { alike: true, wait: () => undefined });
        } finally {
          await memory.store.close();
        }
      }),
      { ...RUN_OPTIONS, numRuns: RUNS },
    );
  }, 120_000);

  it('expire entries, counters and index members as documented (memory store, fake clock)', async () => {
    const shortTtl = fc.oneof(
      fc.constantFrom(Number.MIN_VALUE, 0.5, 1, 1.5, 999, 1000, 1001),
      fc.integer({ min: 1, max: 3000 }),
      fc.double({ min: Number.MIN_VALUE, max: 3000, noNaN: true }),
    );
    await fc.assert(
      fc.asyncProperty(
        scenario({
          ttl: fc.oneof(shortTtl, LONG_TTL),
          waitMs: fc.integer({ min: 0, max: 2500 }),
          sweeps: true,
          maxOps: 30,
        }),
        async (ops) => {
          const clock = createFakeClock(Date.UTC(2026, 0, 1) + 250);
          const memory = fakeClockMemory(clock);
          try {
            await runOn([memory], ops, {
              alike: false,
              wait: (ms) => clock.advanceMs(ms),
              sweep: () => memory.store.sweep(),
            });
          } finally {
            await memory.store.close();
          }
        },
      ),
      { ...RUN_OPTIONS, numRuns: RUNS * 3 },
    );
  }, 120_000);

  it('expire entries as documented in real time (short TTLs, few runs)', async () => {
    await fc.assert(
      fc.asyncProperty(
        scenario({
          ttl: fc.integer({ min: 1, max: 300 }),
          waitMs: fc.integer({ min: 0, max: 250 }),
          maxOps: 12,
        }),
        async (ops) => {
          await emptyRedis();
          const memory: Subject & { store: MemoryStore } = {
            name: 'memory (system clock)',
            store: createMemoryStore({ clock: systemClock, sweepIntervalMs: 0 }),
            memberLeewayMs: MEMORY_MEMBER_LEEWAY_MS,
            ...realTime,
          };
          try {
            await runOn([memory, ...redisSubjects()], ops, {
              alike: false,
              wait: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
            });
          } finally {
            await memory.store.close();
          }
        },
      ),
      { ...RUN_OPTIONS, numRuns: Math.max(1, Math.ceil(RUNS / 8)) },
    );
  }, 120_000);
});

/** One step of a pub/sub sequence: subscribe to a channel, drop a subscription, or publish. */
type PubSubOp =
  | { op: 'subscribe'; channel: string }
  | { op: 'unsubscribe'; index: number }
  | { op: 'publish'; channel: string; message: string };

const PUBSUB = fc.uniqueArray(name, { minLength: 1, maxLength: 3 }).chain((channels) =>
  fc.array(
    fc.oneof(
      fc.record({ op: fc.constant('subscribe' as const), channel: fc.constantFrom(...channels) }),
      fc.record({ op: fc.constant('unsubscribe' as const), index: fc.nat(5) }),
      fc.record({
        op: fc.constant('publish' as const),
        channel: fc.constantFrom(...channels),
        message: value,
      }),
    ),
    { minLength: 1, maxLength: 12 },
  ),
);

/** Resolves once `done()` holds; rejects after `timeoutMs`. */
const until = async (done: () => boolean, what: string, timeoutMs = 2000): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
};

/**
 * Runs `ops` on `store`: every message reaches each subscription of its channel that is live when
 * it is published, once, in order, and none other. Each publish is awaited until delivered, so
 * what a subscription must have received is known exactly.
 */
const runPubSub = async (store: Store, ops: PubSubOp[]): Promise<void> => {
  type Subscription = {
    channel: string;
    got: string[];
    expected: string[];
    unsubscribe?: () => Promise<void>;
  };
  const subscriptions: Subscription[] = [];
  const live = () => subscriptions.filter((s) => s.unsubscribe !== undefined);
  // A probe on every channel, first: a message reaches the handlers subscribed when it arrives (a
  // subscription made while one is on its way gets it), so each publish waits until it has arrived.
  const probes: Subscription[] = [];
  for (const channel of new Set(ops.flatMap((op) => ('channel' in op ? [op.channel] : [])))) {
    const probe: Subscription = { channel, got: [], expected: [] };
    probe.unsubscribe = await store.subscribe(channel, (m) => probe.got.push(m));
    probes.push(probe);
  }
  for (const op of ops) {
    if (op.op === 'subscribe') {
      const s: Subscription = { channel: op.channel, got: [], expected: [] };
      s.unsubscribe = await store.subscribe(op.channel, (m) => s.got.push(m));
      subscriptions.push(s);
    } else if (op.op === 'unsubscribe') {
      const s = live()[op.index];
      if (s === undefined) continue;
      await s.unsubscribe?.();
      delete s.unsubscribe;
    } else {
      const receivers = [...live(), ...probes].filter((s) => s.channel === op.channel);
      for (const s of receivers) s.expected.push(op.message);
      await store.publish(op.channel, op.message);
      await until(() => receivers.every((s) => s.got.length >= s.expected.length), 'a message');
    }
  }
  // A last message on every channel, after which nothing published before can still be on its way.
  for (const channel of new Set(subscriptions.map((s) => s.channel))) {
    const receivers = [...live(), ...probes].filter((s) => s.channel === channel);
    for (const s of receivers) s.expected.push('end');
    await store.publish(channel, 'end');
    await until(() => receivers.every((s) => s.got.length >= s.expected.length), 'the last message');
  }
  for (const s of [...subscriptions, ...probes]) {
    expect(s.got, `messages on ${JSON.stringify(s.channel)}`).toEqual(s.expected);
    await s.unsubscribe?.();
  }
};

describe('publish and subscribe', () => {
  it('deliver each message once, in order, to the subscriptions live when it was published', async () => {
    const clock = createFakeClock();
    await fc.assert(
      fc.asyncProperty(PUBSUB, async (ops) => {
        const memory = createMemoryStore({ clock, sweepIntervalMs: 0 });
        try {
          for (const store of [memory, redisStore, clusterStore]) await runPubSub(store, ops);
        } finally {
          await memory.close();
        }
      }),
      { ...RUN_OPTIONS, numRuns: Math.max(1, Math.ceil(RUNS / 4)) },
    );
  }, 120_000);
});
