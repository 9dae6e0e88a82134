import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IPodSpec } from 'kubernetes-models/v1/PodSpec';
import type { K8sObject } from './kustomize.js';

/** Kinds whose objects run pods, and where their pod spec is. */
const POD_SPEC_PATHS: Record<string, readonly string[]> = {
  Pod: ['spec'],
  Deployment: ['spec', 'template', 'spec'],
  StatefulSet: ['spec', 'template', 'spec'],
  DaemonSet: ['spec', 'template', 'spec'],
  ReplicaSet: ['spec', 'template', 'spec'],
  Job: ['spec', 'template', 'spec'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template', 'spec'],
};

/** The pod spec of a workload object, or `undefined` for an object that runs no pods. */
export const podSpecOf = (object: K8sObject): IPodSpec | undefined => {
  const path = POD_SPEC_PATHS[object.kind];
  if (path === undefined) return undefined;
  let at: unknown = object;
  for (const key of path) at = (at as Record<string, unknown> | undefined)?.[key];
  if (at === undefined) throw new Error(`${object.kind}/${object.metadata.name} has no pod spec`);
  return at as IPodSpec;
};

/** Every container of a pod spec, init containers included. */
export const containersOf = (pod: IPodSpec): IContainer[] => [
  ...(pod.initContainers ?? []),
  ...pod.containers,
];

/** An image reference with an explicit tag other than `latest`, or a digest. */
const isPinnedImage = (image: string | undefined): boolean => {
  if (image === undefined) return false;
  if (image.includes('@sha256:')) return true;
  const lastSegment = image.slice(image.lastIndexOf('/') + 1);
  const colon = lastSegment.indexOf(':');
  return colon > 0 && lastSegment.slice(colon + 1) !== 'latest';
};

/**
 * The hardening rules every pod of the manifests meets (the "restricted" Pod Security Standard
 * plus resources, pinned images and no default API token), as a list of broken rules; empty
 * when all hold. Container settings may come from the container or, where Kubernetes allows
 * it, from the pod.
 */
export const podSecurityProblems = (pod: IPodSpec): string[] => {
  const problems: string[] = [];
  const podContext = pod.securityContext ?? {};
  if (pod.hostNetwork === true) problems.push('hostNetwork');
  if (pod.hostPID === true) problems.push('hostPID');
  if (pod.hostIPC === true) problems.push('hostIPC');
  for (const volume of pod.volumes ?? []) {
    if (volume.hostPath !== undefined) problems.push(`volume ${volume.name}: hostPath`);
  }
  if (pod.automountServiceAccountToken !== false) {
    problems.push('automountServiceAccountToken is not false (mount the tokens the pod needs explicitly)');
  }
  if (podContext.runAsUser === 0) problems.push('pod runAsUser 0');
  for (const c of containersOf(pod)) {
    const at = `container ${c.name}`;
    const ctx = c.securityContext ?? {};
    if ((ctx.runAsNonRoot ?? podContext.runAsNonRoot) !== true)
      problems.push(`${at}: runAsNonRoot is not true`);
    if ((ctx.runAsUser ?? podContext.runAsUser) === 0) problems.push(`${at}: runAsUser 0`);
    if (ctx.allowPrivilegeEscalation !== false) problems.push(`${at}: allowPrivilegeEscalation is not false`);
    if (ctx.privileged === true) problems.push(`${at}: privileged`);
    if (ctx.readOnlyRootFilesystem !== true) problems.push(`${at}: readOnlyRootFilesystem is not true`);
    if (!(ctx.capabilities?.drop ?? []).includes('ALL')) problems.push(`${at}: capabilities do not drop ALL`);
    if ((ctx.capabilities?.add ?? []).length > 0) problems.push(`${at}: capabilities added`);
    if ((ctx.seccompProfile ?? podContext.seccompProfile)?.type !== 'RuntimeDefault') {
      problems.push(`${at}: seccompProfile is not RuntimeDefault`);
    }
    for (const kind of ['requests', 'limits'] as const) {
      for (const resource of ['cpu', 'memory']) {
        if (c.resources?.[kind]?.[resource] === undefined) problems.push(`${at}: no ${kind}.${resource}`);
      }
    }
    if (!isPinnedImage(c.image)) problems.push(`${at}: image ${c.image ?? '(none)'} has no tag, or latest`);
  }
  return problems;
};
