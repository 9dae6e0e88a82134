/**
 * What the ACL check costs per request, measured in this process on the built code: the policy
 * registry loaded as the KV scenarios load it (the dev policies and `KV_BENCH_POLICIES` files),
 * then, per simulated request, exactly what the ACL hook does once the token record is read —
 * the token's policy subject, its compiled ACL (cached per policy set and identity), and the
 * capability lookup on the request's path — over 100 workloads in 10 namespaces, cycled.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { writeBenchPolicies } from './policies.mjs';

/**
 * @param {{ distDir: string, policies: number, iterations?: number }} opts
 * @returns {Promise<{ microsPerCheck: number, loadMs: number, iterations: number }>}
 */
export const measureAclCost = async ({ distDir, policies, iterations = 500_000 }) => {
  const load = (path) => import(pathToFileURL(join(distDir, path)).href);
  const { createPolicyRegistry } = await load('policy/index.js');
  const { createSubjectOf } = await load('http/acl-hook.js');
  // The dev config's mounts, whose accessors a subject carries.
  const subjectOf = createSubjectOf(new Map([['kubernetes-jwks', { type: 'kubernetes' }]]));
  const { DEV_POLICIES } = await load('cli/dev.js');
  const dir = mkdtempSync(join(tmpdir(), 'authgate-acl-bench-'));
  try {
    writeBenchPolicies(dir, policies);
    const silent = { info: () => {}, warn: () => {} };
    const registry = createPolicyRegistry({ log: silent });
    const started = performance.now();
    await registry.load({ inline: DEV_POLICIES, dir });
    const loadMs = performance.now() - started;
    const records = Array.from({ length: 100 }, (_, i) => ({
      policies: ['default', 'nginx'],
      metadata: {
        role: 'nginx',
        service_account_name: `app-${i}`,
        service_account_namespace: `ns-${i % 10}`,
        service_account_uid: `uid-${i}`,
        service_account_secret_name: '',
        pod_name: `pod-${i}`,
        pod_uid: `pod-uid-${i}`,
      },
      role: 'nginx',
      mountPath: 'kubernetes-jwks',
      entityId: `entity-${i}`,
    }));
    const paths = records.map((r) => `secret/data/${r.metadata.service_account_namespace}/app`);
    let allowed = 0;
    const run = (n) => {
      for (let i = 0; i < n; i++) {
        const k = i % records.length;
        if (registry.aclFor(subjectOf(records[k])).capabilities(paths[k], { list: false }).has('read'))
          allowed++;
      }
    };
    run(20_000); // warm: JIT, and every workload's ACL compiled once
    allowed = 0;
    const t0 = performance.now();
    run(iterations);
    const elapsedMs = performance.now() - t0;
    if (allowed !== iterations)
      throw new Error(`acl-cost: ${iterations - allowed} checks refused a granted read`);
    return { microsPerCheck: (elapsedMs * 1000) / iterations, loadMs, iterations };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};
