import { randomBytes } from 'node:crypto';
import { createLocalJWKSet, jwtVerify, type JWTVerifyResult } from 'jose';
import type { IdentityConfig, IdentityKeyConfig, IdentityRoleConfig } from '../../config/index.js';
import { createFakeClock, type FakeClock } from '../../lib/clock.js';
import {
  createKeys,
  createMemoryStore,
  StoreUnavailableError,
  type MemoryStore,
  type Store,
} from '../../store/index.js';
import { createSecretCipher, type SecretCipher } from '../cipher.js';
import { createIdentityTokens, type IdentityTokens, type IdentityTokensDeps } from './identity-tokens.js';
import type { IdentityLog } from './key-ring-store.js';
import type { IdentityClaims, IdentitySubject } from './types.js';

export const ISSUER = 'https://authgate.example';
export const HOUR = 3600;

export const key = (name: string, over: Partial<IdentityKeyConfig> = {}): IdentityKeyConfig => ({
  name,
  algorithm: 'ES256',
  rotationPeriodSeconds: 24 * HOUR,
  verificationTtlSeconds: 24 * HOUR,
  ...over,
});

export const role = (name: string, over: Partial<IdentityRoleConfig> = {}): IdentityRoleConfig => ({
  name,
  key: 'default',
  audience: `${name}-service`,
  ttlSeconds: HOUR,
  ...over,
});

export const identityConfig = (
  keys: IdentityKeyConfig[] = [key('default')],
  roles: IdentityRoleConfig[] = [role('web')],
): IdentityConfig => ({
  issuer: ISSUER,
  keys: new Map(keys.map((k) => [k.name, k])),
  roles: new Map(roles.map((r) => [r.name, r])),
});

export const podSubject: IdentitySubject = {
  namespace: 'shop',
  serviceAccountName: 'web',
  serviceAccountUid: '5a1e6c3e-0000-4000-8000-000000000001',
  podName: 'web-7d4b9-abcde',
  podUid: '5a1e6c3e-0000-4000-8000-000000000002',
  role: 'web',
};

/** A logger that keeps the event of each line, by level. */
export const eventLog = () => {
  const lines: Array<{ level: string; event: string; fields: Record<string, unknown> }> = [];
  const at = (level: string) => (fields: Record<string, unknown>) => {
    lines.push({ level, event: String(fields['event']), fields });
  };
  const log = {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
  } as unknown as IdentityLog;
  return { log, lines, events: () => lines.map((l) => l.event) };
};

/** A store that can be taken down: every call then rejects as an unreachable Redis does. */
export const switchableStore = (inner: Store) => {
  let down = false;
  const guard =
    <A extends unknown[], R>(fn: (...args: A) => Promise<R>) =>
    (...args: A): Promise<R> =>
      down ? Promise.reject(new StoreUnavailableError('connection refused')) : fn(...args);
  return {
    store: {
      get: guard((k: string) => inner.get(k)),
      set: guard((k: string, v: string, o?: Parameters<Store['set']>[2]) => inner.set(k, v, o)),
      delete: guard((...k: string[]) => inner.delete(...k)),
      deleteIfEquals: guard((k: string, v: string) => inner.deleteIfEquals(k, v)),
    },
    setDown: (value: boolean) => {
      down = value;
    },
  };
};

export type Fixture = {
  clock: FakeClock;
  memory: MemoryStore;
  cipher: SecretCipher;
  keys: ReturnType<typeof createKeys>;
  switchable: ReturnType<typeof switchableStore>;
  /** An engine (a replica) on the fixture's store; closed by `closeAll`. */
  engine(over?: Partial<IdentityTokensDeps>): IdentityTokens & { events: () => string[] };
  closeAll(): void;
};

/** One shared store, clock and encryption key, on which tests start as many replicas as they like. */
export const fixture = (config: IdentityConfig = identityConfig()): Fixture => {
  const clock = createFakeClock();
  const memory = createMemoryStore({ clock, sweepIntervalMs: 0 });
  const cipher = createSecretCipher(randomBytes(32));
  const keys = createKeys();
  const switchable = switchableStore(memory);
  const open: IdentityTokens[] = [];
  return {
    clock,
    memory,
    cipher,
    keys,
    switchable,
    engine: (over = {}) => {
      const { log, events } = eventLog();
      const engine = createIdentityTokens({
        store: switchable.store,
        keys,
        clock,
        cipher,
        log,
        config,
        refreshIntervalMs: 0,
        ...over,
      });
      open.push(engine);
      return Object.assign(engine, { events });
    },
    closeAll: () => {
      for (const e of open) e.close();
    },
  };
};

/** Verifies `token` as a downstream service would, at the fake clock's time. */
export const verifyAt = async (
  token: string,
  engine: Pick<IdentityTokens, 'jwks'>,
  clock: FakeClock,
  audience: string,
): Promise<JWTVerifyResult<IdentityClaims>> =>
  jwtVerify<IdentityClaims>(token, createLocalJWKSet(await engine.jwks()), {
    issuer: `${ISSUER}/v1/identity/oidc`,
    audience,
    currentDate: new Date(clock.nowMs()),
  });
