import { TypeBoxValidatorCompiler } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createCachedReadiness,
  registerSysRoutes,
  type ReadinessReport,
} from '../src/http/routes/sys-routes.js';
import { installErrorHandling } from '../src/http/vault-errors.js';
import { createFakeClock } from '../src/lib/clock.js';

const UP: ReadinessReport = { ready: true, failing: {}, critical: false };
const API_DOWN: ReadinessReport = {
  ready: false,
  failing: { 'auth/kubernetes': 'connect ECONNREFUSED' },
  critical: false,
};
const STORE_DOWN: ReadinessReport = {
  ready: false,
  failing: { store: 'connect ECONNREFUSED' },
  critical: true,
};

let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

/** The sys routes alone, with a readiness check that answers `state` and counts its calls. */
const healthApp = (initial: ReadinessReport | (() => Promise<ReadinessReport>)) => {
  const clock = createFakeClock();
  let state = initial;
  let calls = 0;
  app = Fastify();
  app.setValidatorCompiler(TypeBoxValidatorCompiler);
  installErrorHandling(app);
  registerSysRoutes(app, {
    version: '0.0.0-test',
    clock,
    clusterName: 'authgate',
    clusterId: 'test',
    readiness: async () => {
      calls++;
      return typeof state === 'function' ? state() : state;
    },
  });
  const get = async (url: string) => {
    const res = await app!.inject({ method: 'GET', url });
    return { status: res.statusCode, json: (res.body === '' ? {} : res.json()) as Record<string, unknown> };
  };
  return {
    clock,
    get,
    set: (next: ReadinessReport) => {
      state = next;
    },
    calls: () => calls,
  };
};

describe('/v1/sys/health', () => {
  it('answers 200, not sealed, when everything is up', async () => {
    const t = healthApp(UP);
    expect(await t.get('/v1/sys/health')).toMatchObject({ status: 200, json: { sealed: false } });
  });

  it('stays 200 and unsealed when only a mount upstream is down, while ready says 503', async () => {
    const t = healthApp(API_DOWN);
    expect(await t.get('/v1/sys/health')).toMatchObject({ status: 200, json: { sealed: false } });
    expect(await t.get('/v1/sys/health/ready')).toEqual({
      status: 503,
      json: { ready: false, failing: { 'auth/kubernetes': 'connect ECONNREFUSED' } },
    });
    expect((await t.get('/v1/sys/health/live')).status).toBe(200);
  });

  it('answers 503 sealed (or sealedcode) when the store is down', async () => {
    const t = healthApp(STORE_DOWN);
    expect(await t.get('/v1/sys/health')).toMatchObject({ status: 503, json: { sealed: true } });
    expect((await t.get('/v1/sys/health?sealedcode=299')).status).toBe(299);
    expect((await t.get('/v1/sys/health/ready')).status).toBe(503);
    expect((await t.get('/v1/sys/health/live')).status).toBe(200);
  });

  it('takes a failing store as critical when the report does not say', async () => {
    const t = healthApp({ ready: false, failing: { store: 'down' } });
    expect((await t.get('/v1/sys/health')).status).toBe(503);
    t.clock.advanceSeconds(3);
    t.set({ ready: false, failing: { 'auth/jwks': 'down' } });
    expect((await t.get('/v1/sys/health')).status).toBe(200);
  });

  it('takes a readiness check that throws as critical, without echoing its message', async () => {
    const t = healthApp(() => Promise.reject(new Error('secret detail')));
    expect((await t.get('/v1/sys/health')).status).toBe(503);
    const ready = await t.get('/v1/sys/health/ready');
    expect(ready.status).toBe(503);
    expect(JSON.stringify(ready.json)).not.toContain('secret detail');
  });

  // A 1xx is no final answer: the client waits for another, and a kept-alive connection shifts.
  it.each(['600', '099', '000', '1000', '2x0', '-200', '100', '101', '103', '199'])(
    'refuses %s as activecode and as sealedcode with 400',
    async (code) => {
      const t = healthApp(UP);
      expect((await t.get(`/v1/sys/health?activecode=${code}`)).status).toBe(400);
      expect((await t.get(`/v1/sys/health?sealedcode=${code}`)).status).toBe(400);
    },
  );

  // Vault parses every code it is given, used or not (an authgate replica is never a standby,
  // uninitialized or a DR secondary), and every flag: a probe with a typo is a 400, not a 200.
  it.each(['standbycode', 'uninitcode', 'drsecondarycode', 'performancestandbycode'])(
    'refuses a %s that is no status code with 400, and accepts one that is',
    async (param) => {
      const t = healthApp(UP);
      expect((await t.get(`/v1/sys/health?${param}=abc`)).status).toBe(400);
      expect((await t.get(`/v1/sys/health?${param}=`)).status).toBe(400);
      expect((await t.get(`/v1/sys/health?${param}=299`)).status).toBe(200);
    },
  );

  it.each(['standbyok', 'perfstandbyok'])(
    'takes %s as Go parses a bool, and refuses anything else',
    async (param) => {
      const t = healthApp(UP);
      // An empty value is false to Vault (mapstructure's weak decoding), not an error.
      for (const v of ['true', 'True', 'TRUE', 't', '1', 'false', 'F', '0', ''])
        expect((await t.get(`/v1/sys/health?${param}=${v}`)).status, v).toBe(200);
      for (const v of ['yes', 'on', 'tru', ' true'])
        expect((await t.get(`/v1/sys/health?${param}=${v}`)).status, v).toBe(400);
    },
  );

  // Vault reads its cluster's name and id from storage: sealed, it has neither, and omits both.
  it('names no cluster while sealed', async () => {
    const t = healthApp(STORE_DOWN);
    const { json } = await t.get('/v1/sys/health');
    expect(json).not.toHaveProperty('cluster_name');
    expect(json).not.toHaveProperty('cluster_id');
    t.clock.advanceSeconds(3);
    t.set(UP);
    expect((await t.get('/v1/sys/health')).json).toMatchObject({
      cluster_name: 'authgate',
      cluster_id: 'test',
    });
  });

  it.each(['200', '204', '299', '599'])('answers with activecode=%s', async (code) => {
    const t = healthApp(UP);
    expect((await t.get(`/v1/sys/health?activecode=${code}`)).status).toBe(Number(code));
  });
});

describe('/v1/sys/seal-status, /v1/sys/init and /v1/sys/leader', () => {
  it("answer as Vault's, unsealed while the store is up", async () => {
    const t = healthApp(UP);
    expect(await t.get('/v1/sys/init')).toEqual({ status: 200, json: { initialized: true } });
    expect(await t.get('/v1/sys/seal-status')).toEqual({
      status: 200,
      json: {
        type: 'authgate',
        initialized: true,
        sealed: false,
        t: 0,
        n: 0,
        progress: 0,
        nonce: '',
        version: '0.0.0-test',
        build_date: '',
        migration: false,
        cluster_name: 'authgate',
        cluster_id: 'test',
        recovery_seal: false,
      },
    });
  });

  it('answers sys/leader as a Vault without HA: every replica serves', async () => {
    const t = healthApp(UP);
    expect(await t.get('/v1/sys/leader')).toEqual({
      status: 200,
      json: {
        ha_enabled: false,
        is_self: false,
        leader_address: '',
        leader_cluster_address: '',
        performance_standby: false,
        performance_standby_last_remote_wal: 0,
      },
    });
  });

  it('says sealed while the store is down, still with 200 as Vault', async () => {
    const t = healthApp(STORE_DOWN);
    expect(await t.get('/v1/sys/seal-status')).toMatchObject({ status: 200, json: { sealed: true } });
  });
});

describe('readiness caching', () => {
  it('probes once per two seconds however many health calls arrive', async () => {
    const t = healthApp(UP);
    for (let i = 0; i < 5; i++) await t.get('/v1/sys/health');
    await t.get('/v1/sys/health/ready');
    expect(t.calls()).toBe(1);
    t.clock.advanceMs(1999);
    await t.get('/v1/sys/health');
    expect(t.calls()).toBe(1);
    t.clock.advanceMs(1);
    await t.get('/v1/sys/health');
    expect(t.calls()).toBe(2);
  });

  it('sees a change of state once the cached result expires', async () => {
    const t = healthApp(UP);
    expect((await t.get('/v1/sys/health/ready')).status).toBe(200);
    t.set(STORE_DOWN);
    expect((await t.get('/v1/sys/health/ready')).status).toBe(200);
    t.clock.advanceSeconds(2);
    expect((await t.get('/v1/sys/health/ready')).status).toBe(503);
  });

  it('coalesces concurrent checks into one', async () => {
    const clock = createFakeClock();
    let calls = 0;
    let release: (r: ReadinessReport) => void = () => undefined;
    const readiness = createCachedReadiness(
      () => {
        calls++;
        return new Promise<ReadinessReport>((resolve) => {
          release = resolve;
        });
      },
      clock,
      0,
    );
    const pending = Array.from({ length: 50 }, () => readiness());
    release(API_DOWN);
    const results = await Promise.all(pending);
    expect(calls).toBe(1);
    expect(results.every((r) => r.ready === false && r.critical === false)).toBe(true);
    // Not cached (0 ms): the next caller probes again.
    const next = readiness();
    release(UP);
    expect(await next).toMatchObject({ ready: true });
    expect(calls).toBe(2);
  });
});
