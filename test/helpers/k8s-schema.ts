import * as k8sClient from '@kubernetes/client-node';
import type { K8sObject } from './kustomize.js';

/*
 * Offline validation of rendered Kubernetes objects, in two parts:
 *
 * - the OpenAPI schema: `kubernetes-models` (npm, MIT; 4.5 is generated from Kubernetes 1.33)
 *   ships, for every built-in kind, the validator that ajv compiles from the API server's
 *   OpenAPI v2 spec (`required`, types, enums, `int-or-string`, `quantity` and the other
 *   formats). It also keeps the definitions of older API versions, and it is loose about
 *   unknown fields, as the OpenAPI spec is;
 * - served versions and unknown fields: the API server drops a field it does not know
 *   (`kubectl apply` only warns), so a typo such as `readOnlyRootFilesytem` would silently
 *   disable a setting. Every field is looked up in the model classes that
 *   `@kubernetes/client-node` generates from the current API (which has no removed version
 *   such as RBAC v1beta1), as `kubectl apply --validate=strict` does.
 */

type Model = { validate(): void };
type ModelModule = Record<string, (new (data: unknown) => Model) | undefined>;

/** `kubernetes-models/<group>/<version>/<Kind>`; the core group is `v1` alone. */
const modelModulePath = (apiVersion: string, kind: string): string =>
  `kubernetes-models/${apiVersion}/${kind}`;

/**
 * Validates one object against the Kubernetes OpenAPI schema of its `apiVersion` and `kind`.
 * Returns the problems (empty when valid); a kind or version the schema does not know (a typo)
 * is a problem too.
 */
export const openApiProblems = async (object: K8sObject): Promise<string[]> => {
  let mod: ModelModule;
  try {
    mod = (await import(modelModulePath(object.apiVersion, object.kind))) as ModelModule;
  } catch {
    return [`no schema for ${object.apiVersion} ${object.kind} in kubernetes-models`];
  }
  const ModelClass = mod[object.kind];
  if (ModelClass === undefined) return [`no model class ${object.kind} in ${object.apiVersion}`];
  try {
    new ModelClass(object).validate();
    return [];
  } catch (err) {
    return [(err as Error).message];
  }
};

type Attribute = { baseName: string; type: string };
type ClientModel = { getAttributeTypeMap?: () => Attribute[] };
const clientModels = k8sClient as unknown as Record<string, ClientModel | undefined>;

/** `apps/v1` + `Deployment` → `V1Deployment`; `autoscaling/v2` + `HorizontalPodAutoscaler` → `V2HorizontalPodAutoscaler`. */
const clientModelName = (apiVersion: string, kind: string): string => {
  const version = apiVersion.split('/').pop() ?? '';
  return `${version.charAt(0).toUpperCase()}${version.slice(1)}${kind}`;
};

const unknownFieldsOf = (value: unknown, type: string, path: string): string[] => {
  if (value === null || value === undefined) return [];
  const list = /^Array<(.+)>$/.exec(type);
  if (list?.[1] !== undefined) {
    const itemType = list[1];
    return Array.isArray(value) ? value.flatMap((v, i) => unknownFieldsOf(v, itemType, `${path}[${i}]`)) : [];
  }
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (map?.[1] !== undefined) {
    const valueType = map[1];
    return typeof value === 'object'
      ? Object.entries(value).flatMap(([k, v]) => unknownFieldsOf(v, valueType, `${path}.${k}`))
      : [];
  }
  const attributes = clientModels[type]?.getAttributeTypeMap?.();
  // Scalars, int-or-string, quantities and free-form objects: nothing to look up.
  if (attributes === undefined || typeof value !== 'object' || Array.isArray(value)) return [];
  const known = new Map(attributes.map((a) => [a.baseName, a.type]));
  return Object.entries(value).flatMap(([field, v]) => {
    const fieldType = known.get(field);
    return fieldType === undefined ? [`${path}.${field}`] : unknownFieldsOf(v, fieldType, `${path}.${field}`);
  });
};

/**
 * The paths of fields that the Kubernetes API does not define for this object's kind
 * (`.spec.template.spec.containers[0].securityContxt`). Throws for a kind or API version the
 * current API does not serve (`rbac.authorization.k8s.io/v1beta1`).
 */
export const unknownFields = (object: K8sObject): string[] => {
  const name = clientModelName(object.apiVersion, object.kind);
  if (typeof clientModels[name]?.getAttributeTypeMap !== 'function') {
    throw new Error(`no @kubernetes/client-node model ${name} for ${object.apiVersion} ${object.kind}`);
  }
  return unknownFieldsOf(object, name, '');
};
