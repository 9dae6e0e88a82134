import { describe, expect, it } from 'vitest';
import { isAuthgateError } from '../errors.js';
import { calculateTtl, humanDuration } from './ttl.js';
import type { TtlInput } from './ttl.js';

const START = Date.UTC(2026, 0, 1);
const H = 3600;

const input = (over: Partial<TtlInput> = {}): TtlInput => ({
  incrementSeconds: 0,
  backendTtlSeconds: 0,
  periodSeconds: 0,
  backendMaxTtlSeconds: 0,
  explicitMaxTtlSeconds: 0,
  mount: { defaultLeaseTtlSeconds: 768 * H, maxLeaseTtlSeconds: 768 * H },
  startMs: START,
  nowMs: START,
  ...over,
});

describe('calculateTtl at login', () => {
  it.each([
    { name: 'uses the role TTL', over: { backendTtlSeconds: H }, ttl: H, capped: false },
    { name: 'falls back to the mount default TTL', over: {}, ttl: 768 * H, capped: false },
    {
      name: 'falls back to a short mount default',
      over: { mount: { defaultLeaseTtlSeconds: 600, maxLeaseTtlSeconds: 7200 } },
      ttl: 600,
      capped: false,
    },
    {
      name: 'caps the role TTL at the role max TTL',
      over: { backendTtlSeconds: 2 * H, backendMaxTtlSeconds: H },
      ttl: H,
      capped: true,
    },
    {
      name: 'caps the role TTL at the mount max TTL',
      over: { backendTtlSeconds: 10 * H, mount: { defaultLeaseTtlSeconds: H, maxLeaseTtlSeconds: 5 * H } },
      ttl: 5 * H,
      capped: true,
    },
    {
      name: 'ignores a role max TTL above the mount max',
      over: {
        backendTtlSeconds: 10 * H,
        backendMaxTtlSeconds: 20 * H,
        mount: { defaultLeaseTtlSeconds: H, maxLeaseTtlSeconds: 5 * H },
      },
      ttl: 5 * H,
      capped: true,
    },
    {
      name: 'caps the role TTL at the explicit max TTL',
      over: { backendTtlSeconds: H, backendMaxTtlSeconds: 2 * H, explicitMaxTtlSeconds: 600 },
      ttl: 600,
      capped: true,
    },
    {
      name: 'gives a periodic token its period, not the role TTL',
      over: { periodSeconds: 600, backendTtlSeconds: H },
      ttl: 600,
      capped: false,
    },
    {
      name: 'caps a period at the explicit max TTL',
      over: { periodSeconds: 600, explicitMaxTtlSeconds: 300 },
      ttl: 300,
      capped: true,
    },
    {
      name: 'caps a period at the mount max TTL',
      over: { periodSeconds: 10 * H, mount: { defaultLeaseTtlSeconds: H, maxLeaseTtlSeconds: 5 * H } },
      ttl: 5 * H,
      capped: true,
    },
  ])('$name', ({ over, ttl, capped }) => {
    const result = calculateTtl(input(over));
    expect(result.ttlSeconds).toBe(ttl);
    expect(result.warnings.length > 0).toBe(capped);
  });

  it('bounds a non-periodic lease at start + max TTL', () => {
    const result = calculateTtl(input({ backendTtlSeconds: H, backendMaxTtlSeconds: 2 * H }));
    expect(result.notAfterMs).toBe(START + 2 * H * 1000);
  });

  it('leaves a periodic lease without explicit max TTL unbounded', () => {
    expect(calculateTtl(input({ periodSeconds: 600 })).notAfterMs).toBeNull();
    expect(calculateTtl(input({ periodSeconds: 600, explicitMaxTtlSeconds: H })).notAfterMs).toBe(
      START + H * 1000,
    );
  });

  it("words the cap warning as Vault's CalculateTTL does", () => {
    const result = calculateTtl(input({ backendTtlSeconds: 2 * H, backendMaxTtlSeconds: H }));
    expect(result.warnings).toEqual([
      'TTL of "2h" exceeded the effective max_ttl of "1h"; TTL value is capped accordingly',
    ]);
  });

  it('refuses a mount without a max lease TTL as a caller mistake', () => {
    expect(() =>
      calculateTtl(input({ mount: { defaultLeaseTtlSeconds: 1, maxLeaseTtlSeconds: 0 } })),
    ).toThrow(TypeError);
  });
});

describe('calculateTtl at renewal', () => {
  const later = (seconds: number) => START + seconds * 1000;

  it('grants the increment, capped at what is left of the max TTL', () => {
    const base = { backendTtlSeconds: H, backendMaxTtlSeconds: 2 * H, nowMs: later(H) };
    expect(calculateTtl(input({ ...base, incrementSeconds: 1800 })).ttlSeconds).toBe(1800);
    expect(calculateTtl(input({ ...base, incrementSeconds: 3 * H })).ttlSeconds).toBe(H);
  });

  it('grants the role TTL again when no increment is asked', () => {
    const result = calculateTtl(
      input({ backendTtlSeconds: 600, backendMaxTtlSeconds: 2 * H, nowMs: later(H) }),
    );
    expect(result.ttlSeconds).toBe(600);
  });

  it('resets a periodic token to its period whatever the increment', () => {
    const result = calculateTtl(input({ periodSeconds: 600, incrementSeconds: 5 * H, nowMs: later(10 * H) }));
    expect(result.ttlSeconds).toBe(600);
  });

  it('caps a periodic renewal at start + explicit max TTL', () => {
    const result = calculateTtl(
      input({ periodSeconds: 600, explicitMaxTtlSeconds: H, nowMs: later(H - 100) }),
    );
    expect(result.ttlSeconds).toBe(100);
  });

  it('refuses a renewal past the max TTL with a bad request', () => {
    let caught: unknown;
    try {
      calculateTtl(input({ backendTtlSeconds: 600, backendMaxTtlSeconds: H, nowMs: later(H) }));
    } catch (err) {
      caught = err;
    }
    expect(isAuthgateError(caught) && caught.code === 'BAD_REQUEST').toBe(true);
    expect((caught as Error).message).toBe('past the max TTL, cannot renew');
  });

  it('truncates start and now to whole seconds as Vault does', () => {
    const result = calculateTtl(
      input({ backendTtlSeconds: H, backendMaxTtlSeconds: H, startMs: START + 999, nowMs: later(600) + 999 }),
    );
    expect(result.ttlSeconds).toBe(H - 600);
  });
});

describe('humanDuration', () => {
  it.each([
    [0, '0s'],
    [45, '45s'],
    [60, '1m'],
    [330, '5m30s'],
    [3600, '1h'],
    [5400, '1h30m'],
    [7205, '2h5s'],
    [768 * 3600, '768h'],
  ])('renders %i seconds as %s', (seconds, text) => {
    expect(humanDuration(seconds)).toBe(text);
  });
});
