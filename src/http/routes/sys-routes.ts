import type { FastifyInstance } from 'fastify';
import Type from 'typebox';
import type { Clock } from '../../lib/clock.js';

export type HealthDeps = {
  version: string;
  clock: Clock;
  clusterName: string;
  clusterId: string;
  /** Readiness: the store and each mount's verifier. Resolves the names of failing checks. */
  readiness(): Promise<{ ready: boolean; failing: Record<string, string> }>;
};

const HealthQuery = Type.Object(
  {
    standbyok: Type.Optional(Type.String()),
    activecode: Type.Optional(Type.String({ pattern: '^[0-9]{3}$' })),
    sealedcode: Type.Optional(Type.String({ pattern: '^[0-9]{3}$' })),
  },
  { additionalProperties: true },
);

/**
 * `GET|HEAD /v1/sys/health` with Vault's body and status codes. authgate has no seal and no
 * standby: it answers 200 (or `activecode`) while it can serve, and `sealedcode` (default 503)
 * with `sealed: true` when a dependency it needs is down — the status that load balancers and
 * Vault clients already treat as "do not send traffic here". Unauthenticated, never audited.
 * `/v1/sys/health/live` and `/ready` are the plain liveness and readiness probes.
 */
export const registerSysRoutes = (app: FastifyInstance, deps: HealthDeps): void => {
  app.route({
    method: ['GET', 'HEAD'],
    url: '/v1/sys/health',
    schema: { querystring: HealthQuery },
    handler: async (request, reply) => {
      const q = request.query as { activecode?: string; sealedcode?: string };
      const { ready } = await deps.readiness();
      const status = ready ? Number(q.activecode ?? 200) : Number(q.sealedcode ?? 503);
      return reply.code(status).send({
        initialized: true,
        sealed: !ready,
        standby: false,
        performance_standby: false,
        replication_performance_mode: 'disabled',
        replication_dr_mode: 'disabled',
        server_time_utc: Math.floor(deps.clock.nowMs() / 1000),
        version: deps.version,
        cluster_name: deps.clusterName,
        cluster_id: deps.clusterId,
      });
    },
  });
  app.get('/v1/sys/health/live', async () => ({ live: true }));
  app.get('/v1/sys/health/ready', async (_request, reply) => {
    const r = await deps.readiness();
    return reply.code(r.ready ? 200 : 503).send({ ready: r.ready, failing: r.failing });
  });
};
