import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { createAudit, type Audit } from '../audit/index.js';
import { createLoginService, createMounts, createRevocationService } from '../auth/index.js';
import type {
  AuthgateConfig,
  AuthMountConfig,
  KubernetesMountConfig,
  RoleReloadPlan,
} from '../config/index.js';
import {
  applyRoleReload,
  ConfigError,
  planRoleReload,
  sectionsNeedingRestart,
  type PolicySourcesConfig,
} from '../config/index.js';
import { badRequest } from '../errors.js';
import { buildApp } from '../http/index.js';
import { createPolicyRegistry, PolicyLoadError } from '../policy/index.js';
import { createIdentityTokens, createKvEngine, createSecretCipher, rewrapSecrets } from '../secrets/index.js';
import { systemClock, type Clock } from '../lib/clock.js';
import { sharedFor } from '../lib/shared-for.js';
import { createReloadLog } from './reload-log.js';
import { VERSION } from './version.js';
import { deriveKey, hmacB64, safeEqual } from '../lib/hash.js';
import {
  createKeys,
  createMemoryStore,
  createRedisStore,
  type RedisCredentials,
  type Store,
} from '../store/index.js';
import {
  createLogger,
  createMetrics,
  createTelemetry,
  type Logger,
  type TelemetryOptions,
} from '../telemetry/index.js';
import { createTokenService, type TokenService } from '../tokens/index.js';
import {
  createMemoryResultCache,
  createSharedCache,
  createSharedJwksSource,
  trustScope,
  type JwksSource,
  type CachedReview,
  type VerifierControl,
} from '../verify/index.js';

export type ComposeOptions = {
  clock?: Clock;
  log?: Logger;
  /** HMAC key for tokens and caches; else the config's (read from `server_key_file`), else generated (memory store only). */
  serverKey?: Buffer;
  /** The operator token; else the config's (read from `admin_token_file`). */
  adminToken?: string;
  /** A store to use instead of the configured one (tests that read the raw store). */
  store?: Store;
  /** With `store`: share verification caches through it, as with Redis. Default false. */
  sharedCaches?: boolean;
  /** Where `stdout` audit devices write; default `process.stdout`. */
  auditStdout?: NodeJS.WritableStream;
  /**
   * Where a reload reads the config from (parsed and validated whole; throws a ConfigError):
   * SIGHUP (`reload`) applies its policies and the roles of the auth mounts,
   * `sys/policies/reload` (`reloadPolicies`) its policies only. Default: the config as parsed at
   * start (the inline policies and the roles stay, `policy_dir` is read again). `authgate server`
   * passes a function that re-reads the config file.
   */
  reloadConfig?: () => AuthgateConfig;
  /** Telemetry settings (tests pass an in-memory span exporter); default: `telemetry` of the config and OTEL_*. */
  telemetry?: Partial<Pick<TelemetryOptions, 'traces' | 'prometheus' | 'env'>>;
  /**
   * The end of the certificate the listener serves, Unix seconds (`authgate server` gives its
   * listener TLS's, which follows renewals); the gauge of it is absent without.
   */
  listenerCertificateExpiry?: () => number | undefined;
};

export type ComposedServer = {
  app: FastifyInstance;
  store: Store;
  tokens: TokenService;
  verifiers: Map<string, VerifierControl>;
  /** The audit devices; `reopen()` on SIGHUP. */
  audit: Audit;
  /**
   * Re-reads the policies only (`sys/policies/reload`); rejects with a ConfigError and keeps the
   * old set on any problem.
   */
  reloadPolicies(): Promise<void>;
  /**
   * SIGHUP: reads the config once and puts its policies and the new role sets of the running auth
   * mounts in force together (`planRoleReload` says which: a mount whose other settings changed
   * keeps its roles), logging what needs a restart (`config.restart_required`). Rejects with a
   * ConfigError on any problem, and then nothing of the file is applied.
   */
  reload(): Promise<void>;
  /**
   * The configured Redis store's: puts rotated credentials in force for its next connections.
   * Undefined with another store.
   */
  setRedisCredentials: ((credentials: RedisCredentials) => void) | undefined;
  log: Logger;
  close(): Promise<void>;
};

/**
 * The composition root: builds every part from the config and wires them into the HTTP app.
 * `authgate server`, `authgate dev` and the HTTP tests all use it, so what is tested is what runs.
 */
/** How long a count of the live tokens serves the scrapes that follow it. */
const LIVE_TOKENS_REUSE_MS = 5_000;

export const composeServer = (
  config: AuthgateConfig,
  options: ComposeOptions = {},
  https?: { cert: Buffer; key: Buffer },
): ComposedServer => {
  const clock = options.clock ?? systemClock;
  const log = options.log ?? createLogger(config.log.level);
  for (const warning of config.warnings) log.warn({ event: 'config.insecure', warning }, 'config.insecure');

  // The files were read and checked (length) by parseConfig, so a bad one is a config error.
  let serverKey = options.serverKey ?? config.serverKey;
  if (serverKey === undefined) {
    // Acceptable only because the memory store dies with the process: nothing HMAC'd under this
    // key outlives it. A shared store needs a shared key.
    serverKey = randomBytes(32);
    log.warn(
      { event: 'config.insecure', warning: 'no server_key_file: a random key is used for this process' },
      'config.insecure',
    );
  }
  const adminToken = options.adminToken ?? config.adminToken;
  if (adminToken === undefined) {
    log.warn(
      {
        event: 'config.insecure',
        warning: 'no admin_token_file: operator endpoints answer only tokens whose policies grant them',
      },
      'config.insecure',
    );
  }
  // Compare HMACs, not the tokens, so the comparison is constant-time. What timing may reveal is
  // the admin token's length (the early length check below), never its content.
  const adminHmac = adminToken === undefined ? undefined : hmacB64(serverKey, adminToken);
  const adminLength = adminToken?.length ?? -1;
  const key = serverKey;
  const admin = {
    // Every guarded request asks this before its token is looked up: a token of another length
    // (every client token: `ags.` + 43) is not the admin token, and needs no HMAC.
    isAdmin: (token: string) =>
      adminHmac !== undefined && token.length === adminLength && safeEqual(hmacB64(key, token), adminHmac),
  };

  const memoryStore =
    options.store === undefined && config.store.type === 'memory' ? createMemoryStore({ clock }) : undefined;
  const keys = createKeys(config.store.keyPrefix);
  const redisStore =
    options.store === undefined && config.store.type === 'redis'
      ? createRedisStore(config.store.redis, {
          log: log.child({ part: 'store' }),
          ...(config.store.redis.confirm === undefined
            ? {}
            : { confirm: { ...config.store.redis.confirm, probeKey: keys.replicationProbe() } }),
        })
      : undefined;
  const store = options.store ?? memoryStore ?? (redisStore as Store);
  const tokens = createTokenService({ store, keys, clock, serverKey, log: log.child({ part: 'tokens' }) });
  // Replicas share TokenReview results through the store; one process keeps them in memory.
  const shared = options.store !== undefined ? options.sharedCaches === true : config.store.type === 'redis';
  // What replicas share to verify logins (reviews, key sets) is signed under a key of its own.
  const sharedMacKey = deriveKey(serverKey, 'authgate shared verification state');
  const reviewCacheFor = (mount: KubernetesMountConfig) =>
    createSharedCache<CachedReview>(
      createMemoryResultCache<CachedReview>({ clock, maxEntries: mount.tokenReview.cacheMaxEntries }),
      {
        store,
        keys,
        clock,
        log: log.child({ mount: mount.path }),
        // Per mount and per cluster it trusts: another cluster's reviews are never taken.
        kind: `tokenreview:${mount.path}:${trustScope(mount)}`,
        lockTtlMs: mount.tokenReview.timeoutMs + 1000,
        macKey: sharedMacKey,
      },
    );
  const keysOf = (mount: AuthMountConfig) => (mount.type === 'jwt' ? mount.keys : mount.jwks);
  const shareSourceFor = (mount: AuthMountConfig) => (source: JwksSource, reload: () => void) =>
    createSharedJwksSource(
      source,
      {
        store,
        keys,
        clock,
        log: log.child({ mount: mount.path }),
        // Per mount and per key source: a set fetched from another cluster is never taken.
        kind: `${mount.path}:${trustScope(mount)}`,
        // At least 1 s, so replicas starting together share one fetch even with no cooldown.
        freshMs: Math.max(keysOf(mount)?.cooldownMs ?? 30_000, 1000),
        ttlMs: keysOf(mount)?.maxAgeMs ?? 600_000,
        macKey: sharedMacKey,
      },
      reload,
    );
  const mounts = createMounts(config.mounts, {
    clock,
    log,
    ...(shared ? { reviewCacheFor, shareSourceFor } : {}),
  });
  const login = createLoginService({ mounts, tokens, clock, log, serverKey, isSecret: admin.isAdmin });
  const verifiers = new Map([...mounts].map(([path, m]) => [path, m.verifier]));
  // Every mount's verifier: each drops its own cached results (a shared cache, on every replica).
  const revocation = createRevocationService({ tokens, caches: [...verifiers.values()] });
  const telemetry = createTelemetry({
    version: VERSION,
    prometheus: config.telemetry.metrics,
    ...options.telemetry,
    onError: (err) =>
      log.warn({ event: 'telemetry.failed', reason: (err as Error).message }, 'telemetry.failed'),
  });
  const metrics = createMetrics(telemetry.meter, {
    verifiers: [...verifiers].map(([mount, v]) => ({ mount, mode: v.mode, stats: () => v.stats() })),
    auditDevices: config.audit.map((d) => d.name),
    // Counted only where it is cheap: the embedded store holds nothing but live entries. Redis
    // would need a SCAN per scrape, so there the gauge is absent (see docs/operations.md). A count
    // walks the whole store (in slices): scrapes within a few seconds of it, concurrent ones
    // included, share it, so that /metrics asked in a loop costs no walk per request.
    ...(memoryStore === undefined
      ? {}
      : {
          liveTokens: sharedFor(LIVE_TOKENS_REUSE_MS, clock, () => memoryStore.countPrefix(keys.token(''))),
        }),
    ...(options.listenerCertificateExpiry === undefined
      ? {}
      : { listenerCertificateExpiry: options.listenerCertificateExpiry }),
  });

  // Values at rest (KV versions, identity key rings, audit salts) are sealed under a key of their
  // own, or one derived (HKDF) from the server key. Previous keys only open: values sealed under
  // them move to the current key when rewritten, or all at once through POST /v1/sys/rewrap.
  const cipher = createSecretCipher(
    config.secrets.encryptionKey ?? serverKey,
    config.secrets.previousEncryptionKeys,
  );
  const audit = createAudit(config.audit, {
    store,
    keys,
    // Audit salts are sealed as secret values are: whoever reads the store must not be able to
    // compute the HMAC of a guessed value (a password, a short secret) and find it in the log.
    sealer: cipher,
    clock,
    log: log.child({ part: 'audit' }),
    ...(options.auditStdout === undefined ? {} : { stdout: options.auditStdout }),
    onDeviceFailure: (device) => metrics.auditFailure(device),
  });

  // Policies are parsed (files read, templates compiled) before the app serves its first request.
  const policies = createPolicyRegistry({ log: log.child({ part: 'policy' }) });
  const readConfig = options.reloadConfig ?? (() => config);
  const loadPolicies = async (sources: PolicySourcesConfig, alongside?: () => void) => {
    try {
      await policies.load(sources, alongside);
    } catch (err) {
      if (err instanceof PolicyLoadError) {
        throw new ConfigError(
          'policies',
          err.problems.map((message) => ({ path: 'policies', message })),
        );
      }
      throw err;
    }
  };
  const reloadPolicies = async () => loadPolicies(readConfig().policies);
  const reloadLog = createReloadLog(log, config.warnings);
  const reload = async () => {
    const next = readConfig();
    let plan: RoleReloadPlan | undefined;
    // Planned at the swap, against the roles then in force: two reloads close together apply in
    // turn, and the second must not diff against the set the first is about to replace.
    await loadPolicies(next.policies, () => {
      plan = planRoleReload(config.mounts, next.mounts);
      applyRoleReload(config.mounts, plan);
    });
    if (plan !== undefined) reloadLog(plan, sectionsNeedingRestart(config, next), next.warnings);
  };

  const kv = new Map(
    [...config.secrets.kv].map(([path, mount]) => [
      path,
      createKvEngine({ store, keys, clock, cipher, mount }),
    ]),
  );
  const identity = createIdentityTokens({
    store,
    keys,
    clock,
    cipher,
    log: log.child({ part: 'identity' }),
    config: config.identity,
  });

  /** The store, and with `upstream` every mount's verifier (each bounded by its own timeout). */
  const readinessOf = async (upstream: boolean) => {
    // The probe needs no token: it names what fails, and the log says why (an error's text may
    // carry internal addresses or a server's answer).
    const failing: Record<string, string> = {};
    const reasons: Record<string, string> = {};
    const check = (name: string, what: string, p: Promise<unknown>) =>
      p.catch((err: unknown) => {
        failing[name] = what;
        reasons[name] = (err as Error).message;
      });
    await Promise.all([
      check('store', 'store unreachable', store.ping()),
      ...(upstream
        ? [...verifiers].map(([path, v]) => check(`auth/${path}`, 'upstream not ready', v.ready()))
        : []),
    ]);
    if (Object.keys(reasons).length > 0)
      log.warn({ event: 'health.not_ready', failing: reasons }, 'health.not_ready');
    // Only the store is critical: without it nothing can be served; an upstream blip still leaves cached logins and every token endpoint working.
    return { ready: Object.keys(failing).length === 0, failing, critical: 'store' in failing };
  };

  const app = buildApp(
    config,
    {
      log,
      telemetry: {
        tracer: telemetry.tracer,
        tracesEnabled: telemetry.tracesEnabled,
        metrics,
        ...(telemetry.metricsEnabled ? { metricsText: telemetry.metricsText } : {}),
      },
      login,
      tokens,
      admin,
      revocation,
      clock,
      audit,
      policies,
      reloadPolicies: async () => {
        try {
          await reloadPolicies();
        } catch (err) {
          // The caller sees what is wrong with the files; the running set is kept.
          if (err instanceof ConfigError)
            throw badRequest(err.problems.map((p) => p.message).join('; '), 'policy_invalid');
          throw err;
        }
      },
      kv,
      identity,
      rewrap: () =>
        rewrapSecrets({
          kv,
          identity,
          auditSalts: { rewrap: audit.rewrapSalts },
          log: log.child({ part: 'secrets' }),
        }),
      health: {
        version: VERSION,
        clock,
        clusterName: 'authgate',
        clusterId: hmacB64(serverKey, 'cluster-id').slice(0, 16),
        readiness: () => readinessOf(true),
        criticalReadiness: () => readinessOf(false),
      },
    },
    https,
  );
  app.addHook('onReady', () => loadPolicies(config.policies));

  return {
    app,
    store,
    tokens,
    verifiers,
    audit,
    log,
    reloadPolicies,
    reload,
    setRedisCredentials: redisStore?.setCredentials,
    close: async () => {
      await app.close();
      identity.close();
      await telemetry.shutdown();
      await audit.close();
      await Promise.all([...verifiers.values()].map((v) => v.close()));
      for (const m of mounts.values()) m.namespaces?.close();
      await store.close();
    },
  };
};
