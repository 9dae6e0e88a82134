/**
 * The JSON the API server serves for the simulator's objects (member order follows the Go structs;
 * empty members are omitted as `omitempty` does).
 */
import { rfc3339 } from './go-format.js';
import type {
  NamespaceObject,
  NodeObject,
  ObjectMeta,
  PodObject,
  ServiceAccountObject,
  WatchedObject,
} from './objects.js';

/** A JSON object as served. */
export type JsonObject = Record<string, unknown>;

const isEmpty = (record: Record<string, string>): boolean => Object.keys(record).length === 0;

const metaJson = (meta: ObjectMeta, extra: JsonObject = {}): JsonObject => ({
  name: meta.name,
  ...(meta.namespace === undefined ? {} : { namespace: meta.namespace }),
  uid: meta.uid,
  resourceVersion: String(meta.resourceVersion),
  creationTimestamp: rfc3339(meta.creationMs),
  ...(meta.deletionMs === undefined ? {} : { deletionTimestamp: rfc3339(meta.deletionMs) }),
  ...extra,
  ...(isEmpty(meta.labels) ? {} : { labels: { ...meta.labels } }),
  ...(isEmpty(meta.annotations) ? {} : { annotations: { ...meta.annotations } }),
});

/** Whether list items carry `kind`/`apiVersion` (single objects and watch events do; list items do not). */
type WithType = { typeMeta: boolean };

const typeMeta = (kind: string, o: WithType): JsonObject => (o.typeMeta ? { kind, apiVersion: 'v1' } : {});

/** A Namespace (§8.1). */
export const namespaceJson = (ns: NamespaceObject, o: WithType = { typeMeta: true }): JsonObject => ({
  ...typeMeta('Namespace', o),
  metadata: metaJson(ns.meta),
  spec: { finalizers: ['kubernetes'] },
  status: { phase: ns.meta.deletionMs === undefined ? 'Active' : 'Terminating' },
});

/** A Pod (§8.2), with the fields a verifier reads: uid, deletionTimestamp, serviceAccountName, nodeName. */
export const podJson = (pod: PodObject, o: WithType = { typeMeta: true }): JsonObject => ({
  ...typeMeta('Pod', o),
  metadata: metaJson(pod.meta, pod.meta.deletionMs === undefined ? {} : { deletionGracePeriodSeconds: 0 }),
  spec: {
    containers: [{ name: 'app', image: 'registry.k8s.io/pause:3.10' }],
    restartPolicy: 'Always',
    terminationGracePeriodSeconds: 30,
    dnsPolicy: 'ClusterFirst',
    serviceAccountName: pod.serviceAccountName,
    serviceAccount: pod.serviceAccountName,
    ...(pod.nodeName ? { nodeName: pod.nodeName } : {}),
  },
  status: {
    phase: 'Running',
    podIP: pod.podIP,
    podIPs: [{ ip: pod.podIP }],
    startTime: rfc3339(pod.meta.creationMs),
  },
});

/** A ServiceAccount. */
export const serviceAccountJson = (sa: ServiceAccountObject): JsonObject => ({
  kind: 'ServiceAccount',
  apiVersion: 'v1',
  metadata: metaJson(sa.meta),
});

/** A Node (metadata only: the simulator has no kubelets). */
export const nodeJson = (node: NodeObject): JsonObject => ({
  kind: 'Node',
  apiVersion: 'v1',
  metadata: metaJson(node.meta),
  spec: {},
  status: {},
});

/** A watched object as a watch event carries it (with kind and apiVersion). */
export const watchedJson = (object: WatchedObject): JsonObject =>
  object.kind === 'Pod' ? podJson(object) : namespaceJson(object);

/** `<Kind>List` with the list's resourceVersion. */
export const listJson = (kind: string, resourceVersion: number, items: JsonObject[]): JsonObject => ({
  kind: `${kind}List`,
  apiVersion: 'v1',
  metadata: { resourceVersion: String(resourceVersion) },
  items,
});
