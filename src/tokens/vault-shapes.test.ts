import { describe, expect, it } from 'vitest';
import { issueInput, setup } from './test-support.js';
import { authBlock, lookupResponseData } from './vault-shapes.js';

const START = Date.UTC(2026, 0, 1);

describe('lookupResponseData', () => {
  it('shapes a record as the data of lookup-self', async () => {
    const { tokens, clock } = setup();
    const { clientToken, accessor } = await tokens.issue(issueInput());
    clock.advanceSeconds(10);
    const record = await tokens.authenticate(clientToken, { remoteAddress: '127.0.0.1' });
    expect(lookupResponseData(record, clock.nowMs(), clientToken)).toEqual({
      accessor,
      creation_time: START / 1000,
      creation_ttl: 3600,
      display_name: 'kubernetes-default-vault-auth',
      entity_id: 'entity-1',
      expire_time: '2026-01-01T01:00:00Z',
      explicit_max_ttl: 0,
      id: clientToken,
      issue_time: '2026-01-01T00:00:00Z',
      meta: issueInput().metadata,
      num_uses: 0,
      orphan: true,
      path: 'auth/kubernetes/login',
      policies: ['default', 'dev'],
      renewable: true,
      ttl: 3590,
      type: 'service',
    });
  });

  it('gives lookup-accessor an empty id', async () => {
    const { tokens, clock } = setup();
    const { accessor } = await tokens.issue(issueInput());
    const data = lookupResponseData(await tokens.lookupAccessor(accessor), clock.nowMs(), '');
    expect(data.id).toBe('');
  });

  it('adds period, bound CIDRs and last renewal only when they apply', async () => {
    const { tokens, clock } = setup();
    const { clientToken } = await tokens.issue(
      issueInput({ periodSeconds: 600, boundCidrs: ['10.0.0.0/8'] }),
    );
    clock.advanceSeconds(100);
    await tokens.renew(clientToken, { remoteAddress: '10.0.0.1' });
    const record = await tokens.authenticate(clientToken, { remoteAddress: '10.0.0.1' });
    const data = lookupResponseData(record, clock.nowMs(), clientToken);
    expect(data).toMatchObject({
      period: 600,
      bound_cidrs: ['10.0.0.0/8'],
      last_renewal_time: START / 1000 + 100,
      last_renewal: '2026-01-01T00:01:40Z',
      ttl: 600,
      creation_ttl: 600,
    });
  });

  // Vault's leaseEntry.ttl (vault/expiration.go): ExpireTime − now rounded to the second, truncated.
  it.each([
    { issuedAtMs: 600, lookupAtMs: 600, ttl: 3599, when: 'at once, past half a second' },
    { issuedAtMs: 400, lookupAtMs: 400, ttl: 3600, when: 'at once, before half a second' },
    { issuedAtMs: 0, lookupAtMs: 500, ttl: 3599, when: 'half a second later' },
    { issuedAtMs: 600, lookupAtMs: 3_600_400, ttl: 0, when: 'in its last 200 ms' },
  ])('reports the ttl as Vault does, looked up $when', async ({ issuedAtMs, lookupAtMs, ttl }) => {
    const { tokens, clock } = setup();
    clock.advanceMs(issuedAtMs);
    const { record } = await tokens.issue(issueInput());
    expect(lookupResponseData(record, START + lookupAtMs, '').ttl).toBe(ttl);
  });

  it('never reports a negative ttl', async () => {
    const { tokens, clock } = setup();
    const { record } = await tokens.issue(issueInput({ ttlSeconds: 60 }));
    expect(lookupResponseData(record, clock.nowMs() + 120_000, '').ttl).toBe(0);
  });
});

describe('authBlock', () => {
  it('shapes an issued token as the auth block of a login', async () => {
    const { tokens } = setup();
    const { clientToken, accessor, record } = await tokens.issue(issueInput({ numUses: 3 }));
    expect(authBlock(record, clientToken)).toEqual({
      client_token: clientToken,
      accessor,
      policies: ['default', 'dev'],
      token_policies: ['default', 'dev'],
      metadata: issueInput().metadata,
      lease_duration: 3600,
      renewable: true,
      entity_id: 'entity-1',
      token_type: 'service',
      orphan: true,
      mfa_requirement: null,
      num_uses: 3,
    });
  });
});
