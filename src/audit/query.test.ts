import { describe, expect, it } from 'vitest';
import { isAuthgateError } from '../errors.js';
import { matchesLogin, parseEntryLine, parseLoginFilter, toLoginRecord, type LoginRecord } from './query.js';
import { createLoginSummary } from './summary.js';

const NOW = Date.UTC(2026, 0, 10, 12, 0, 0);

const LOGIN = {
  mount: 'kubernetes',
  role: 'nginx',
  namespace: 'test',
  service_account: 'nginx',
  pod: 'p',
  verified: true,
};

const responseEntry = (over: Record<string, unknown> = {}) => ({
  time: '2026-01-10T11:30:00.000Z',
  auth: { client_token: 'hmac-sha256:tok', accessor: 'hmac-sha256:acc', metadata: { role: 'nginx' } },
  request: {
    id: 'r1',
    data: { jwt: 'hmac-sha256:jwt', role: 'hmac-sha256:role' },
    remote_address: '10.0.0.9',
  },
  response: {},
  type: 'response',
  authgate: {
    outcome: 'ok',
    reason: 'ok',
    status: 200,
    login: LOGIN,
  },
  ...over,
});

const record = (over: Partial<LoginRecord> = {}): LoginRecord => ({
  time: '2026-01-10T11:30:00.000Z',
  request_id: 'r',
  mount: 'kubernetes',
  role: 'nginx',
  namespace: 'test',
  service_account: 'nginx',
  verified: true,
  outcome: 'ok',
  reason: 'ok',
  status: 200,
  ...over,
});

describe('login filters', () => {
  it('reads times as RFC 3339 or as durations back from now', () => {
    expect(parseLoginFilter({ since: '1h', until: '2026-01-10T11:45:00Z' }, NOW)).toEqual({
      sinceMs: NOW - 3_600_000,
      untilMs: Date.UTC(2026, 0, 10, 11, 45),
    });
    expect(parseLoginFilter({ since: '90' }, NOW).sinceMs).toBe(NOW - 90_000);
  });

  it.each([
    [{ since: 'yesterday' }, 'invalid since: expected an RFC 3339 time or a duration like "1h"'],
    [{ until: '2026-13-45T99:00:00Z' }, 'invalid until: expected an RFC 3339 time or a duration like "1h"'],
    [{ outcome: 'allowed' }, 'invalid outcome: expected ok, denied or error'],
    // A safe number of seconds, but a time before any date: no window can start there.
    [{ since: '99999999999d' }, 'invalid since: 99999999999d goes back further than a date can'],
  ])('refuses %j as a bad request', (raw, message) => {
    let err: unknown;
    try {
      parseLoginFilter(raw, NOW);
    } catch (e) {
      err = e;
    }
    expect(isAuthgateError(err) && err.status === 400 && err.message === message).toBe(true);
  });

  it('ignores empty values and matches every given field exactly', () => {
    const f = parseLoginFilter(
      { namespace: 'test', service_account: '', outcome: 'denied', reason: 'expired' },
      NOW,
    );
    expect(f).toEqual({ namespace: 'test', outcome: 'denied', reason: 'expired' });
    expect(matchesLogin(record({ outcome: 'denied', reason: 'expired' }), f)).toBe(true);
    expect(matchesLogin(record({ outcome: 'denied', reason: 'expired', namespace: 'Test' }), f)).toBe(false);
    expect(matchesLogin(record(), f)).toBe(false);
  });

  it('bounds by time inclusively and finds a login by the HMAC of its jwt, token or accessor', () => {
    const f = parseLoginFilter({ since: '2026-01-10T11:30:00Z', until: '2026-01-10T11:30:00Z' }, NOW);
    expect(matchesLogin(record(), f)).toBe(true);
    expect(matchesLogin(record({ time: '2026-01-10T11:30:00.001Z' }), f)).toBe(false);
    const r = record({
      jwt_hmac: 'hmac-sha256:j',
      token_hmac: 'hmac-sha256:t',
      accessor_hmac: 'hmac-sha256:a',
    });
    for (const h of ['hmac-sha256:j', 'hmac-sha256:t', 'hmac-sha256:a'])
      expect(matchesLogin(r, { hmac: h })).toBe(true);
    expect(matchesLogin(r, { hmac: 'hmac-sha256:other' })).toBe(false);
  });
});

describe('login records', () => {
  it('are read from response entries of logins only', () => {
    expect(toLoginRecord(responseEntry())).toEqual({
      time: '2026-01-10T11:30:00.000Z',
      request_id: 'r1',
      ...LOGIN,
      remote_address: '10.0.0.9',
      outcome: 'ok',
      reason: 'ok',
      status: 200,
      jwt_hmac: 'hmac-sha256:jwt',
      token_hmac: 'hmac-sha256:tok',
      accessor_hmac: 'hmac-sha256:acc',
    });
    expect(toLoginRecord(responseEntry({ type: 'request' }))).toBeUndefined();
    expect(
      toLoginRecord(responseEntry({ authgate: { outcome: 'ok', reason: 'ok', status: 200 } })),
    ).toBeUndefined();
    expect(toLoginRecord(responseEntry({ authgate: { outcome: 'maybe', login: {} } }))).toBeUndefined();
    expect(toLoginRecord('not an entry')).toBeUndefined();
  });

  it('are parsed from lines with a device prefix, and garbage is skipped', () => {
    expect(parseEntryLine('authgate-audit: {"a":1}')).toEqual({ a: 1 });
    expect(parseEntryLine('{"a":1')).toBeUndefined();
    expect(parseEntryLine('')).toBeUndefined();
  });
});

describe('the login summary', () => {
  it('counts per workload and outcome, and ranks denial reasons', () => {
    const s = createLoginSummary();
    s.add(record());
    s.add(record());
    s.add(record({ outcome: 'denied', reason: 'expired' }));
    s.add(record({ namespace: 'other', outcome: 'denied', reason: 'namespace_not_bound' }));
    s.add(record({ namespace: 'other', outcome: 'denied', reason: 'namespace_not_bound' }));
    s.add(
      record({ namespace: undefined, service_account: undefined, outcome: 'error', reason: 'missing_jwt' }),
    );
    expect(s.result()).toEqual({
      total: 6,
      outcomes: { ok: 2, denied: 3, error: 1 },
      identities: [
        { namespace: 'test', service_account: 'nginx', role: 'nginx', ok: 2, denied: 1, error: 0, total: 3 },
        { namespace: 'other', service_account: 'nginx', role: 'nginx', ok: 0, denied: 2, error: 0, total: 2 },
        { namespace: '-', service_account: '-', role: 'nginx', ok: 0, denied: 0, error: 1, total: 1 },
      ],
      denial_reasons: [
        { reason: 'namespace_not_bound', count: 2 },
        { reason: 'expired', count: 1 },
      ],
    });
    expect(s.result(1).denial_reasons).toEqual([{ reason: 'namespace_not_bound', count: 2 }]);
  });
});
