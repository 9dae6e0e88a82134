import type { Acl } from './acl.js';
import type { Capability } from './capabilities.js';
import { createPolicyRegistry, type PolicyLog } from './registry.js';
import type { AclSubject } from './subject.js';

/** A logger that records what the registry logs. */
export const recordingLog = () => {
  const lines: { level: 'info' | 'warn'; event: string; fields: object }[] = [];
  const log: PolicyLog = {
    info: (fields, event) => lines.push({ level: 'info', event, fields }),
    warn: (fields, event) => lines.push({ level: 'warn', event, fields }),
  };
  return { log, lines };
};

/** A subject for a pod of namespace `team-a`, service account `app`, mount `kubernetes`. */
export const subjectFor = (overrides: Partial<AclSubject> = {}): AclSubject => ({
  policies: [],
  metadata: {
    role: 'app',
    service_account_name: 'app',
    service_account_namespace: 'team-a',
    service_account_uid: '7a1c0f3e-0000-4000-8000-000000000001',
    service_account_secret_name: '',
    pod_name: 'app-5d8f7c9b4-x2x9z',
    pod_uid: '0b8e2d1c-0000-4000-8000-000000000002',
  },
  role: 'app',
  mountPath: 'kubernetes',
  mountAccessor: 'auth_kubernetes_1a2b3c4d',
  entityId: 'entity-1',
  ...overrides,
});

/** Shorthand policy: `{ "<glob>": [capabilities] }`. */
export type Rules = Record<string, Capability[]>;

export const documentOf = (rules: Rules) => ({
  path: Object.fromEntries(Object.entries(rules).map(([p, capabilities]) => [p, { capabilities }])),
});

/** The ACL of a token holding `policies` (named p0, p1, … in order), loaded inline. */
export const aclOf = async (policies: Rules[], subject: Partial<AclSubject> = {}): Promise<Acl> => {
  const registry = createPolicyRegistry({ log: recordingLog().log });
  const inline = Object.fromEntries(policies.map((rules, i) => [`p${i}`, documentOf(rules)]));
  await registry.load({ inline, dir: undefined });
  return registry.aclFor(subjectFor({ policies: policies.map((_, i) => `p${i}`), ...subject }));
};

/** Capabilities as a sorted array, for readable assertions. */
export const capsOf = (acl: Acl, path: string, list?: boolean): string[] =>
  [...acl.capabilities(path, list === undefined ? undefined : { list })].sort();
