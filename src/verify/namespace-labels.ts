import { LRUCache } from 'lru-cache';
import type { KubernetesMountConfig } from '../config/index.js';
import { AuthgateError, loginDenied } from '../errors.js';
import type { Clock } from '../lib/clock.js';
import { createSingleFlight } from '../lib/single-flight.js';
import { withSpan } from '../lib/tracing.js';
import { createReviewerToken } from './reviewer-token.js';
import {
  createTokenReviewClient,
  TokenReviewHttpError,
  type TokenReviewClient,
} from './token-review-client.js';
import { scrubbedError, scrubUpstreamText } from './token-review-status.js';
import type { VerifierLog } from './verifier-log.js';

/** Namespaces whose labels are kept at most (a namespace's labels are a few hundred bytes). */
export const NAMESPACE_CACHE_MAX_ENTRIES = 10_000;

/** A namespace's labels, or null when the API server has no such namespace. */
type Labels = Readonly<Record<string, string>> | null;

export type NamespaceLabelsDeps = {
  clock: Clock;
  log: VerifierLog;
  /** Reads the reviewer token file. Default: node:fs. */
  readFile?: (path: string) => Promise<string>;
  /** Replaces the API client (tests). Default: one on the mount's host, CA and TokenReview timeout. */
  client?: Pick<TokenReviewClient, 'readNamespaceLabels' | 'close'>;
};

/**
 * Reads namespaces' labels from a mount's API server, for roles with a namespace selector
 * (`GET /api/v1/namespaces/<name>` with the token reviewer JWT as bearer, as Vault's plugin
 * does; RBAC: `get` on `namespaces`).
 *
 * - An answer (labels, or "no such namespace") is kept for `namespaceCacheTtlSeconds` (0: not
 *   kept); a failure never is. Concurrent reads of one namespace make one call.
 * - A 401 re-reads the reviewer token once (the kubelet may have rotated it) and tries again.
 * - The API server refusing the reviewer (401, 403): `LOGIN_DENIED` `namespace not authorized`
 *   with the reason (`namespace_lookup_unauthorized`, `namespace_lookup_forbidden`) and the API
 *   server's message as detail, for the log. Fail closed: without the labels, no selector matches.
 * - No usable answer (refused connection, timeout, 5xx, a body that is not the namespace):
 *   `UNAVAILABLE` (503), so that a client retries instead of taking a refusal for an answer.
 *
 * Throws `TypeError` when the mount has no `kubernetesHost` or `tokenReviewerJwtFile` (config
 * refuses a selector on such a mount).
 */
export const createNamespaceLabels = (mount: KubernetesMountConfig, deps: NamespaceLabelsDeps) => {
  const host = mount.kubernetesHost;
  const file = mount.tokenReviewerJwtFile;
  if (host === undefined || file === undefined)
    throw new TypeError(`mount ${mount.path}: namespace labels need kubernetesHost and tokenReviewerJwtFile`);
  const { clock, log } = deps;
  const client =
    deps.client ??
    createTokenReviewClient({ host, caCert: mount.kubernetesCaCert, timeoutMs: mount.tokenReview.timeoutMs });
  const reviewer = createReviewerToken(file, {
    clock,
    log,
    ...(deps.readFile ? { readFile: deps.readFile } : {}),
  });
  const ttlMs = mount.namespaceCacheTtlSeconds * 1000;
  const cache = new LRUCache<string, { labels: Labels; expiresAtMs: number }>({
    max: NAMESPACE_CACHE_MAX_ENTRIES,
  });
  const flight = createSingleFlight<Labels>();
  let reads = 0;

  const refused = (reason: string, err: TokenReviewHttpError): AuthgateError =>
    loginDenied(
      'namespace not authorized',
      reason,
      `reading the namespace's labels: the API server answered ${err.status}: ${scrubUpstreamText(err.message, host)}`,
    );

  const read = async (namespace: string): Promise<Labels> => {
    let bearer = await reviewer.get();
    for (let attempt = 0; ; attempt++) {
      reads++;
      try {
        return (await client.readNamespaceLabels(namespace, bearer)) ?? null;
      } catch (err) {
        if (err instanceof TokenReviewHttpError && err.status === 401 && attempt === 0) {
          const fresh = await reviewer.get(true);
          if (fresh !== bearer) {
            bearer = fresh;
            continue;
          }
        }
        if (err instanceof TokenReviewHttpError && err.status === 401)
          throw refused('namespace_lookup_unauthorized', err);
        if (err instanceof TokenReviewHttpError && err.status === 403)
          throw refused('namespace_lookup_forbidden', err);
        const cause = scrubbedError(err, host);
        throw new AuthgateError('UNAVAILABLE', {
          message: "cannot read the namespace's labels from the Kubernetes API server",
          reason: 'namespace_lookup_unavailable',
          detail: cause instanceof Error ? cause.message : String(cause),
          cause,
        });
      }
    }
  };

  return {
    /**
     * The labels of `namespace` (undefined when the API server has no such namespace), from the
     * cache while it holds them. Rejects as the factory's doc says.
     */
    async labelsOf(namespace: string): Promise<Readonly<Record<string, string>> | undefined> {
      const hit = cache.get(namespace);
      if (hit !== undefined && hit.expiresAtMs > clock.nowMs()) return hit.labels ?? undefined;
      const labels = await flight.run(namespace, () =>
        withSpan('k8s.namespace.read', { 'authgate.mount': mount.path }, async () => {
          const fresh = await read(namespace);
          if (ttlMs > 0) cache.set(namespace, { labels: fresh, expiresAtMs: clock.nowMs() + ttlMs });
          return fresh;
        }),
      );
      return labels ?? undefined;
    },
    /** Calls made to the API server (a retry after a 401 counts). */
    reads: (): number => reads,
    close(): void {
      client.close();
    },
  };
};
export type NamespaceLabels = ReturnType<typeof createNamespaceLabels>;
