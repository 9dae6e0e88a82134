import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { openApiProblems, unknownFields } from './helpers/k8s-schema.js';
import {
  KUSTOMIZATIONS,
  describeObject,
  findObject,
  renderKustomization,
  type K8sObject,
  type Kustomization,
} from './helpers/kustomize.js';
import { podSpecOf } from './helpers/pod-security.js';
import { usageText } from '../src/cli/command.js';
import { AGENT_USAGE } from '../src/cli/usages.js';

/*
 * The Kubernetes manifests of deploy/, as `kubectl kustomize` renders them: every object is
 * valid for the Kubernetes API (schema and field names), uses only served API versions, and
 * each overlay has the shape docs/kubernetes.md describes.
 */

const rendered = new Map<Kustomization, K8sObject[]>();
const objectsOf = (k: Kustomization): K8sObject[] => {
  const objects = rendered.get(k);
  if (objects === undefined) throw new Error(`${k} was not rendered`);
  return objects;
};

beforeAll(() => {
  for (const k of KUSTOMIZATIONS) rendered.set(k, renderKustomization(k));
});

/**
 * An alpha or beta API version. The ones the manifests could have used are gone: RBAC and
 * TokenReview v1beta1 since 1.22, PodDisruptionBudget v1beta1 since 1.25, HPA v2beta2 since 1.26.
 */
const PRE_GA_API = /(^|\/)v\d+(alpha|beta)\d+$/;

const CLUSTER_SCOPED = new Set(['Namespace', 'ClusterRole', 'ClusterRoleBinding']);

describe.each(KUSTOMIZATIONS)('%s', (k) => {
  it('renders with kubectl kustomize into named objects', () => {
    const objects = objectsOf(k);
    expect(objects.length).toBeGreaterThan(0);
    for (const o of objects) {
      expect(o.apiVersion, describeObject(o)).toMatch(/\S/);
      expect(o.kind, describeObject(o)).toMatch(/\S/);
      expect(o.metadata.name, describeObject(o)).toMatch(/^[a-z0-9]([-a-z0-9.:]*[a-z0-9])?$/);
    }
    const names = objects.map(describeObject);
    expect(new Set(names).size, 'no object twice').toBe(names.length);
  });

  it('validates every object against the Kubernetes OpenAPI schema (kubernetes-models, 1.33)', async () => {
    const problems: string[] = [];
    for (const o of objectsOf(k)) {
      for (const p of await openApiProblems(o)) problems.push(`${describeObject(o)}: ${p}`);
    }
    expect(problems).toEqual([]);
  });

  it('has no field the Kubernetes API does not define', () => {
    const problems = objectsOf(k).flatMap((o) => unknownFields(o).map((f) => `${describeObject(o)}: ${f}`));
    expect(problems).toEqual([]);
  });

  it('uses no alpha, beta or removed API version (RBAC and TokenReview are v1 since 1.22)', () => {
    for (const o of objectsOf(k)) expect(o.apiVersion, describeObject(o)).not.toMatch(PRE_GA_API);
  });

  it('puts every namespaced object in the namespace it creates', () => {
    const objects = objectsOf(k);
    const namespaces = objects.filter((o) => o.kind === 'Namespace').map((o) => o.metadata.name);
    expect(namespaces).toHaveLength(1);
    for (const o of objects.filter((x) => !CLUSTER_SCOPED.has(x.kind))) {
      expect(o.metadata.namespace, describeObject(o)).toBe(namespaces[0]);
    }
  });
});

describe('the schema checks themselves', () => {
  const deployment = (): K8sObject =>
    structuredClone(findObject(objectsOf('deploy/overlays/dev'), 'Deployment', 'authgate'));

  it('accept the rendered Deployment and v1 RBAC', async () => {
    expect(await openApiProblems(deployment())).toEqual([]);
    expect(unknownFields(deployment())).toEqual([]);
  });

  it('refuse a wrong type, a missing required field and a removed API version', async () => {
    const wrongType = deployment();
    (wrongType['spec'] as Record<string, unknown>)['replicas'] = 'three';
    expect((await openApiProblems(wrongType)).join()).toMatch(/replicas must be integer/);

    const noContainers = deployment();
    delete (podSpecOf(noContainers) as unknown as Record<string, unknown>)['containers'];
    expect((await openApiProblems(noContainers)).join()).toMatch(/containers/);

    const binding = findObject(
      objectsOf('deploy/overlays/dev'),
      'ClusterRoleBinding',
      'authgate-auth-delegator',
    );
    expect(PRE_GA_API.test(binding.apiVersion)).toBe(false);
    const beta = { ...structuredClone(binding), apiVersion: 'rbac.authorization.k8s.io/v1beta1' };
    expect(PRE_GA_API.test(beta.apiVersion)).toBe(true);
    // Not served by current API servers: the generated client has no model of it either.
    expect(() => unknownFields(beta)).toThrow(/no @kubernetes\/client-node model V1beta1ClusterRoleBinding/);
  });

  it('refuse a misspelt field at any depth', () => {
    const typo = deployment();
    const container = podSpecOf(typo)?.containers[0] as unknown as Record<string, unknown>;
    container['securityContxt'] = container['securityContext'];
    expect(unknownFields(typo)).toEqual(['.spec.template.spec.containers[0].securityContxt']);
  });
});

describe('RBAC', () => {
  const objects = (): K8sObject[] => objectsOf('deploy/overlays/production');
  type Binding = K8sObject & {
    roleRef: { apiGroup: string; kind: string; name: string };
    subjects: Array<{ kind: string; name: string; namespace?: string }>;
  };
  const authgateSubject = [{ kind: 'ServiceAccount', name: 'authgate', namespace: 'authgate' }];

  it('binds authgate’s service account to system:auth-delegator (TokenReview)', () => {
    const binding = findObject(objects(), 'ClusterRoleBinding', 'authgate-auth-delegator') as Binding;
    expect(binding.apiVersion).toBe('rbac.authorization.k8s.io/v1');
    expect(binding.roleRef).toEqual({
      apiGroup: 'rbac.authorization.k8s.io',
      kind: 'ClusterRole',
      name: 'system:auth-delegator',
    });
    expect(binding.subjects).toEqual(authgateSubject);
  });

  it('grants nothing else to anyone', () => {
    const rbac = objects().filter((o) => o.apiVersion.startsWith('rbac.authorization.k8s.io/'));
    // Nothing of authgate reads pods or namespaces: TokenReview is all it asks the API server.
    expect(rbac.map(describeObject).sort()).toEqual(['ClusterRoleBinding/authgate-auth-delegator']);
  });
});

type Spec = Record<string, unknown>;
const specOf = (o: K8sObject): Spec => o['spec'] as Spec;

describe('the overlays', () => {
  it('run one replica on the in-cluster Redis in dev, with a StatefulSet, AOF and a volume claim', () => {
    const objects = objectsOf('deploy/overlays/dev');
    // The autoscaler owns the count: a Deployment that set one would be reset by every apply.
    expect(specOf(findObject(objects, 'Deployment', 'authgate'))['replicas']).toBeUndefined();
    expect(specOf(findObject(objects, 'HorizontalPodAutoscaler', 'authgate'))).toMatchObject({
      minReplicas: 1,
      maxReplicas: 2,
    });
    const pdb = specOf(findObject(objects, 'PodDisruptionBudget', 'authgate'));
    expect(pdb).toMatchObject({ maxUnavailable: 1 });
    expect(pdb['minAvailable']).toBeUndefined();

    const redis = findObject(objects, 'StatefulSet', 'redis');
    const args = podSpecOf(redis)?.containers[0]?.args ?? [];
    expect(args.slice(args.indexOf('--appendonly'), args.indexOf('--appendonly') + 2)).toEqual([
      '--appendonly',
      'yes',
    ]);
    // A limit below the container's: noeviction refuses writes at it instead of being OOM-killed.
    expect(args.slice(args.indexOf('--maxmemory'), args.indexOf('--maxmemory') + 2)).toEqual([
      '--maxmemory',
      '150mb',
    ]);
    // A password, from the Secret authgate presents it from, in a file rather than on the
    // command line; the probes authenticate with it.
    const container = podSpecOf(redis)?.containers[0];
    expect(args.join('\n')).toContain('"$(cat /etc/redis-auth/password)"');
    expect(args.join('\n')).toContain(`printf 'requirepass "%s"\\n'`);
    expect(args.join('\n')).not.toContain('--requirepass');
    expect(JSON.stringify(container?.readinessProbe)).toContain('REDISCLI_AUTH');
    const secretOf = (o: Parameters<typeof podSpecOf>[0], volume: string) =>
      podSpecOf(o)?.volumes?.find((v) => v.name === volume)?.secret?.secretName;
    const authgate = findObject(objects, 'Deployment', 'authgate');
    expect(secretOf(redis, 'auth')).toMatch(/^authgate-redis-/);
    expect(secretOf(authgate, 'redis')).toBe(secretOf(redis, 'auth'));
    const generated = findObject(objects, 'Secret', secretOf(redis, 'auth') ?? '');
    expect(Object.keys(generated['data'] as object)).toEqual(['password']);
    expect(specOf(redis)['volumeClaimTemplates']).toMatchObject([
      { metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'] } },
    ]);
    expect(podSpecOf(redis)?.containers[0]?.volumeMounts).toContainEqual({
      name: 'data',
      mountPath: '/data',
    });
    expect(specOf(findObject(objects, 'Service', 'redis'))).toMatchObject({ clusterIP: 'None' });
  });

  it('run Redis as the alpine image’s redis user and group, which can read its password file', () => {
    const redis = findObject(objectsOf('deploy/overlays/dev'), 'StatefulSet', 'redis');
    const pod = podSpecOf(redis);
    const container = pod?.containers[0];
    expect(container?.image).toMatch(/^redis:7[.\d]*-alpine$/);
    // docker-library/redis, alpine variant: `addgroup -S -g 1000 redis; adduser -S -G redis -u
    // 999 redis` (Alpine has a gid 999 of its own, ping). The Debian variant uses 999:999.
    expect(pod?.securityContext).toMatchObject({ runAsUser: 999, runAsGroup: 1000, fsGroup: 1000 });
    expect(container?.securityContext).toMatchObject({ runAsUser: 999, runAsGroup: 1000 });
    // The Secret's files are the fsGroup's, readable by the group only: the process's own group.
    expect(pod?.volumes?.find((v) => v.name === 'auth')?.secret?.defaultMode).toBe(0o440);
  });

  it('start Redis only with a password: the start script run with each kind of Secret value', () => {
    const redis = findObject(objectsOf('deploy/overlays/dev'), 'StatefulSet', 'redis');
    const container = podSpecOf(redis)?.containers[0];
    expect(container?.command).toEqual(['sh', '-c']);
    const [script = '', ...args] = container?.args ?? [];
    const dir = mkdtempSync(join(tmpdir(), 'authgate-redis-start-'));
    // The script as written, with its two paths moved under dir, and a redis-server that shows
    // what it was started with.
    const moved = script
      .replaceAll('/etc/redis-auth/password', join(dir, 'password'))
      .replaceAll('/tmp/redis.conf', join(dir, 'redis.conf'));
    writeFileSync(join(dir, 'redis-server'), '#!/bin/sh\necho "args: $*"\ncat "$1"\n', { mode: 0o755 });
    const run = (password: string | undefined) => {
      rmSync(join(dir, 'password'), { force: true });
      rmSync(join(dir, 'redis.conf'), { force: true });
      if (password !== undefined) writeFileSync(join(dir, 'password'), password);
      return spawnSync('sh', ['-c', moved, ...args], {
        encoding: 'utf8',
        env: { PATH: `${dir}:${process.env['PATH'] ?? ''}` },
      });
    };
    const ok = run('dev-only-redis-password-0123456789');
    expect(ok.status).toBe(0);
    expect(ok.stdout).toContain(`args: ${join(dir, 'redis.conf')} --appendonly yes`);
    expect(ok.stdout).toContain('requirepass "dev-only-redis-password-0123456789"');
    expect(statSync(join(dir, 'redis.conf')).mode & 0o777).toBe(0o600);
    // Never started without one (printf alone would write requirepass "" and succeed).
    for (const bad of [undefined, '', 'with"quote', 'back\\slash']) {
      const res = run(bad);
      expect(res.status, String(bad)).not.toBe(0);
      expect(res.stdout, String(bad)).not.toContain('args:');
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('generate the dev Secret from placeholder files, and never in production', () => {
    const dev = findObject(objectsOf('deploy/overlays/dev'), 'Secret', 'authgate-secrets');
    expect(Object.keys(dev['data'] as object).sort()).toEqual([
      'admin-token',
      'encryption-key',
      'server-key',
    ]);
    const serverKey = Buffer.from((dev['data'] as Record<string, string>)['server-key'] ?? '', 'base64');
    expect(serverKey.toString('utf8')).toMatch(/^dev-only-/);
    expect(serverKey.toString('utf8').trim().length).toBeGreaterThanOrEqual(32);
    expect(objectsOf('deploy/overlays/production').filter((o) => o.kind === 'Secret')).toEqual([]);
  });

  it('run three replicas in production on an external Redis, keeping two through disruptions', () => {
    const objects = objectsOf('deploy/overlays/production');
    expect(specOf(findObject(objects, 'Deployment', 'authgate'))['replicas']).toBeUndefined();
    expect(specOf(findObject(objects, 'HorizontalPodAutoscaler', 'authgate'))).toMatchObject({
      minReplicas: 3,
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'authgate' },
    });
    const pdb = specOf(findObject(objects, 'PodDisruptionBudget', 'authgate'));
    expect(pdb).toMatchObject({ minAvailable: 2 });
    expect(pdb['maxUnavailable']).toBeUndefined();
    expect(objects.filter((o) => o.metadata.name === 'redis')).toEqual([]);

    const pod = podSpecOf(findObject(objects, 'Deployment', 'authgate'));
    expect(pod?.volumes).toContainEqual(
      expect.objectContaining({
        name: 'redis',
        secret: expect.objectContaining({ secretName: 'authgate-redis' }),
      }),
    );
    expect(pod?.volumes).toContainEqual(
      expect.objectContaining({
        name: 'secrets',
        secret: expect.objectContaining({ secretName: 'authgate-secrets' }),
      }),
    );
    expect(pod?.containers[0]?.image).toMatch(/^registry\.example\.com\/.+\/authgate:\d+\.\d+\.\d+$/);
  });

  it('let authgate reach DNS, the API server and its Redis, and admit clients on 8200 only', () => {
    for (const [k, redisPort] of [
      ['deploy/overlays/dev', 6379],
      ['deploy/overlays/production', 6380],
    ] as const) {
      const policy = specOf(findObject(objectsOf(k), 'NetworkPolicy', 'authgate'));
      expect(policy['policyTypes'], k).toEqual(['Ingress', 'Egress']);
      const ports = (rules: unknown): number[] =>
        (rules as Array<{ ports: Array<{ port: number }> }>).flatMap((r) => r.ports.map((p) => p.port));
      expect(ports(policy['ingress']), k).toEqual([8200]);
      expect(ports(policy['egress']), k).toEqual([53, 53, 443, 6443, redisPort]);
    }
  });
});

/** A Kubernetes quantity (`100m`, `1`, `512Mi`, `200M`) as a number of cores or bytes. */
const quantity = (q: string | number | undefined): number => {
  const m = /^(\d+(?:\.\d+)?)(m|Ki|Mi|Gi|k|M|G)?$/.exec(String(q ?? ''));
  if (m === null) throw new Error(`not a quantity: ${String(q)}`);
  const unit = { m: 1e-3, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, k: 1e3, M: 1e6, G: 1e9 }[m[2] ?? ''] ?? 1;
  return Number(m[1]) * unit;
};

describe('selectors', () => {
  type Labels = Record<string, string>;
  const selects = (selector: Labels | undefined, labels: Labels | undefined): boolean =>
    selector !== undefined &&
    Object.keys(selector).length > 0 &&
    Object.entries(selector).every(([k, v]) => labels?.[k] === v);

  // A PodDisruptionBudget, Service, NetworkPolicy or spread constraint whose selector misses the
  // pods is accepted by the API server and silently does nothing.
  it.each(['deploy/overlays/dev', 'deploy/overlays/production'] as const)(
    '%s: every object that names authgate’s pods selects the Deployment’s pod labels',
    (k) => {
      const objects = objectsOf(k);
      const deployment = findObject(objects, 'Deployment', 'authgate');
      const template = (deployment['spec'] as { template: { metadata: { labels: Labels } } }).template;
      const pods = template.metadata.labels;
      const spec = (kind: string, name: string) => specOf(findObject(objects, kind, name));
      expect(
        selects((deployment['spec'] as { selector: { matchLabels: Labels } }).selector.matchLabels, pods),
      ).toBe(true);
      expect(
        selects(
          (spec('PodDisruptionBudget', 'authgate')['selector'] as { matchLabels: Labels }).matchLabels,
          pods,
        ),
      ).toBe(true);
      expect(selects(spec('Service', 'authgate')['selector'] as Labels, pods)).toBe(true);
      expect(
        selects(
          (spec('NetworkPolicy', 'authgate')['podSelector'] as { matchLabels: Labels }).matchLabels,
          pods,
        ),
      ).toBe(true);
      for (const t of podSpecOf(deployment)?.topologySpreadConstraints ?? [])
        expect(selects(t.labelSelector?.matchLabels, pods), t.topologyKey).toBe(true);
      if (k === 'deploy/overlays/dev') {
        // The in-cluster Redis admits authgate's pods, and the Service reaches Redis's.
        const redisPods = (
          findObject(objects, 'StatefulSet', 'redis')['spec'] as {
            template: { metadata: { labels: Labels } };
          }
        ).template.metadata.labels;
        const ingress = spec('NetworkPolicy', 'redis')['ingress'] as Array<{
          from: Array<{ podSelector?: { matchLabels: Labels } }>;
        }>;
        expect(ingress.flatMap((r) => r.from).some((f) => selects(f.podSelector?.matchLabels, pods))).toBe(
          true,
        );
        expect(selects(spec('Service', 'redis')['selector'] as Labels, redisPods)).toBe(true);
        const egress = spec('NetworkPolicy', 'authgate')['egress'] as Array<{
          to: Array<{ podSelector?: { matchLabels: Labels } }>;
        }>;
        expect(egress.flatMap((r) => r.to).some((t) => selects(t.podSelector?.matchLabels, redisPods))).toBe(
          true,
        );
      }
    },
  );
});

describe('sizing', () => {
  const authgate = (k: Kustomization) => {
    const c = podSpecOf(findObject(objectsOf(k), 'Deployment', 'authgate'))?.containers.find(
      (x) => x.name === 'authgate',
    );
    if (c === undefined) throw new Error(`${k}: no authgate container`);
    return c;
  };
  const overlays = ['deploy/overlays/dev', 'deploy/overlays/production'] as const;

  // The autoscaler's `Utilization` is a share of the *request*, not of the limit: 70 % of a
  // 100m request scaled out at 0.07 of a core. docs/operations.md means 70 % of the one core a
  // replica can use (its event loop is one thread).
  it('scales out when the replicas average 70 % of the one core each may use', () => {
    for (const k of overlays) {
      const resources = authgate(k).resources ?? {};
      const limit = quantity(resources.limits?.['cpu']);
      expect(limit, k).toBe(1);
      type Target = { type: string; averageUtilization?: number; averageValue?: string };
      const hpa = specOf(findObject(objectsOf(k), 'HorizontalPodAutoscaler', 'authgate')) as {
        metrics: Array<{ type: string; resource: { name: string; target: Target } }>;
      };
      expect(
        hpa.metrics.map((m) => `${m.type}/${m.resource.name}`),
        k,
      ).toEqual(['Resource/cpu']);
      const target = hpa.metrics[0]?.resource.target as Target;
      const coresAtScaleOut =
        target.type === 'Utilization'
          ? ((target.averageUtilization ?? 0) / 100) * quantity(resources.requests?.['cpu'])
          : quantity(target.averageValue);
      expect(coresAtScaleOut, k).toBeCloseTo(0.7 * limit, 5);
      // A request far below what a replica burns before scale-out lets the scheduler put more
      // replicas on a node than its cores serve at that load (it was 100m against 700m).
      expect(quantity(resources.requests?.['cpu']), k).toBeGreaterThanOrEqual(0.5 * coresAtScaleOut);
    }
  });

  it('requests at least the memory a server holds once started (docs/benchmarks.md) and limits it above', () => {
    const benchmarks = readFileSync(join(import.meta.dirname, '..', 'docs', 'benchmarks.md'), 'utf8');
    // The measured row of "Memory of one process after 100 000 distinct logins".
    const row = /^\| 100 000 \|.*\| (\d+) MiB \| (\d+) MiB \|$/m.exec(benchmarks);
    expect(row, 'the RSS row of docs/benchmarks.md').not.toBeNull();
    const atStart = Number(row?.[1]) * 2 ** 20;
    for (const k of overlays) {
      const resources = authgate(k).resources ?? {};
      expect(quantity(resources.requests?.['memory']), k).toBeGreaterThanOrEqual(atStart);
      expect(quantity(resources.limits?.['memory']), k).toBeGreaterThanOrEqual(2 * atStart);
    }
  });
});

describe('the example workload', () => {
  it('projects a vault-audience token for two hours and logs in with it at authgate’s Service', () => {
    const deployment = findObject(objectsOf('deploy/examples/workload'), 'Deployment', 'demo-app');
    const pod = podSpecOf(deployment);
    expect(pod?.serviceAccountName).toBe('demo-app');
    const volume = pod?.volumes?.find((v) => v.name === 'vault-token');
    expect(volume?.projected?.sources).toEqual([
      { serviceAccountToken: { path: 'vault-token', audience: 'vault', expirationSeconds: 7200 } },
    ]);
    const container = pod?.containers[0];
    const mount = container?.volumeMounts?.find((m) => m.name === 'vault-token');
    expect(mount).toMatchObject({ mountPath: '/var/run/secrets/authgate', readOnly: true });
    expect(mount?.subPath).toBeUndefined();
    const env = Object.fromEntries((container?.env ?? []).map((e) => [e.name, e.value]));
    expect(env).toMatchObject({
      AUTHGATE_ADDR: 'http://authgate.authgate.svc:8200',
      TOKEN_FILE: '/var/run/secrets/authgate/vault-token',
    });
    const script = container?.args?.join('\n') ?? '';
    // The file is read inside the loop, before each login, not once at start.
    expect(script).toMatch(/while true; do\s+jwt="\$\(cat "\$TOKEN_FILE"\)"/);
    // sh as PID 1 ignores SIGTERM unless trapped, and a trap waits for a foreground sleep.
    expect(script).toMatch(/^trap 'exit 0' TERM$/m);
    expect(script).toMatch(/sleep \d+ &\s+wait \$!/);
    expect(script).toContain('/v1/auth/kubernetes/login');
  });

  it('prints the lease duration of the token a login issued, not the answer’s top-level 0', () => {
    const deployment = findObject(objectsOf('deploy/examples/workload'), 'Deployment', 'demo-app');
    const script = podSpecOf(deployment)?.containers[0]?.args?.join('\n') ?? '';
    const echo =
      script
        .split('\n')
        .find((line) => line.includes('login ok:'))
        ?.trim() ?? '';
    expect(echo).toContain('/tmp/login.json');
    // A login answer as Vault (and authgate) writes it: the top-level lease_duration, 0, comes
    // before the token's own in `auth`.
    const dir = mkdtempSync(join(tmpdir(), 'authgate-workload-'));
    writeFileSync(
      join(dir, 'login.json'),
      JSON.stringify({
        request_id: 'r',
        lease_id: '',
        renewable: false,
        lease_duration: 0,
        data: null,
        auth: { client_token: 'ags.x', accessor: 'a', policies: ['default'], lease_duration: 3600 },
      }),
    );
    const out = execFileSync('sh', ['-c', echo.replaceAll('/tmp/login.json', join(dir, 'login.json'))], {
      encoding: 'utf8',
    });
    expect(out).toBe('login ok: "lease_duration":3600\n');
  });

  it('lives in a namespace that authgate’s NetworkPolicy admits', () => {
    const ns = findObject(objectsOf('deploy/examples/workload'), 'Namespace', 'demo');
    expect(ns.metadata.labels?.['authgate/client']).toBe('true');
  });
});

describe('the example workload with the agent sidecar', () => {
  const pod = () =>
    podSpecOf(findObject(objectsOf('deploy/examples/workload-agent'), 'Deployment', 'demo-agent-app'));
  const agent = () => pod()?.initContainers?.find((c) => c.name === 'authgate-agent');
  const flag = (name: string): string | undefined => {
    const args = agent()?.args ?? [];
    const at = args.indexOf(name);
    return at < 0 ? undefined : args[at + 1];
  };

  it('runs authgate agent from authgate’s own image as a native sidecar that revokes its token on exit', () => {
    // The image the dev overlay runs, which docs/kubernetes.md's development cluster builds.
    const dev = findObject(objectsOf('deploy/overlays/dev'), 'Deployment', 'authgate');
    expect(agent()?.image).toBe(podSpecOf(dev)?.containers[0]?.image);
    expect(agent()?.restartPolicy).toBe('Always');
    expect(agent()?.args?.[0]).toBe('agent');
    expect(agent()?.args).toContain('--revoke-on-exit');
    expect(flag('--role')).toBe('demo');
    // Every flag is one `authgate agent` takes.
    const flags = (agent()?.args ?? []).filter((a) => a.startsWith('--'));
    for (const f of flags) expect(usageText(AGENT_USAGE)).toMatch(new RegExp(`\\s${f}(?![\\w-])`));
  });

  it('reads the projected vault token and writes the client token to a memory volume that only the app reads', () => {
    const spec = pod();
    const mountOf = (
      c: { volumeMounts?: Array<{ name: string; mountPath: string; readOnly?: boolean }> } | undefined,
      v: string,
    ) => c?.volumeMounts?.find((m) => m.name === v);
    expect(flag('--jwt-file')).toBe(`${mountOf(agent(), 'vault-token')?.mountPath}/vault-token`);
    const sinkDir = mountOf(agent(), 'authgate-sink')?.mountPath;
    expect(flag('--sink')).toBe(`${sinkDir}/token`);
    expect(spec?.volumes?.find((v) => v.name === 'authgate-sink')?.emptyDir?.medium).toBe('Memory');
    const app = spec?.containers.find((c) => c.name === 'app');
    expect(mountOf(app, 'authgate-sink')).toMatchObject({ mountPath: sinkDir, readOnly: true });
    expect(mountOf(app, 'vault-token')).toBeUndefined();
    expect(app?.args?.join('\n')).toContain(`$(cat ${flag('--sink')})`);
    // The app starts once the token is there.
    expect(agent()?.startupProbe?.exec?.command?.join(' ')).toContain(flag('--sink') as string);
  });
});
