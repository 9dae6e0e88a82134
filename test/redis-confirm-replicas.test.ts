import { Redis } from 'ioredis';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createRedisStore, StoreUnavailableError, type Store } from '../src/store/index.js';
import { adminCall, startHarness, type Harness } from './helpers/harness.js';
import { startTcpProxy, type TcpProxy } from './helpers/tcp-proxy.js';
import { startRedis, storeAnswers, type RedisServer } from './helpers/redis-server.js';

/**
 * `store.redis.confirm_replicas`: a revocation or a secret write is answered only once a replica
 * holds it (Redis WAIT), so that a failover cannot undo it. A master with one replica; the replica
 * is frozen (SIGSTOP) to stand for one that is down or behind.
 */

let master: RedisServer;
let replica: RedisServer;
let replicaPid: number;
let h: Harness;
let dir: string;

const linkUp = async (port: number): Promise<void> => {
  const r = new Redis({ port, lazyConnect: true });
  await r.connect();
  try {
    // Up to 15 s: a loaded machine (two test workers) slows a replica's first sync.
    for (let i = 0; i < 300; i++) {
      if ((await r.info('replication')).includes('master_link_status:up')) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error('the replica never caught up with its master');
  } finally {
    r.disconnect();
  }
};

beforeAll(async () => {
  master = await startRedis();
  replica = await startRedis({ args: ['--replicaof', '127.0.0.1', String(master.port)] });
  await linkUp(replica.port);
  const r = new Redis({ port: replica.port });
  replicaPid = Number(/process_id:(\d+)/.exec(await r.info('server'))?.[1]);
  r.disconnect();
  dir = mkdtempSync(join(tmpdir(), 'authgate-confirm-'));
  writeFileSync(join(dir, 'kv.key'), randomBytes(32).toString('base64'));
  writeFileSync(join(dir, 'server.key'), randomBytes(32).toString('base64'));
  h = await startHarness({
    config: {
      store: { type: 'redis', redis: { url: master.url, confirm_replicas: 1, confirm_timeout: '1s' } },
      secrets: { encryption_key_file: join(dir, 'kv.key') },
      server_key_file: join(dir, 'server.key'),
    },
  });
  expect(await storeAnswers(h.server.store)).toBe(true);
});
afterEach(() => {
  // Never leave the replica frozen for the next test.
  process.kill(replicaPid, 'SIGCONT');
});
afterAll(async () => {
  await h?.close();
  await replica?.stop();
  await master?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const clientToken = async (): Promise<{ token: string; accessor: string }> => {
  const res = await h.login('jwks', { role: 'nginx', jwt: await h.podToken() });
  expect(res.status).toBe(200);
  const auth = res.json['auth'] as { client_token: string; accessor: string };
  return { token: auth.client_token, accessor: auth.accessor };
};

const revokeSelf = (token: string) =>
  h.server.app.inject({
    method: 'POST',
    url: '/v1/auth/token/revoke-self',
    headers: { 'x-vault-token': token },
  });

/** How many WAIT commands the master has run. */
const waitCalls = async (): Promise<number> => {
  const m = new Redis({ port: master.port });
  try {
    return Number(/cmdstat_wait:calls=(\d+)/.exec(await m.info('commandstats'))?.[1] ?? 0);
  } finally {
    m.disconnect();
  }
};

const UNCONFIRMED = "the revocation is not yet confirmed by the token store's replicas; repeat it";

describe('revocations confirmed by a replica', () => {
  it('answers a revocation once the replica holds it', async () => {
    const { token } = await clientToken();
    expect((await revokeSelf(token)).statusCode).toBe(204);
    // Answered once the replica has it: both hold the same keys the moment the answer comes.
    const [m, r] = [new Redis({ port: master.port }), new Redis({ port: replica.port })];
    try {
      expect((await r.keys('ag:token:*')).sort()).toStrictEqual((await m.keys('ag:token:*')).sort());
    } finally {
      m.disconnect();
      r.disconnect();
    }
    const lookup = await h.server.app.inject({
      url: '/v1/auth/token/lookup-self',
      headers: { 'x-vault-token': token },
    });
    expect(lookup.statusCode).toBe(403);
  });

  it('answers 503 when the replica does not confirm in time, the waiting revocations in rounds, logins served meanwhile', async () => {
    const tokens = await Promise.all([clientToken(), clientToken(), clientToken(), clientToken()]);
    const waitsBefore = await waitCalls();
    process.kill(replicaPid, 'SIGSTOP');
    let settled = false;
    const revocations = Promise.all(
      tokens.map(({ accessor }) => adminCall(h, 'POST', '/v1/auth/token/revoke-accessor', { accessor })),
    ).finally(() => {
      settled = true;
    });
    // The shared connection is not held by the wait: a login goes through while it lasts.
    const login = await h.login('jwks', { role: 'nginx', jwt: await h.podToken() });
    expect(login.status).toBe(200);
    expect(settled).toBe(false);

    const answers = await revocations;
    for (const a of answers) {
      expect(a.status).toBe(503);
      expect(a.json).toStrictEqual({ errors: [UNCONFIRMED] });
    }
    // Rounds, not a queue: the four revocations waited together, in two WAITs at most.
    expect((await waitCalls()) - waitsBefore).toBeLessThanOrEqual(2);

    // The revocation stands on the master: the tokens are refused already.
    for (const { token } of tokens) {
      const res = await h.server.app.inject({
        url: '/v1/auth/token/lookup-self',
        headers: { 'x-vault-token': token },
      });
      expect(res.statusCode).toBe(403);
    }
    // Repeated once the replica is back, it is confirmed.
    process.kill(replicaPid, 'SIGCONT');
    await linkUp(replica.port);
    const again = await adminCall(h, 'POST', '/v1/auth/token/revoke-accessor', {
      accessor: tokens[0]?.accessor,
    });
    expect(again.status).toBe(200);
  });

  it('holds a revocation by identity to the replica too', async () => {
    await clientToken();
    process.kill(replicaPid, 'SIGSTOP');
    const res = await adminCall(h, 'POST', '/v1/auth/token/revoke-identity', {
      namespace: 'test',
      service_account: 'nginx',
    });
    expect(res.status).toBe(503);
    expect(res.json).toStrictEqual({ errors: [UNCONFIRMED] });
  });

  it('answers a repeated revocation only once the replica holds the first, though it finds nothing left to delete', async () => {
    const { accessor } = await clientToken();
    process.kill(replicaPid, 'SIGSTOP');
    const first = await adminCall(h, 'POST', '/v1/auth/token/revoke-accessor', { accessor });
    expect(first.status).toBe(503);
    // Repeated as the 503 asks: the master holds the revocation, the replica still does not.
    const again = await adminCall(h, 'POST', '/v1/auth/token/revoke-accessor', { accessor });
    expect(again.status).toBe(503);
    expect(again.json).toStrictEqual({ errors: [UNCONFIRMED] });

    // revoke-orphan answers a token it does not find with a 400 (as Vault): not before the
    // replicas hold the revocation that removed it either.
    const { token } = await clientToken();
    const orphan = await adminCall(h, 'POST', '/v1/auth/token/revoke-orphan', { token });
    expect(orphan.status).toBe(503);
    const orphanAgain = await adminCall(h, 'POST', '/v1/auth/token/revoke-orphan', { token });
    expect(orphanAgain.status).toBe(503);
    expect(orphanAgain.json).toStrictEqual({ errors: [UNCONFIRMED] });

    // A pod of its own: every token its index lists is deleted by the first call.
    const { uid } = h.cluster.createPod({ namespace: 'test', name: 'confirm-0', serviceAccount: 'nginx' });
    const login = await h.login('jwks', { role: 'nginx', jwt: await h.podToken({ pod: 'confirm-0' }) });
    expect(login.status).toBe(200);
    const byIdentity = { pod_uid: uid };
    expect((await adminCall(h, 'POST', '/v1/auth/token/revoke-identity', byIdentity)).status).toBe(503);
    const identityAgain = await adminCall(h, 'POST', '/v1/auth/token/revoke-identity', byIdentity);
    expect(identityAgain.status).toBe(503);
    expect(identityAgain.json).toStrictEqual({ errors: [UNCONFIRMED] });

    process.kill(replicaPid, 'SIGCONT');
    await linkUp(replica.port);
    expect((await adminCall(h, 'POST', '/v1/auth/token/revoke-identity', byIdentity)).status).toBe(200);
  });
});

describe('secret writes confirmed by a replica', () => {
  it('answers a write once the replica holds it, and 503 when it does not confirm in time', async () => {
    const ok = await adminCall(h, 'POST', '/v1/secret/data/app/db', { data: { password: 'kv-secret-1' } });
    expect(ok.status).toBe(200);
    process.kill(replicaPid, 'SIGSTOP');
    const destroyed = await adminCall(h, 'PUT', '/v1/secret/destroy/app/db', { versions: [1] });
    expect(destroyed.status).toBe(503);
    expect(destroyed.json).toStrictEqual({
      errors: ["the write is not yet confirmed by the store's replicas; repeat it"],
    });
    process.kill(replicaPid, 'SIGCONT');
    await linkUp(replica.port);
    expect((await adminCall(h, 'PUT', '/v1/secret/destroy/app/db', { versions: [1] })).status).toBe(204);
  });
});

/**
 * The id of a client connected to `on` whose last command was `cmd`; with `via`, only one that
 * came through that proxy (the harness's own connections to the master run WAIT too).
 */
const clientWhoseLast = async (on: Redis, cmd: string, via?: TcpProxy): Promise<string | undefined> => {
  const ports = via?.upstreamPorts();
  for (const line of ((await on.client('LIST')) as string).split('\n')) {
    const m = new RegExp(`^id=(\\d+) addr=[^ ]*:(\\d+) .*\\bcmd=${cmd}(?: |$)`).exec(line);
    if (m !== null && (ports === undefined || ports.has(Number(m[2])))) return m[1];
  }
  return undefined;
};

describe('the confirming connection', () => {
  /**
   * Runs `fn` with a store that reaches the master through a proxy, another master with a replica
   * that answers (where the proxy can send the next connections: a failover), and a plain client
   * of the first master; all closed after.
   */
  const withOtherMaster = async (
    timeoutMs: number,
    fn: (t: { store: Store; proxy: TcpProxy; other: RedisServer; m: Redis }) => Promise<void>,
  ): Promise<void> => {
    const other = await startRedis();
    const otherReplica = await startRedis({ args: ['--replicaof', '127.0.0.1', String(other.port)] });
    const proxy = await startTcpProxy(master.port);
    const store = createRedisStore(
      { url: `redis://127.0.0.1:${proxy.port}` },
      {
        log: { info: () => undefined, warn: () => undefined },
        confirm: { replicas: 1, timeoutMs, probeKey: 'ag:confirm-other-probe' },
      },
    );
    const m = new Redis({ port: master.port });
    try {
      await linkUp(otherReplica.port);
      expect(await storeAnswers(store)).toBe(true);
      await fn({ store, proxy, other, m });
    } finally {
      m.disconnect();
      await store.close();
      await proxy.close();
      await otherReplica.stop();
      await other.stop();
    }
  };

  it('refuses a confirmation whose connection moved to another server while it waited (a failover)', async () => {
    await withOtherMaster(5000, async ({ store, proxy, other, m }) => {
      await store.confirmReplicated?.();
      process.kill(replicaPid, 'SIGSTOP');
      // The revocation reaches the master; its replica does not have it.
      await store.set('ag:confirm-moved', '1');
      const confirming = store.confirmReplicated?.();
      confirming?.catch(() => undefined);
      let waiting: string | undefined;
      for (let i = 0; i < 100 && waiting === undefined; i++) {
        await new Promise((r) => setTimeout(r, 20));
        waiting = await clientWhoseLast(m, 'wait', proxy);
      }
      expect(waiting).toBeDefined();
      // The connection drops while WAIT waits, and the next one reaches another master. ioredis
      // sends the unanswered WAIT again there, where the replicas hold all the new master has:
      // nothing of the write made on the old one.
      proxy.retarget(other.port);
      await m.call('CLIENT', 'KILL', 'ID', waiting as string);
      // Refused for the drop, not for the frozen replica's silence (that would take 5 s).
      await expect(confirming).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(confirming).rejects.toThrow(/dropped while its replicas were asked/);
    });
  });
  /**
   * Whether `store` confirms within a second, tried every 20 ms: a new connection names its
   * server (INFO) a moment after it is ready, and confirms nothing before.
   */
  const confirmsSoon = async (store: Store, since?: number): Promise<boolean> => {
    for (let i = 0; i < 50; i++) {
      if (
        await store.confirmReplicated?.(since).then(
          () => true,
          () => false,
        )
      )
        return true;
      await new Promise((r) => setTimeout(r, 20));
    }
    return false;
  };

  it('refuses a confirmation whose connection follows another server than the writes (a failover under way)', async () => {
    await withOtherMaster(1000, async ({ store, proxy, other, m }) => {
      // Both connections on the master: confirmed (once the shared one has named its server).
      expect(await confirmsSoon(store)).toBe(true);
      // The confirming connection is replaced, and its next one reaches the other master; the
      // shared connection still writes to the first.
      proxy.retarget(other.port);
      const confirming = await clientWhoseLast(m, 'wait', proxy);
      expect(confirming).toBeDefined();
      await m.call('CLIENT', 'KILL', 'ID', confirming as string);
      const since = store.writeEpoch?.();
      await store.set('ag:confirm-switch', '1');
      const confirmed = store.confirmReplicated?.(since);
      await expect(confirmed).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(confirmed).rejects.toThrow(/reached different redis servers/);
    });
  });

  it('refuses to confirm writes begun on a connection since replaced', async () => {
    // Through a proxy, to tell the store's connections from the harness's.
    const proxy = await startTcpProxy(master.port);
    const store = createRedisStore(
      { url: `redis://127.0.0.1:${proxy.port}` },
      {
        log: { info: () => undefined, warn: () => undefined },
        confirm: { replicas: 1, timeoutMs: 1000, probeKey: 'ag:confirm-epoch-probe' },
      },
    );
    const m = new Redis({ port: master.port });
    try {
      expect(await storeAnswers(store)).toBe(true);
      const since = store.writeEpoch?.();
      await store.set('ag:confirm-epoch', '1');
      // The shared connection drops after the write, and a new one is opened.
      const writer = await clientWhoseLast(m, 'set', proxy);
      expect(writer).toBeDefined();
      await m.call('CLIENT', 'KILL', 'ID', writer as string);
      expect(await storeAnswers(store)).toBe(true);
      await expect(store.confirmReplicated?.(since)).rejects.toBeInstanceOf(StoreUnavailableError);
      // A write made on the new connection is confirmed.
      const now = store.writeEpoch?.();
      await store.set('ag:confirm-epoch', '2');
      expect(await confirmsSoon(store, now)).toBe(true);
    } finally {
      m.disconnect();
      await store.close();
      await proxy.close();
    }
  });

  it('confirms with the longest timeouts the config allows together', async () => {
    // command_timeout and confirm_timeout may each be up to Node's timer limit; their sum is not.
    const store = createRedisStore(
      { url: master.url, commandTimeoutMs: 1000 },
      {
        log: { info: () => undefined, warn: () => undefined },
        confirm: { replicas: 1, timeoutMs: 2_147_483_000, probeKey: 'ag:confirm-long-probe' },
      },
    );
    try {
      expect(await storeAnswers(store)).toBe(true);
      await store.set('ag:confirm-long', '1');
      await expect(store.confirmReplicated?.()).resolves.toBeUndefined();
    } finally {
      await store.close();
    }
  });
});
