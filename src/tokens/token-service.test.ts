import { describe, expect, it } from 'vitest';
import { isAuthgateError } from '../errors.js';
import { createFakeClock } from '../lib/clock.js';
import { hmacB64 } from '../lib/hash.js';
import { createKeys, createMemoryStore } from '../store/index.js';
import { REVOCATION_PENDING } from './record.js';
import { issueInput, rejection, setup } from './test-support.js';
import { createTokenService } from './token-service.js';

const denied = async (pending: Promise<unknown>, reason: string) => {
  const err = await rejection(pending);
  expect(isAuthgateError(err) && err.code === 'PERMISSION_DENIED' && err.reason).toBe(reason);
};

const here = { remoteAddress: '127.0.0.1' };

describe('issue', () => {
  it('issues an ags. token of 256 random bits and a 24-character accessor', async () => {
    const { tokens } = setup();
    const { clientToken, accessor, record } = await tokens.issue(issueInput());
    expect(clientToken).toMatch(/^ags\.[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(clientToken.slice(4), 'base64url')).toHaveLength(32);
    expect(accessor).toMatch(/^[A-Za-z0-9_-]{24}$/);
    expect(record.accessor).toBe(accessor);
    const other = await tokens.issue(issueInput());
    expect(other.clientToken).not.toBe(clientToken);
  });

  it('uses the injected randomness', async () => {
    const clock = createFakeClock();
    const store = createMemoryStore({ clock, sweepIntervalMs: 0 });
    const tokens = createTokenService({
      store,
      keys: createKeys(),
      clock,
      serverKey: Buffer.alloc(32, 1),
      randomBytes: (n) => Buffer.alloc(n, 0xab),
    });
    const { clientToken, accessor } = await tokens.issue(issueInput());
    expect(clientToken).toBe(`ags.${Buffer.alloc(32, 0xab).toString('base64url')}`);
    expect(accessor).toBe(Buffer.alloc(18, 0xab).toString('base64url'));
  });

  it('never writes the token to the store, only its HMAC', async () => {
    const { store, tokens, keys } = setup();
    const { clientToken } = await tokens.issue(issueInput({ numUses: 3 }));
    const secret = clientToken.slice(4);
    const dump = store.entries().flat().join('\n');
    expect(dump).not.toContain(secret);
    const tokenHmac = hmacB64(Buffer.alloc(32, 7), clientToken);
    expect(store.entries().map(([k]) => k)).toContain(keys.token(tokenHmac));
  });

  it("gives every stored entry a TTL equal to the token's life", async () => {
    const { store, tokens } = setup();
    await tokens.issue(issueInput({ ttlSeconds: 600, maxTtlSeconds: 1200, numUses: 2 }));
    const ttls = await Promise.all(store.entries().map(([k]) => store.ttlMs(k)));
    // record and accessor index live 600 s; the use counter until the max TTL (1200 s).
    expect(ttls.sort()).toEqual([1_200_000, 600_000, 600_000].sort());
  });

  it('refuses caller mistakes with a TypeError', async () => {
    const { tokens } = setup();
    await expect(tokens.issue(issueInput({ ttlSeconds: -1 }))).rejects.toThrow(TypeError);
    await expect(tokens.issue(issueInput({ numUses: 1.5 }))).rejects.toThrow(TypeError);
    await expect(tokens.issue(issueInput({ boundCidrs: ['10.0.0.0/33'] }))).rejects.toThrow(TypeError);
    await expect(
      tokens.issue(issueInput({ mount: { defaultLeaseTtlSeconds: 0, maxLeaseTtlSeconds: 10 } })),
    ).rejects.toThrow(TypeError);
    expect(() =>
      createTokenService({ ...setup(), clock: createFakeClock(), serverKey: Buffer.alloc(16) }),
    ).toThrow(TypeError);
  });

  it.each([
    { name: 'the role TTL', over: { ttlSeconds: 1800 }, lease: 1800 },
    { name: 'the mount default', over: { ttlSeconds: 0 }, lease: 2_764_800 },
    { name: 'the role max TTL cap', over: { ttlSeconds: 7200, maxTtlSeconds: 3600 }, lease: 3600 },
    { name: 'the explicit max TTL cap', over: { ttlSeconds: 3600, explicitMaxTtlSeconds: 900 }, lease: 900 },
    { name: 'the period', over: { periodSeconds: 600 }, lease: 600 },
    {
      name: 'the period under an explicit max',
      over: { periodSeconds: 600, explicitMaxTtlSeconds: 300 },
      lease: 300,
    },
  ])('leases a token for $name', async ({ over, lease }) => {
    const { tokens, clock } = setup();
    const { record } = await tokens.issue(issueInput(over));
    expect(record.leaseTtlSeconds).toBe(lease);
    expect(record.creationTtlSeconds).toBe(lease);
    expect(record.expireTimeMs).toBe(clock.nowMs() + lease * 1000);
  });
});

describe('authenticate', () => {
  it('accepts an issued token and returns its record', async () => {
    const { tokens } = setup();
    const { clientToken, record } = await tokens.issue(issueInput());
    await expect(tokens.authenticate(clientToken, here)).resolves.toEqual(record);
  });

  it.each([
    ['an unknown token', `ags.${'A'.repeat(43)}`],
    ['a malformed token', 'not-a-token'],
    ['an empty token', ''],
    ['a Vault token', 'hvs.CAESIJ'],
  ])('refuses %s', async (_name, token) => {
    const { tokens } = setup();
    await denied(tokens.authenticate(token, here), 'token_invalid');
  });

  it('refuses a token after revoke-self', async () => {
    const { tokens, store } = setup();
    const { clientToken } = await tokens.issue(issueInput({ numUses: 5 }));
    await tokens.revoke(clientToken);
    await denied(tokens.authenticate(clientToken, here), 'token_invalid');
    expect(store.entries()).toEqual([]);
    await expect(tokens.revoke(clientToken)).resolves.toBeUndefined();
  });

  it('refuses a token once its TTL has passed', async () => {
    const { tokens, clock, store } = setup();
    const { clientToken } = await tokens.issue(issueInput({ ttlSeconds: 60 }));
    clock.advanceSeconds(59);
    await expect(tokens.authenticate(clientToken, here)).resolves.toBeDefined();
    clock.advanceSeconds(1);
    await denied(tokens.authenticate(clientToken, here), 'token_invalid');
    expect(store.entries()).toEqual([]);
  });

  it('refuses an expired token even while the store still holds it', async () => {
    const storeClock = createFakeClock();
    const { tokens, clock, store } = setup({ storeClock });
    const { clientToken } = await tokens.issue(issueInput({ ttlSeconds: 60 }));
    clock.advanceSeconds(60);
    expect(store.entries()).toHaveLength(2);
    await denied(tokens.authenticate(clientToken, here), 'token_invalid');
  });

  describe('bound CIDRs', () => {
    it.each([
      ['an IPv4 peer inside the block', '10.1.2.3'],
      ['an IPv4-mapped IPv6 peer inside the block', '::ffff:10.1.2.3'],
      ['an IPv6 peer inside an IPv6 block', 'fd00::1'],
    ])('allows %s', async (_name, remoteAddress) => {
      const { tokens } = setup();
      const { clientToken } = await tokens.issue(issueInput({ boundCidrs: ['10.0.0.0/8', 'fd00::/8'] }));
      await expect(tokens.authenticate(clientToken, { remoteAddress })).resolves.toBeDefined();
    });

    it.each([
      ['an IPv4 peer outside the block', '192.168.1.1'],
      ['an IPv4-mapped IPv6 peer outside the block', '::ffff:192.168.1.1'],
      ['an IPv6 peer outside the block', '2001:db8::1'],
      ['an unknown peer', undefined],
    ])('refuses %s', async (_name, remoteAddress) => {
      const { tokens } = setup();
      const { clientToken } = await tokens.issue(issueInput({ boundCidrs: ['10.0.0.0/8', 'fd00::/8'] }));
      await denied(tokens.authenticate(clientToken, { remoteAddress }), 'token_cidr');
    });

    it('does not spend a use on a refused address', async () => {
      const { tokens } = setup();
      const { clientToken } = await tokens.issue(issueInput({ boundCidrs: ['10.0.0.0/8'], numUses: 1 }));
      await denied(tokens.authenticate(clientToken, { remoteAddress: '192.168.1.1' }), 'token_cidr');
      await expect(tokens.authenticate(clientToken, { remoteAddress: '10.0.0.1' })).resolves.toBeDefined();
    });
  });

  describe('num_uses', () => {
    it('counts down the uses and revokes the token after the last', async () => {
      const { tokens, store } = setup();
      const { clientToken } = await tokens.issue(issueInput({ numUses: 3 }));
      const left = [];
      for (let i = 0; i < 3; i++) left.push((await tokens.authenticate(clientToken, here)).numUses);
      expect(left).toEqual([2, 1, REVOCATION_PENDING]);
      await denied(tokens.authenticate(clientToken, here), 'token_invalid');
      expect(store.entries().filter(([k]) => !k.startsWith('ag:token-uses:'))).toEqual([]);
    });

    it('admits a one-use token exactly once among 20 concurrent requests', async () => {
      const { tokens } = setup();
      const { clientToken } = await tokens.issue(issueInput({ numUses: 1 }));
      const outcomes = await Promise.allSettled(
        Array.from({ length: 20 }, () => tokens.authenticate(clientToken, here)),
      );
      expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
      for (const o of outcomes) {
        if (o.status === 'rejected')
          expect(isAuthgateError(o.reason) && o.reason.reason).toBe('token_invalid');
      }
    });

    it('admits a five-use token exactly five times among 20 concurrent requests', async () => {
      const { tokens } = setup();
      const { clientToken } = await tokens.issue(issueInput({ numUses: 5 }));
      const outcomes = await Promise.allSettled(
        Array.from({ length: 20 }, () => tokens.authenticate(clientToken, here)),
      );
      expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(5);
    });

    it('leaves unlimited tokens unlimited', async () => {
      const { tokens, store } = setup();
      const { clientToken } = await tokens.issue(issueInput());
      for (let i = 0; i < 10; i++) expect((await tokens.authenticate(clientToken, here)).numUses).toBe(0);
      expect(store.entries().some(([k]) => k.startsWith('ag:token-uses:'))).toBe(false);
    });

    it('refuses a use-limited token whose counter is gone', async () => {
      const { tokens, store, keys } = setup();
      const { clientToken } = await tokens.issue(issueInput({ numUses: 3 }));
      await store.delete(keys.tokenUses(hmacB64(Buffer.alloc(32, 7), clientToken)));
      await denied(tokens.authenticate(clientToken, here), 'token_invalid');
    });
  });
});

describe('revokeByIndex of batch tokens across replicas', () => {
  it('is never undone by a later revocation from a replica whose clock is behind', async () => {
    const clock = createFakeClock();
    const store = createMemoryStore({ clock, sweepIntervalMs: 0 });
    const keys = createKeys();
    const serverKey = Buffer.alloc(32, 7);
    // Replica X runs 2 s ahead; replica Y is on time.
    const x = createTokenService({ store, keys, serverKey, clock: { nowMs: () => clock.nowMs() + 2000 } });
    const y = createTokenService({ store, keys, serverKey, clock });
    const pod = { kind: 'pod', value: 'uid-1' };
    const { clientToken } = await x.issue(issueInput({ type: 'batch', indexes: [pod] }));
    await expect(y.authenticate(clientToken, here)).resolves.toBeDefined();
    clock.advanceMs(500);
    await x.revokeByIndex(pod);
    await denied(y.authenticate(clientToken, here), 'token_invalid');
    clock.advanceMs(500);
    await y.revokeByIndex(pod);
    await denied(y.authenticate(clientToken, here), 'token_invalid');
  });
});

describe('revokeByIndex during a login', () => {
  it('revokes a token whose login lands while it revokes, by reading the index again', async () => {
    const { store, clock, keys } = setup();
    let late: string | undefined;
    const indexes = [{ kind: 'role', value: 'kubernetes/dev-role' }];
    // The store as the service sees it, with a login landing right after the members are read.
    const racing = Object.assign(Object.create(store) as typeof store, {
      indexMembers: async (key: string) => {
        const members = await store.indexMembers(key);
        if (late === undefined) late = (await tokens.issue(issueInput({ indexes }))).clientToken;
        return members;
      },
    });
    const tokens = createTokenService({ store: racing, keys, clock, serverKey: Buffer.alloc(32, 7) });
    const early = (await tokens.issue(issueInput({ indexes }))).clientToken;
    expect(await tokens.revokeByIndex(indexes[0]!)).toBe(2);
    expect(late).toBeDefined();
    for (const token of [early, late!])
      await expect(tokens.authenticate(token, { remoteAddress: undefined })).rejects.toThrow();
    expect(await tokens.revokeByIndex(indexes[0]!)).toBe(0);
  });

  it('keeps listed a token whose record is not written yet (a batch applied write by write)', async () => {
    const { store, clock, keys } = setup();
    const indexes = [{ kind: 'pod', value: 'pod-uid-1' }];
    let revokedMidway: number | undefined;
    // As on Redis Cluster: one write after another, the record last; a revocation lands between.
    const stepwise = Object.assign(Object.create(store) as typeof store, {
      batch: async (ops: Parameters<typeof store.batch>[0]) => {
        const results: boolean[] = [];
        for (const [i, op] of ops.entries()) {
          if (i === ops.length - 1 && revokedMidway === undefined)
            revokedMidway = await tokens.revokeByIndex(indexes[0]!);
          results.push(...(await store.batch([op])));
        }
        return results;
      },
    });
    const tokens = createTokenService({ store: stepwise, keys, clock, serverKey: Buffer.alloc(32, 7) });
    const token = (await tokens.issue(issueInput({ indexes }))).clientToken;
    expect(revokedMidway).toBe(0);
    // The token the revocation could not see yet is still listed: the next one revokes it.
    expect(await tokens.revokeByIndex(indexes[0]!)).toBe(1);
    await expect(tokens.authenticate(token, { remoteAddress: undefined })).rejects.toThrow();
  });
});
