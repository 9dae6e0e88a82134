import { describe, expect, it } from 'vitest';
import { isAuthgateError } from '../errors.js';
import { issueInput, rejection, setup } from './test-support.js';

const here = { remoteAddress: '127.0.0.1' };

const codeOf = async (pending: Promise<unknown>) => {
  const err = await rejection(pending);
  return isAuthgateError(err) ? `${err.code}:${err.reason}` : String(err);
};

describe('renew', () => {
  it('renews for the increment, capped at the max TTL', async () => {
    const { tokens, clock } = setup();
    const { clientToken } = await tokens.issue(issueInput({ ttlSeconds: 600, maxTtlSeconds: 1000 }));
    clock.advanceSeconds(300);
    const first = (await tokens.renew(clientToken, { ...here, incrementSeconds: 400 })).auth;
    expect(first.lease_duration).toBe(400);
    clock.advanceSeconds(300);
    const second = (await tokens.renew(clientToken, { ...here, incrementSeconds: 600 })).auth;
    expect(second.lease_duration).toBe(400);
    const record = await tokens.authenticate(clientToken, here);
    expect(record.expireTimeMs).toBe(record.issueTimeMs + 1000 * 1000);
  });

  it('says, as Vault does, when the increment was capped', async () => {
    const { tokens, clock } = setup();
    const { clientToken } = await tokens.issue(issueInput({ ttlSeconds: 60, maxTtlSeconds: 120 }));
    clock.advanceSeconds(1);
    const { auth, warnings } = await tokens.renew(clientToken, { ...here, incrementSeconds: 500 });
    expect(auth.lease_duration).toBe(119);
    expect(warnings).toEqual([
      'TTL of "8m20s" exceeded the effective max_ttl of "1m59s"; TTL value is capped accordingly',
    ]);
    expect((await tokens.renew(clientToken, { ...here, incrementSeconds: 30 })).warnings).toEqual([]);
  });

  it('renews for the role TTL when no increment is asked', async () => {
    const { tokens, clock } = setup();
    const { clientToken } = await tokens.issue(issueInput({ ttlSeconds: 600 }));
    clock.advanceSeconds(500);
    const auth = (await tokens.renew(clientToken, here)).auth;
    expect(auth.lease_duration).toBe(600);
    clock.advanceSeconds(599);
    await expect(tokens.authenticate(clientToken, here)).resolves.toBeDefined();
  });

  it('resets a periodic token to its period, ignoring the increment', async () => {
    const { tokens, clock } = setup();
    const { clientToken } = await tokens.issue(issueInput({ periodSeconds: 600 }));
    for (let i = 0; i < 5; i++) {
      clock.advanceSeconds(500);
      const auth = (await tokens.renew(clientToken, { ...here, incrementSeconds: 86_400 })).auth;
      expect(auth.lease_duration).toBe(600);
    }
    clock.advanceSeconds(599);
    await expect(tokens.authenticate(clientToken, here)).resolves.toBeDefined();
  });

  it('stops a periodic token at its explicit max TTL', async () => {
    const { tokens, clock } = setup();
    const { clientToken } = await tokens.issue(
      issueInput({ periodSeconds: 600, explicitMaxTtlSeconds: 1000 }),
    );
    clock.advanceSeconds(500);
    expect((await tokens.renew(clientToken, here)).auth.lease_duration).toBe(500);
    clock.advanceSeconds(500);
    expect(await codeOf(tokens.authenticate(clientToken, here))).toBe('PERMISSION_DENIED:token_invalid');
  });

  it('re-reads the role through refresh and keeps the explicit max TTL', async () => {
    const { tokens, clock } = setup();
    const { clientToken } = await tokens.issue(issueInput({ ttlSeconds: 600, explicitMaxTtlSeconds: 5000 }));
    clock.advanceSeconds(100);
    const seen: string[] = [];
    const auth = (
      await tokens.renew(clientToken, {
        ...here,
        refresh: async (record) => {
          seen.push(`${record.mountPath}/${record.role}`);
          return { ttlSeconds: 9000, maxTtlSeconds: 0, periodSeconds: 0 };
        },
      })
    ).auth;
    expect(seen).toEqual(['kubernetes/dev-role']);
    expect(auth.lease_duration).toBe(4900);
  });

  it('leaves the token unchanged when refresh refuses (role deleted)', async () => {
    const { tokens, clock } = setup();
    const { clientToken, record } = await tokens.issue(issueInput({ ttlSeconds: 600 }));
    clock.advanceSeconds(100);
    const refresh = async () => {
      throw new Error('role dev-role does not exist during renewal');
    };
    await expect(tokens.renew(clientToken, { ...here, refresh })).rejects.toThrow('does not exist');
    expect((await tokens.authenticate(clientToken, here)).expireTimeMs).toBe(record.expireTimeMs);
  });

  it('refuses a renewal past a max TTL lowered since issue', async () => {
    const { tokens, clock } = setup();
    const { clientToken } = await tokens.issue(issueInput({ ttlSeconds: 3600 }));
    clock.advanceSeconds(1800);
    const refresh = async () => ({ ttlSeconds: 600, maxTtlSeconds: 900, periodSeconds: 0 });
    expect(await codeOf(tokens.renew(clientToken, { ...here, refresh }))).toBe(
      'BAD_REQUEST:token_past_max_ttl',
    );
    await expect(tokens.authenticate(clientToken, here)).resolves.toBeDefined();
  });

  it('extends the store TTL of the record and the accessor index', async () => {
    const { tokens, clock, store, keys } = setup();
    const { clientToken } = await tokens.issue(issueInput({ ttlSeconds: 600 }));
    clock.advanceSeconds(500);
    await tokens.renew(clientToken, here);
    const ttls = await Promise.all(store.entries().map(([k]) => store.ttlMs(k)));
    expect(ttls).toEqual([600_000, 600_000]);
    expect(store.entries().map(([k]) => k.slice(0, keys.token('').length))).toContain(keys.token(''));
  });

  it('loses to a revocation that lands during the renewal', async () => {
    const { tokens } = setup();
    const { clientToken } = await tokens.issue(issueInput());
    const refresh = async () => {
      await tokens.revoke(clientToken);
      return { ttlSeconds: 600, maxTtlSeconds: 0, periodSeconds: 0 };
    };
    expect(await codeOf(tokens.renew(clientToken, { ...here, refresh }))).toBe(
      'PERMISSION_DENIED:token_invalid',
    );
    expect(await codeOf(tokens.authenticate(clientToken, here))).toBe('PERMISSION_DENIED:token_invalid');
  });

  it('checks bound CIDRs and spends a use like any request', async () => {
    const { tokens } = setup();
    const { clientToken } = await tokens.issue(issueInput({ boundCidrs: ['10.0.0.0/8'], numUses: 2 }));
    expect(await codeOf(tokens.renew(clientToken, { remoteAddress: '192.168.0.1' }))).toBe(
      'PERMISSION_DENIED:token_cidr',
    );
    const auth = (await tokens.renew(clientToken, { remoteAddress: '10.0.0.1' })).auth;
    expect(auth.num_uses).toBe(2); // as issued, as Vault answers it
    expect((await tokens.lookupAccessor(auth.accessor)).numUses).toBe(1);
    // The last use: spent, the token revoked, and the renewal refused as Vault refuses it.
    expect(await codeOf(tokens.renew(clientToken, { remoteAddress: '10.0.0.1' }))).toBe(
      'BAD_REQUEST:token_used_up',
    );
    expect(await codeOf(tokens.authenticate(clientToken, { remoteAddress: '10.0.0.1' }))).toBe(
      'PERMISSION_DENIED:token_invalid',
    );
  });

  it('spends no second use when the caller already authenticated the request', async () => {
    const { tokens } = setup();
    const { clientToken, accessor } = await tokens.issue(issueInput({ numUses: 3 }));
    const { numUses } = await tokens.authenticate(clientToken, here);
    await tokens.renew(clientToken, { ...here, usesLeft: numUses });
    expect((await tokens.lookupAccessor(accessor)).numUses).toBe(2);
  });

  it('refuses, as Vault, a renewal whose authentication spent the last use', async () => {
    const { tokens } = setup();
    const { clientToken } = await tokens.issue(issueInput({ numUses: 1 }));
    const { numUses } = await tokens.authenticate(clientToken, here);
    expect(await codeOf(tokens.renew(clientToken, { ...here, usesLeft: numUses }))).toBe(
      'BAD_REQUEST:token_used_up',
    );
  });

  it('never renews a use-limited periodic token past the mount max TTL', async () => {
    const { tokens, clock } = setup();
    const mount = { defaultLeaseTtlSeconds: 600, maxLeaseTtlSeconds: 1000 };
    const { clientToken } = await tokens.issue(issueInput({ periodSeconds: 600, numUses: 100, mount }));
    clock.advanceSeconds(500);
    expect((await tokens.renew(clientToken, here)).auth.lease_duration).toBe(500);
  });
});

describe('accessors', () => {
  it('looks up a token by accessor without spending a use', async () => {
    const { tokens } = setup();
    const { clientToken, accessor } = await tokens.issue(issueInput({ numUses: 2 }));
    const record = await tokens.lookupAccessor(accessor);
    expect([record.accessor, record.numUses]).toEqual([accessor, 2]);
    expect((await tokens.authenticate(clientToken, here)).numUses).toBe(1);
    expect((await tokens.lookupAccessor(accessor)).numUses).toBe(1);
  });

  it('revokes a token by accessor, deleting record, use counter and index', async () => {
    const { tokens, store } = setup();
    const { clientToken, accessor } = await tokens.issue(issueInput({ numUses: 2 }));
    expect(store.entries()).toHaveLength(3);
    await expect(tokens.revokeAccessor(accessor)).resolves.toEqual({ warnings: [] });
    expect(store.entries()).toEqual([]);
    expect(await codeOf(tokens.authenticate(clientToken, here))).toBe('PERMISSION_DENIED:token_invalid');
  });

  it("refuses an unknown accessor with Vault's messages", async () => {
    const { tokens } = setup();
    const err = await rejection(tokens.lookupAccessor('nope'));
    expect(isAuthgateError(err) && [err.code, err.message]).toEqual(['BAD_REQUEST', 'invalid accessor']);
    const missing = await rejection(tokens.lookupAccessor(''));
    expect(isAuthgateError(missing) && missing.message).toBe('missing accessor');
    await expect(tokens.revokeAccessor('nope')).resolves.toEqual({
      warnings: ['No token found with this accessor'],
    });
  });

  it('refuses the accessor of an expired or revoked token', async () => {
    const { tokens, clock } = setup();
    const a = await tokens.issue(issueInput({ ttlSeconds: 60 }));
    const b = await tokens.issue(issueInput());
    await tokens.revoke(b.clientToken);
    clock.advanceSeconds(60);
    for (const accessor of [a.accessor, b.accessor]) {
      expect(await codeOf(tokens.lookupAccessor(accessor))).toBe('BAD_REQUEST:accessor_invalid');
    }
  });
});

describe('operations on a token an operator names', () => {
  it('looks a token up without spending its use or checking its CIDRs', async () => {
    const { tokens } = setup();
    const { clientToken, accessor } = await tokens.issue(
      issueInput({ numUses: 2, boundCidrs: ['10.0.0.0/8'] }),
    );
    const record = await tokens.lookupToken(clientToken);
    expect([record.accessor, record.numUses]).toEqual([accessor, 2]);
    expect((await tokens.lookupAccessor(accessor)).numUses).toBe(2);
  });

  it("refuses a token that is not live with Vault's 403 bad token", async () => {
    const { tokens, clock } = setup();
    const expired = await tokens.issue(issueInput({ ttlSeconds: 60 }));
    const revoked = await tokens.issue(issueInput());
    await tokens.revoke(revoked.clientToken);
    clock.advanceSeconds(60);
    for (const token of [expired.clientToken, revoked.clientToken, 'ags.nope', '']) {
      const err = await rejection(tokens.lookupToken(token));
      expect(isAuthgateError(err) && [err.status, err.message, err.reason]).toEqual([
        403,
        'bad token',
        'token_not_found',
      ]);
    }
  });

  it('renews a named token without spending its use or checking its CIDRs, and names it back', async () => {
    const { tokens, clock } = setup();
    const { clientToken, accessor } = await tokens.issue(
      issueInput({ ttlSeconds: 600, maxTtlSeconds: 1000, numUses: 2, boundCidrs: ['10.0.0.0/8'] }),
    );
    clock.advanceSeconds(300);
    const renewed = await tokens.renewToken(clientToken, { incrementSeconds: 400 });
    expect(renewed.auth).toMatchObject({ client_token: clientToken, accessor, lease_duration: 400 });
    expect(renewed.displayName).toBe('kubernetes-default-vault-auth');
    const capped = await tokens.renewToken(clientToken, { incrementSeconds: 900 });
    expect(capped.auth.lease_duration).toBe(700);
    expect(capped.warnings).toEqual([
      'TTL of "15m" exceeded the effective max_ttl of "11m40s"; TTL value is capped accordingly',
    ]);
    expect((await tokens.lookupAccessor(accessor)).numUses).toBe(2);
  });

  it('renews by accessor with the token left out of the answer, as Vault', async () => {
    const { tokens, clock } = setup();
    const { accessor, record } = await tokens.issue(issueInput({ ttlSeconds: 600 }));
    clock.advanceSeconds(100);
    const seen: string[] = [];
    const refresh = async (r: { role: string }) => {
      seen.push(r.role);
      return { ttlSeconds: 900, maxTtlSeconds: 0, periodSeconds: 0 };
    };
    const { auth } = await tokens.renewAccessor(accessor, { refresh });
    expect([auth.client_token, auth.accessor, auth.lease_duration]).toEqual(['', accessor, 900]);
    expect(seen).toEqual(['dev-role']);
    expect((await tokens.lookupAccessor(accessor)).expireTimeMs).toBe(record.issueTimeMs + 1000_000);
  });

  it("refuses what is not live with Vault's 400 messages", async () => {
    const { tokens, store, keys } = setup();
    const gone = await tokens.issue(issueInput());
    await tokens.revoke(gone.clientToken);
    expect(await codeOf(tokens.renewToken(gone.clientToken, {}))).toBe('BAD_REQUEST:token_not_found');
    expect(await codeOf(tokens.renewToken('garbage', {}))).toBe('BAD_REQUEST:token_not_found');
    expect(await codeOf(tokens.renewAccessor('', {}))).toBe('BAD_REQUEST:accessor_missing');
    expect(await codeOf(tokens.renewAccessor(gone.accessor, {}))).toBe('BAD_REQUEST:accessor_invalid');
    // An index that outlived its token (a revocation that failed half-way).
    const orphan = await tokens.issue(issueInput());
    const tokenKey = store.entries().find(([k]) => k.startsWith(keys.token('')))?.[0] ?? '';
    await store.delete(tokenKey);
    expect(await codeOf(tokens.renewAccessor(orphan.accessor, {}))).toBe('BAD_REQUEST:token_not_found');
  });

  it('loses to a revocation that lands during the renewal, with token not found', async () => {
    const { tokens } = setup();
    const { clientToken } = await tokens.issue(issueInput());
    const refresh = async () => {
      await tokens.revoke(clientToken);
      return { ttlSeconds: 600, maxTtlSeconds: 0, periodSeconds: 0 };
    };
    expect(await codeOf(tokens.renewToken(clientToken, { refresh }))).toBe('BAD_REQUEST:token_not_found');
  });
});
