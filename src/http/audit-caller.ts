import type { FastifyRequest } from 'fastify';
import { isAuthgateError } from '../errors.js';
import type { AclSubject, Capability } from '../policy/index.js';
import { createSubjectOf, logicalPath } from './acl-hook.js';
import { requestAuthOf, type AclRouteConfig, type AllowedBy } from './acl-route.js';
import type { TokenRecord } from '../tokens/index.js';

/** What naming the caller of an audited request uses. */
export type AuditCallerDeps = {
  /** The policy registry, asked for Vault's `granting_policies` of each allowed request. */
  policies: { grantingPolicies(subject: AclSubject, path: string, capability: Capability): string[] };
  /** The configured auth mounts, for the token's mount accessor (policy templates may name it). */
  mounts: ReadonlyMap<string, { type: string }>;
};

/** Vault's `PolicyInfo` of an ACL policy: authgate's are all in Vault's root namespace. */
const policyInfo = (name: string) => ({ name, namespace_id: 'root', type: 'acl' });

/**
 * The token's owner for the entry (see AuditRequest.caller), once the ACL hook has read it, with
 * Vault's `policy_results` of the check: for the admin token, Vault's root (AllowOperation's root
 * path names the `root` policy); for any other, whether it was allowed, the policies that
 * granted it added by {@link createGrantingPolicies} before the first entry.
 */
export const callerOf = (request: FastifyRequest): { caller?: Record<string, unknown> } => {
  const auth = requestAuthOf(request);
  if (auth === undefined) return {};
  if (auth.record === undefined)
    return {
      caller: {
        display_name: 'root',
        policies: ['root'],
        token_policies: ['root'],
        policy_results: { allowed: true, granting_policies: [policyInfo('root')] },
      },
    };
  const r = auth.record;
  return {
    caller: {
      accessor: r.accessor,
      display_name: r.displayName,
      entity_id: r.entityId,
      metadata: r.metadata,
      policies: r.policies,
      policy_results: { allowed: auth.denied !== true },
      token_policies: r.policies,
      // Vault's token_ttl is the token entry's TTL (what lookup calls `creation_ttl`).
      lease_duration: r.creationTtlSeconds,
      issue_time_ms: r.issueTimeMs,
      token_type: r.type ?? 'service',
    },
  };
};

/**
 * Adds Vault's `granting_policies` to the `policy_results` of a caller (from {@link callerOf})
 * whose policies allowed the request; nothing for the admin token, a refusal or no caller. Call
 * it once, before the request entry: the target of a write may exist only after it. Never
 * throws: what cannot be found is left out, and logged as `audit.granting_unknown`.
 */
export const createGrantingPolicies = (deps: AuditCallerDeps) => {
  const subjectOf = createSubjectOf(deps.mounts);
  /**
   * The policies that granted a request its token's policies allowed (Vault's
   * `granting_policies`). A write they allow both to create and to update was let through
   * without asking whether its target exists; when different policies grant the two, that
   * question decides which granted it (Vault's ExistenceCheck), and is asked here.
   */
  const grantingOf = async (
    request: FastifyRequest,
    record: TokenRecord,
    allowedBy: AllowedBy,
  ): Promise<string[]> => {
    const subject = subjectOf(record);
    const path = logicalPath(request);
    const granting = (capability: Capability) => deps.policies.grantingPolicies(subject, path, capability);
    if (allowedBy !== 'create-or-update') return granting(allowedBy);
    const create = granting('create');
    const update = granting('update');
    if (create.join('\n') === update.join('\n')) return create;
    const exists = (request.routeOptions.config as AclRouteConfig | undefined)?.acl?.exists;
    return exists !== undefined && (await exists(request)) ? update : create;
  };

  const addGrantingPolicies = async (
    caller: Record<string, unknown> | undefined,
    request: FastifyRequest,
  ): Promise<void> => {
    const auth = requestAuthOf(request);
    const results = caller?.['policy_results'] as Record<string, unknown> | undefined;
    if (auth?.record === undefined || auth.allowedBy === undefined || results === undefined) return;
    try {
      const names = await grantingOf(request, auth.record, auth.allowedBy);
      results['granting_policies'] = names.map(policyInfo);
    } catch (err) {
      // The existence question failed (its store is down, which the request itself will meet):
      // the entries say the request was allowed, and not by which policies, rather than fail.
      request.log.warn(
        {
          event: 'audit.granting_unknown',
          reason: isAuthgateError(err) ? err.reason : (err as Error).message,
        },
        'audit.granting_unknown',
      );
    }
  };

  return addGrantingPolicies;
};
