import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

/** The repository's root directory (absolute). */
export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/**
 * The kubectl that renders the kustomizations: `$KUBECTL`, else `kubectl` on the PATH (CI
 * installs Debian's `kubernetes-client` when none is there; see `.ci/run`).
 */
export const KUBECTL = process.env['KUBECTL'] ?? 'kubectl';

/** The kustomizations that `kubectl apply -k` is documented for (docs/kubernetes.md). */
export const KUSTOMIZATIONS = [
  'deploy/overlays/dev',
  'deploy/overlays/production',
  'deploy/examples/workload',
  'deploy/examples/workload-agent',
] as const;
export type Kustomization = (typeof KUSTOMIZATIONS)[number];

/** One rendered Kubernetes object, loosely typed: tests narrow what they read. */
export type K8sObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
};

/**
 * Renders a kustomization directory (relative to the repository) with `kubectl kustomize` and
 * returns its objects in output order. Throws with kubectl's stderr when rendering fails, and
 * with an install hint when kubectl is missing (the deploy tests never skip).
 */
export const renderKustomization = (dir: string): K8sObject[] => {
  let out: string;
  try {
    out = execFileSync(KUBECTL, ['kustomize', join(REPO_ROOT, dir)], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 30_000,
      maxBuffer: 16 * 1024 * 1024,
    });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') {
      throw new Error(`${KUBECTL} not found: install it (apt-get install kubernetes-client) or set KUBECTL`);
    }
    throw new Error(`${KUBECTL} kustomize ${dir} failed: ${e.stderr ?? e.message}`);
  }
  return parseAllDocuments(out)
    .map((doc) => {
      if (doc.errors.length > 0) throw new Error(`${dir}: ${doc.errors[0]?.message}`);
      return doc.toJS() as K8sObject | null;
    })
    .filter((o): o is K8sObject => o !== null);
};

/** `Kind/name` (with the namespace when it has one), for messages. */
export const describeObject = (o: K8sObject): string =>
  `${o.kind}/${o.metadata.namespace === undefined ? '' : `${o.metadata.namespace}/`}${o.metadata.name}`;

/**
 * The one object of `kind` named `name`, or `name` with the hash suffix kustomize gives generated
 * ConfigMaps and Secrets (`authgate-config-5t8m2h9k4c`). Throws unless exactly one matches.
 */
export const findObject = (objects: K8sObject[], kind: string, name: string): K8sObject => {
  const hashed = new RegExp(`^${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-[a-z0-9]{10}$`);
  const found = objects.filter(
    (o) => o.kind === kind && (o.metadata.name === name || hashed.test(o.metadata.name)),
  );
  if (found.length !== 1) throw new Error(`expected one ${kind} ${name}, found ${found.length}`);
  return found[0] as K8sObject;
};
