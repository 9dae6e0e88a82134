// What a login hands the token service, as the kubernetes mount makes it: shared by the scripts
// that measure what stored tokens cost.

/** A login's issue input as the kubernetes mount makes it (role, SA and pod indexes). */
export const input = (i) => ({
  policies: ['default', 'nginx'],
  metadata: {
    role: 'nginx',
    service_account_name: 'nginx',
    service_account_namespace: 'test',
    service_account_secret_name: '',
    service_account_uid: 'aa9aa8ff-98d0-4b2a-9c0e-1f2b3c4d5e6f',
    pod_name: `nginx-${i % 100}`,
    pod_uid: `3c0e5b8e-4a1f-4d6b-9a57-${String(i % 100).padStart(12, '0')}`,
  },
  displayName: 'kubernetes-test-nginx',
  path: 'auth/kubernetes/login',
  entityId: '0d7a1c52-7a9e-4f4c-a1f0-6c3b1e2d9f10',
  role: 'nginx',
  mountPath: 'kubernetes',
  ttlSeconds: 3600,
  maxTtlSeconds: 0,
  explicitMaxTtlSeconds: 0,
  periodSeconds: 0,
  numUses: 0,
  boundCidrs: [],
  mount: { defaultLeaseTtlSeconds: 2_764_800, maxLeaseTtlSeconds: 2_764_800 },
  indexes: [
    { kind: 'role', value: 'kubernetes/nginx' },
    { kind: 'sa', value: 'test/nginx' },
    { kind: 'pod', value: `3c0e5b8e-4a1f-4d6b-9a57-${String(i % 100).padStart(12, '0')}` },
  ],
});
