import { randomUUID } from 'node:crypto';
import { alreadyExists, notFound } from './api-status.js';

/** The metadata the simulator keeps for every object (times in ms since the epoch). */
export type ObjectMeta = {
  name: string;
  namespace?: string;
  uid: string;
  resourceVersion: number;
  creationMs: number;
  /** Set while the object is terminating (`metadata.deletionTimestamp`). */
  deletionMs?: number;
  labels: Record<string, string>;
  annotations: Record<string, string>;
};

/** A Namespace (its labels include `kubernetes.io/metadata.name`). */
export type NamespaceObject = { kind: 'Namespace'; meta: ObjectMeta };
/** A ServiceAccount. */
export type ServiceAccountObject = { kind: 'ServiceAccount'; meta: ObjectMeta };
/** A Node (metadata only). */
export type NodeObject = { kind: 'Node'; meta: ObjectMeta };
/** A Secret; `data` holds raw (not base64) values. */
export type SecretObject = { kind: 'Secret'; meta: ObjectMeta; type: string; data: Record<string, string> };
/** A Pod: the fields a token binding and a verifier use. */
export type PodObject = {
  kind: 'Pod';
  meta: ObjectMeta;
  serviceAccountName: string;
  nodeName?: string;
  podIP: string;
};

/** Objects that watch streams carry. */
export type WatchedObject = NamespaceObject | PodObject;
/** A change to a watched object, in resourceVersion order. */
export type ObjectEvent = { type: 'ADDED' | 'MODIFIED' | 'DELETED'; object: WatchedObject };

/** The legacy Secret type that the token controller fills with a token. */
export const SERVICE_ACCOUNT_TOKEN_SECRET = 'kubernetes.io/service-account-token';

/** Dependencies of the object store. */
export type ObjectStoreDeps = {
  /** The simulator's notion of now, in ms (clock plus skew). */
  nowMs: () => number;
  /** Called synchronously for every change to a namespace or pod. */
  onEvent: (event: ObjectEvent) => void;
};

/** The simulator's object store. */
export type ObjectStore = ReturnType<typeof createObjectStore>;

const key = (namespace: string, name: string): string => `${namespace}/${name}`;

/**
 * The simulator's object store: namespaces, service accounts, secrets, nodes and pods, with a
 * cluster-wide resourceVersion counter. Changes to namespaces and pods are reported in order through
 * `onEvent` (which feeds watches). Lookups return live objects; callers must not mutate them.
 */
export const createObjectStore = (deps: ObjectStoreDeps) => {
  let resourceVersion = 1;
  let podIpCounter = 0;
  const namespaces = new Map<string, NamespaceObject>();
  const serviceAccounts = new Map<string, ServiceAccountObject>();
  const secrets = new Map<string, SecretObject>();
  const nodes = new Map<string, NodeObject>();
  const pods = new Map<string, PodObject>();

  const newMeta = (name: string, namespace?: string, labels: Record<string, string> = {}): ObjectMeta => ({
    name,
    ...(namespace === undefined ? {} : { namespace }),
    uid: randomUUID(),
    resourceVersion: ++resourceVersion,
    creationMs: deps.nowMs(),
    labels: { ...labels },
    annotations: {},
  });
  const emit = (type: ObjectEvent['type'], object: WatchedObject): void => deps.onEvent({ type, object });
  const touch = (meta: ObjectMeta): void => {
    meta.resourceVersion = ++resourceVersion;
  };

  const createNamespace = (name: string, labels?: Record<string, string>): NamespaceObject => {
    const existing = namespaces.get(name);
    if (existing) {
      if (labels) {
        existing.meta.labels = { ...labels, 'kubernetes.io/metadata.name': name };
        touch(existing.meta);
        emit('MODIFIED', existing);
      }
      return existing;
    }
    // NamespaceDefaultLabelName (GA 1.22): every namespace carries its own name as a label.
    const ns: NamespaceObject = {
      kind: 'Namespace',
      meta: newMeta(name, undefined, { ...labels, 'kubernetes.io/metadata.name': name }),
    };
    namespaces.set(name, ns);
    emit('ADDED', ns);
    return ns;
  };

  const createServiceAccount = (namespace: string, name: string): ServiceAccountObject => {
    const existing = serviceAccounts.get(key(namespace, name));
    if (existing) return existing;
    createNamespace(namespace);
    const sa: ServiceAccountObject = { kind: 'ServiceAccount', meta: newMeta(name, namespace) };
    serviceAccounts.set(key(namespace, name), sa);
    return sa;
  };

  /** Mark a pod terminating (MODIFIED), as the API server does when a graceful delete starts. */
  const markPodTerminating = (pod: PodObject): void => {
    if (pod.meta.deletionMs !== undefined) return;
    pod.meta.deletionMs = deps.nowMs();
    touch(pod.meta);
    emit('MODIFIED', pod);
  };

  const deletePod = (namespace: string, name: string, options: { terminating?: boolean } = {}): PodObject => {
    const pod = pods.get(key(namespace, name));
    if (!pod) throw notFound('pods', name);
    markPodTerminating(pod);
    if (options.terminating) return pod;
    pods.delete(key(namespace, name));
    touch(pod.meta);
    emit('DELETED', pod);
    return pod;
  };

  const deleteServiceAccount = (namespace: string, name: string): void => {
    const sa = serviceAccounts.get(key(namespace, name));
    if (!sa) throw notFound('serviceaccounts', name);
    serviceAccounts.delete(key(namespace, name));
    // The token controller deletes the legacy token Secrets of a deleted service account.
    for (const [k, secret] of secrets) {
      if (
        secret.meta.namespace === namespace &&
        secret.type === SERVICE_ACCOUNT_TOKEN_SECRET &&
        secret.meta.annotations['kubernetes.io/service-account.name'] === name
      )
        secrets.delete(k);
    }
  };

  return {
    /** The current cluster-wide resourceVersion. */
    resourceVersion: (): number => resourceVersion,
    /** Create a namespace (labels replace the user labels of an existing one). Idempotent. */
    createNamespace,
    /** Delete a namespace and everything in it; its pods and then itself go through MODIFIED → DELETED. */
    deleteNamespace: (name: string): void => {
      const ns = namespaces.get(name);
      if (!ns) throw notFound('namespaces', name);
      ns.meta.deletionMs = deps.nowMs();
      touch(ns.meta);
      emit('MODIFIED', ns);
      for (const pod of [...pods.values()]) if (pod.meta.namespace === name) deletePod(name, pod.meta.name);
      for (const [k, sa] of serviceAccounts) if (sa.meta.namespace === name) serviceAccounts.delete(k);
      for (const [k, s] of secrets) if (s.meta.namespace === name) secrets.delete(k);
      namespaces.delete(name);
      touch(ns.meta);
      emit('DELETED', ns);
    },
    getNamespace: (name: string): NamespaceObject | undefined => namespaces.get(name),
    listNamespaces: (): NamespaceObject[] => [...namespaces.values()],

    createServiceAccount,
    deleteServiceAccount,
    getServiceAccount: (namespace: string, name: string): ServiceAccountObject | undefined =>
      serviceAccounts.get(key(namespace, name)),

    /** Create (or return) a Secret; `data` replaces the data of an existing one. */
    putSecret: (
      namespace: string,
      name: string,
      init: { type?: string; data?: Record<string, string>; annotations?: Record<string, string> } = {},
    ): SecretObject => {
      createNamespace(namespace);
      let secret = secrets.get(key(namespace, name));
      if (!secret) {
        secret = { kind: 'Secret', meta: newMeta(name, namespace), type: init.type ?? 'Opaque', data: {} };
        secrets.set(key(namespace, name), secret);
      } else touch(secret.meta);
      if (init.data) secret.data = { ...init.data };
      if (init.annotations) secret.meta.annotations = { ...secret.meta.annotations, ...init.annotations };
      return secret;
    },
    /** Set labels of a Secret, or remove them with `null`, as a merge patch. @throws KubeApiError 404. */
    labelSecret: (namespace: string, name: string, labels: Record<string, string | null>): void => {
      const secret = secrets.get(key(namespace, name));
      if (!secret) throw notFound('secrets', name);
      touch(secret.meta);
      for (const [label, value] of Object.entries(labels)) {
        if (value === null) delete secret.meta.labels[label];
        else secret.meta.labels[label] = value;
      }
    },
    deleteSecret: (namespace: string, name: string): void => {
      if (!secrets.delete(key(namespace, name))) throw notFound('secrets', name);
    },
    getSecret: (namespace: string, name: string): SecretObject | undefined =>
      secrets.get(key(namespace, name)),

    /** Create (or return) a Node. */
    createNode: (name: string): NodeObject => {
      const existing = nodes.get(name);
      if (existing) return existing;
      const node: NodeObject = {
        kind: 'Node',
        meta: newMeta(name, undefined, { 'kubernetes.io/hostname': name }),
      };
      nodes.set(name, node);
      return node;
    },
    deleteNode: (name: string): void => {
      if (!nodes.delete(name)) throw notFound('nodes', name);
    },
    getNode: (name: string): NodeObject | undefined => nodes.get(name),

    /**
     * Create a pod (and its namespace and service account when missing).
     *
     * @throws KubeApiError 409 when a pod with that name exists (even if terminating).
     */
    createPod: (p: {
      namespace: string;
      name: string;
      serviceAccount: string;
      nodeName?: string;
      labels?: Record<string, string>;
    }): PodObject => {
      if (pods.has(key(p.namespace, p.name))) throw alreadyExists('pods', p.name);
      createNamespace(p.namespace);
      createServiceAccount(p.namespace, p.serviceAccount);
      podIpCounter += 1;
      const pod: PodObject = {
        kind: 'Pod',
        meta: newMeta(p.name, p.namespace, p.labels),
        serviceAccountName: p.serviceAccount,
        ...(p.nodeName ? { nodeName: p.nodeName } : {}),
        podIP: `10.244.${Math.floor(podIpCounter / 250) % 250}.${(podIpCounter % 250) + 2}`,
      };
      pods.set(key(p.namespace, p.name), pod);
      emit('ADDED', pod);
      return pod;
    },
    /**
     * Delete a pod: MODIFIED (deletionTimestamp = now), then DELETED. With `terminating`, stop after
     * MODIFIED: the pod lingers as a kubelet still stopping it would, and a later call removes it.
     */
    deletePod,
    getPod: (namespace: string, name: string): PodObject | undefined => pods.get(key(namespace, name)),
    /** Pods, optionally of one namespace. */
    listPods: (namespace?: string): PodObject[] =>
      [...pods.values()].filter((p) => namespace === undefined || p.meta.namespace === namespace),
  };
};
