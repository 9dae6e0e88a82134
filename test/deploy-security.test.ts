import { beforeAll, describe, expect, it } from 'vitest';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IPodSpec } from 'kubernetes-models/v1/PodSpec';
import {
  KUSTOMIZATIONS,
  describeObject,
  findObject,
  renderKustomization,
  type K8sObject,
  type Kustomization,
} from './helpers/kustomize.js';
import { containersOf, podSecurityProblems, podSpecOf } from './helpers/pod-security.js';

/*
 * Every pod the manifests run — authgate, the dev Redis, the example workload — is hardened
 * the same way (helpers/pod-security.ts), and authgate's own pod has the probes, mounts and
 * shutdown timing its operations rely on.
 */

const rendered = new Map<Kustomization, K8sObject[]>();
beforeAll(() => {
  for (const k of KUSTOMIZATIONS) rendered.set(k, renderKustomization(k));
});
const objectsOf = (k: Kustomization): K8sObject[] => rendered.get(k) ?? [];
const workloadsOf = (k: Kustomization): K8sObject[] => objectsOf(k).filter((o) => podSpecOf(o) !== undefined);

describe.each(KUSTOMIZATIONS)('%s', (k) => {
  it('runs pods', () => {
    expect(workloadsOf(k).length).toBeGreaterThan(0);
  });

  it('hardens every pod and container: non-root, read-only root, no escalation, no capabilities, seccomp, resources, pinned image', () => {
    const problems = workloadsOf(k).flatMap((o) =>
      podSecurityProblems(podSpecOf(o) as IPodSpec).map((p) => `${describeObject(o)}: ${p}`),
    );
    expect(problems).toEqual([]);
  });

  it('gives every container with a read-only root a writable /tmp from an emptyDir', () => {
    for (const o of workloadsOf(k)) {
      const pod = podSpecOf(o) as IPodSpec;
      for (const c of containersOf(pod)) {
        const tmp = c.volumeMounts?.find((m) => m.mountPath === '/tmp');
        expect(tmp, `${describeObject(o)} ${c.name}`).toBeDefined();
        expect(pod.volumes?.find((v) => v.name === tmp?.name)?.emptyDir, describeObject(o)).toBeDefined();
      }
    }
  });

  it('labels its namespace for the restricted Pod Security Standard', () => {
    const ns = objectsOf(k).find((o) => o.kind === 'Namespace');
    expect(ns?.metadata.labels?.['pod-security.kubernetes.io/enforce']).toBe('restricted');
  });
});

describe('the pod security rules', () => {
  const pod = (): IPodSpec =>
    structuredClone(
      podSpecOf(findObject(objectsOf('deploy/overlays/dev'), 'Deployment', 'authgate')) as IPodSpec,
    );
  const container = (p: IPodSpec): IContainer => p.containers[0] as IContainer;

  it('accept authgate’s pod as rendered', () => {
    expect(podSecurityProblems(pod())).toEqual([]);
  });

  it.each<[string, (p: IPodSpec) => void, RegExp]>([
    [
      'root',
      (p) => (container(p).securityContext = { ...container(p).securityContext, runAsUser: 0 }),
      /runAsUser 0/,
    ],
    [
      'runAsNonRoot unset',
      (p) => {
        delete p.securityContext?.runAsNonRoot;
        delete container(p).securityContext?.runAsNonRoot;
      },
      /runAsNonRoot is not true/,
    ],
    [
      'a writable root',
      (p) => delete container(p).securityContext?.readOnlyRootFilesystem,
      /readOnlyRootFilesystem/,
    ],
    [
      'privilege escalation',
      (p) =>
        (container(p).securityContext = { ...container(p).securityContext, allowPrivilegeEscalation: true }),
      /allowPrivilegeEscalation/,
    ],
    [
      'kept capabilities',
      (p) =>
        (container(p).securityContext = {
          ...container(p).securityContext,
          capabilities: { drop: ['NET_RAW'] },
        }),
      /do not drop ALL/,
    ],
    [
      'an added capability',
      (p) =>
        (container(p).securityContext = {
          ...container(p).securityContext,
          capabilities: { drop: ['ALL'], add: ['NET_BIND_SERVICE'] },
        }),
      /capabilities added/,
    ],
    [
      'no seccomp profile',
      (p) => {
        delete p.securityContext?.seccompProfile;
        delete container(p).securityContext?.seccompProfile;
      },
      /seccompProfile/,
    ],
    ['no memory limit', (p) => delete container(p).resources?.limits?.['memory'], /no limits\.memory/],
    ['a latest image', (p) => (container(p).image = 'authgate:latest'), /has no tag, or latest/],
    ['an untagged image', (p) => (container(p).image = 'registry.example.com:5000/authgate'), /has no tag/],
    ['the default API token', (p) => delete p.automountServiceAccountToken, /automountServiceAccountToken/],
    ['a hostPath volume', (p) => p.volumes?.push({ name: 'host', hostPath: { path: '/' } }), /hostPath/],
    ['the host network', (p) => (p.hostNetwork = true), /hostNetwork/],
  ])('refuse %s', (_name, breakIt, problem) => {
    const p = pod();
    breakIt(p);
    expect(podSecurityProblems(p).join('\n')).toMatch(problem);
  });
});

describe('authgate’s pod', () => {
  const deployments = (): K8sObject[] =>
    (['deploy/overlays/dev', 'deploy/overlays/production'] as const).map((k) =>
      findObject(objectsOf(k), 'Deployment', 'authgate'),
    );
  const authgate = (o: K8sObject): IContainer => {
    const c = podSpecOf(o)?.containers.find((x) => x.name === 'authgate');
    if (c === undefined) throw new Error(`${describeObject(o)} has no container authgate`);
    return c;
  };

  it('serves on 8200 and probes liveness, readiness and startup on the health endpoints', () => {
    for (const o of deployments()) {
      const c = authgate(o);
      expect(c.ports).toEqual([{ name: 'http', containerPort: 8200, protocol: 'TCP' }]);
      expect(c.startupProbe?.httpGet).toEqual({ path: '/v1/sys/health/live', port: 'http' });
      expect(c.livenessProbe?.httpGet).toEqual({ path: '/v1/sys/health/live', port: 'http' });
      // Out of the Service only when the store is down: an upstream outage is every replica's.
      expect(c.readinessProbe?.httpGet).toEqual({ path: '/v1/sys/health', port: 'http' });
      // A Redis outage fails readiness only: liveness must not restart every replica for it.
      expect(c.livenessProbe?.httpGet?.path).not.toBe(c.readinessProbe?.httpGet?.path);
    }
  });

  it('runs `server --config` on the mounted config file', () => {
    for (const o of deployments()) {
      const c = authgate(o);
      expect(c.args).toEqual(['server', '--config', '/etc/authgate/authgate.yaml']);
      const mount = c.volumeMounts?.find((m) => m.mountPath === '/etc/authgate/authgate.yaml');
      expect(mount).toMatchObject({ subPath: 'authgate.yaml', readOnly: true });
      const volume = podSpecOf(o)?.volumes?.find((v) => v.name === mount?.name);
      expect(volume?.configMap?.name).toMatch(/^authgate-config-[a-z0-9]{10}$/);
    }
  });

  it('mounts a short-lived reviewer token, the cluster CA and no default token', () => {
    for (const o of deployments()) {
      const pod = podSpecOf(o) as IPodSpec;
      expect(pod.serviceAccountName).toBe('authgate');
      expect(pod.automountServiceAccountToken).toBe(false);
      const mount = authgate(o).volumeMounts?.find(
        (m) => m.mountPath === '/var/run/secrets/kubernetes.io/serviceaccount',
      );
      expect(mount).toMatchObject({ readOnly: true });
      expect(mount?.subPath, 'a subPath mount never sees the rotated token').toBeUndefined();
      const sources = pod.volumes?.find((v) => v.name === mount?.name)?.projected?.sources ?? [];
      const token = sources.find((s) => s.serviceAccountToken !== undefined)?.serviceAccountToken;
      expect(token).toEqual({ path: 'token', expirationSeconds: 3600 });
      expect(sources.find((s) => s.configMap !== undefined)?.configMap).toEqual({
        name: 'kube-root-ca.crt',
        items: [{ key: 'ca.crt', path: 'ca.crt' }],
      });
    }
  });

  it('gives in-flight requests time to finish: preStop delay below the grace period, no surge below the replica count', () => {
    for (const o of deployments()) {
      const pod = podSpecOf(o) as IPodSpec;
      const preStop = authgate(o).lifecycle?.preStop?.exec?.command ?? [];
      expect(preStop[0]).toBe('sleep');
      const delaySeconds = Number(preStop[1]);
      expect(pod.terminationGracePeriodSeconds ?? 30).toBeGreaterThanOrEqual(delaySeconds + 20);
      expect((o['spec'] as { strategy: unknown }).strategy).toEqual({
        type: 'RollingUpdate',
        rollingUpdate: { maxUnavailable: 0, maxSurge: 1 },
      });
    }
  });

  it('spreads replicas across zones and nodes', () => {
    for (const o of deployments()) {
      const constraints = podSpecOf(o)?.topologySpreadConstraints ?? [];
      expect(constraints.map((t) => t.topologyKey)).toEqual([
        'topology.kubernetes.io/zone',
        'kubernetes.io/hostname',
      ]);
      // Tainted and cordoned nodes, which take no replica, must not count as places to spread
      // to: at 0 pods each they would hold every usable node to one replica.
      expect(constraints.map((t) => (t as { nodeTaintsPolicy?: string }).nodeTaintsPolicy)).toEqual([
        'Honor',
        'Honor',
      ]);
    }
  });
});
