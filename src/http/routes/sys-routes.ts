import type { FastifyInstance } from 'fastify';
import Type from 'typebox';
import type { Clock } from '../../lib/clock.js';
import { GO_BOOL_OR_EMPTY_PATTERN } from '../../lib/go-bool.js';

/**
 * What one readiness check found. The composition root builds it from the store's ping and each
 * mount's verifier.
 */
export type ReadinessReport = {
  /** True when every check passed. */
  ready: boolean;
  /** The failing checks by name (`store`, `auth/<mount>`) → why. Empty when `ready`. */
  failing: Record<string, string>;
  /**
   * True when a check that authgate cannot serve anything without has failed: the store (no
   * token can be issued, checked, renewed or revoked). A mount's upstream (API server, JWKS
   * endpoint) is not critical: logins with cached results and every token endpoint still work,
   * so that failure only degrades the replica. When omitted, `critical` is taken to be "`failing`
   * has a `store` entry".
   */
  critical?: boolean;
};

export type HealthDeps = {
  version: string;
  clock: Clock;
  clusterName: string;
  clusterId: string;
  /**
   * Readiness: the store and each mount's verifier. Called at most once per
   * `readinessCacheMs`, never concurrently with itself; a rejection counts as a critical failure.
   */
  readiness(): Promise<ReadinessReport>;
  /**
   * The critical checks alone (the store), for `/v1/sys/health` and the seal status: a load
   * balancer's probe must not wait on an API server that hangs (a verifier's check lasts up to its
   * upstream timeout, longer than a probe's). Cached as `readiness`. Default: `readiness`.
   */
  criticalReadiness?(): Promise<ReadinessReport>;
  /** How long one readiness result is reused, in milliseconds. Default 2000; 0 = not reused. */
  readinessCacheMs?: number;
};

/** Default of {@link HealthDeps.readinessCacheMs}. */
export const DEFAULT_READINESS_CACHE_MS = 2000;

/** A readiness result with `critical` settled. */
export type SettledReadiness = Required<ReadinessReport>;

/**
 * Wraps a readiness check so that health traffic cannot turn into upstream traffic:
 * `/v1/sys/health` is unauthenticated, and every uncached call would probe the API server and
 * the store. A result (success or failure) is reused for `cacheMs` of `clock` time, and callers
 * that arrive while a check runs share it. A check that throws is reported as a critical failure
 * named `readiness`, without its message.
 */
export const createCachedReadiness = (
  check: () => Promise<ReadinessReport>,
  clock: Clock,
  cacheMs: number = DEFAULT_READINESS_CACHE_MS,
): (() => Promise<SettledReadiness>) => {
  if (!Number.isFinite(cacheMs) || cacheMs < 0) {
    throw new TypeError(`readinessCacheMs must be a non-negative number, got ${String(cacheMs)}`);
  }
  let cached: { report: SettledReadiness; atMs: number } | undefined;
  let inflight: Promise<SettledReadiness> | undefined;

  const run = async (): Promise<SettledReadiness> => {
    let report: SettledReadiness;
    try {
      const r = await check();
      report = {
        ready: r.ready,
        failing: r.failing,
        critical: r.critical ?? Object.hasOwn(r.failing, 'store'),
      };
    } catch {
      // Fail closed: an unknown state is reported as the worst one.
      report = { ready: false, failing: { readiness: 'readiness check failed' }, critical: true };
    }
    cached = { report, atMs: clock.nowMs() };
    return report;
  };

  return () => {
    if (cached !== undefined && clock.nowMs() - cached.atMs < cacheMs) return Promise.resolve(cached.report);
    inflight ??= run().finally(() => {
      inflight = undefined;
    });
    return inflight;
  };
};

// Vault answers any status code it is asked for; Node (and HTTP) only has 100–599.
// 2xx-5xx only: a 1xx is no final answer (a client waits for another, a kept-alive connection
// shifts every later answer by one, and 101 reads as a protocol switch to a proxy).
const StatusCode = Type.String({ pattern: '^[2-5][0-9]{2}$' });

// What Go's strconv.ParseBool takes, and the empty string (false to Vault's weak decoding).
const GoBool = Type.String({ pattern: GO_BOOL_OR_EMPTY_PATTERN });

// Vault parses every one of these, and answers 400 to a value it cannot, even those of states
// authgate is never in (standby, performance standby, DR secondary, uninitialized).
const HealthQuery = Type.Object(
  {
    standbyok: Type.Optional(GoBool),
    perfstandbyok: Type.Optional(GoBool),
    activecode: Type.Optional(StatusCode),
    sealedcode: Type.Optional(StatusCode),
    standbycode: Type.Optional(StatusCode),
    uninitcode: Type.Optional(StatusCode),
    drsecondarycode: Type.Optional(StatusCode),
    performancestandbycode: Type.Optional(StatusCode),
  },
  { additionalProperties: true },
);

/**
 * `GET|HEAD /v1/sys/health` with Vault's body and status codes. authgate has no seal and no
 * standby: it answers 200 (or `activecode`) while it can serve, and `sealedcode` (default 503)
 * with `sealed: true` only when a critical dependency (the store) is down — the status that load
 * balancers and Vault clients treat as "do not send traffic here". An API server or JWKS endpoint
 * that is down does not seal: cached logins and the token endpoints still work, and every replica
 * shares the same upstream, so draining them all would turn a partial outage into a full one.
 * Unauthenticated, never audited.
 *
 * `GET /v1/sys/seal-status`, `/v1/sys/init` and `/v1/sys/leader` answer as Vault's (`vault
 * status`, hvac's `is_sealed()`), the seal status from the same (critical) readiness result.
 *
 * `/v1/sys/health/live` always answers 200; `/v1/sys/health/ready` answers 503 when any check
 * fails, with the failing checks. Each of the two checks (`readiness`, and `criticalReadiness` for
 * the seal) is cached on its own ({@link createCachedReadiness}).
 */
export const registerSysRoutes = (app: FastifyInstance, deps: HealthDeps): void => {
  const readiness = createCachedReadiness(deps.readiness, deps.clock, deps.readinessCacheMs);
  const sealed =
    deps.criticalReadiness === undefined
      ? readiness
      : createCachedReadiness(deps.criticalReadiness, deps.clock, deps.readinessCacheMs);

  app.route({
    method: ['GET', 'HEAD'],
    url: '/v1/sys/health',
    schema: { querystring: HealthQuery },
    handler: async (request, reply) => {
      const q = request.query as { activecode?: string; sealedcode?: string };
      const { critical } = await sealed();
      const status = critical ? Number(q.sealedcode ?? 503) : Number(q.activecode ?? 200);
      return reply.code(status).send({
        initialized: true,
        sealed: critical,
        standby: false,
        performance_standby: false,
        replication_performance_mode: 'disabled',
        replication_dr_mode: 'disabled',
        server_time_utc: Math.floor(deps.clock.nowMs() / 1000),
        version: deps.version,
        // Vault reads them from its storage: sealed, it has neither and leaves both out.
        ...(critical ? {} : { cluster_name: deps.clusterName, cluster_id: deps.clusterId }),
      });
    },
  });
  // What `vault status`, hvac's `is_sealed()` and `is_initialized()` read; unauthenticated, as
  // Vault's. authgate has no seal and no unseal keys: a seal of its own type with no shares, and
  // `sealed` as in `/v1/sys/health` (the store is down).
  app.get('/v1/sys/init', async () => ({ initialized: true }));
  app.get('/v1/sys/seal-status', async () => {
    const { critical } = await sealed();
    return {
      type: 'authgate',
      initialized: true,
      sealed: critical,
      t: 0,
      n: 0,
      progress: 0,
      nonce: '',
      version: deps.version,
      build_date: '',
      migration: false,
      cluster_name: deps.clusterName,
      cluster_id: deps.clusterId,
      recovery_seal: false,
    };
  });
  // `vault status` asks it after the seal status, and stops on a 404. No HA: every replica serves.
  app.get('/v1/sys/leader', async () => ({
    ha_enabled: false,
    is_self: false,
    leader_address: '',
    leader_cluster_address: '',
    performance_standby: false,
    performance_standby_last_remote_wal: 0,
  }));
  app.get('/v1/sys/health/live', async () => ({ live: true }));
  app.get('/v1/sys/health/ready', async (_request, reply) => {
    const r = await readiness();
    return reply.code(r.ready ? 200 : 503).send({ ready: r.ready, failing: r.failing });
  });
};
