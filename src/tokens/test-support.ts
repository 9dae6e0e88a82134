import { createFakeClock } from '../lib/clock.js';
import { createKeys, createMemoryStore } from '../store/index.js';
import { createTokenService } from './token-service.js';
import type { IssueInput } from './types.js';

/** A login's worth of issue input for tests; override what the test is about. */
export const issueInput = (over: Partial<IssueInput> = {}): IssueInput => ({
  policies: ['default', 'dev'],
  metadata: {
    role: 'dev-role',
    service_account_name: 'vault-auth',
    service_account_namespace: 'default',
    service_account_secret_name: '',
    service_account_uid: 'aa9aa8ff-98d0-4b2a-9c0e-1f2b3c4d5e6f',
  },
  displayName: 'kubernetes-default-vault-auth',
  path: 'auth/kubernetes/login',
  entityId: 'entity-1',
  role: 'dev-role',
  mountPath: 'kubernetes',
  ttlSeconds: 3600,
  maxTtlSeconds: 0,
  explicitMaxTtlSeconds: 0,
  periodSeconds: 0,
  numUses: 0,
  boundCidrs: [],
  mount: { defaultLeaseTtlSeconds: 2_764_800, maxLeaseTtlSeconds: 2_764_800 },
  ...over,
});

/**
 * A token service over a memory store on a fake clock. `storeClock` lets a test run the store on
 * a different clock than the service (a store TTL that lags the service's clock).
 */
export const setup = (options: { storeClock?: ReturnType<typeof createFakeClock> } = {}) => {
  const clock = createFakeClock();
  const store = createMemoryStore({ clock: options.storeClock ?? clock, sweepIntervalMs: 0 });
  const keys = createKeys();
  const tokens = createTokenService({ store, keys, clock, serverKey: Buffer.alloc(32, 7) });
  return { clock, store, keys, tokens };
};

/** The error a promise rejects with (fails the test when it resolves). */
export const rejection = async (pending: Promise<unknown>): Promise<unknown> => {
  try {
    await pending;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
};
