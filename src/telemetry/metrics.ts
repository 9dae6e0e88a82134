import type { Meter } from '@opentelemetry/api';

/** What a verifier reports; the counters are read when metrics are collected, not on the hot path. */
export type VerifierSource = {
  mount: string;
  mode: string;
  stats(): {
    cacheHits: number;
    cacheMisses: number;
    upstreamCalls: number;
    upstreamErrors: number;
    keyFetches: number;
  };
};

export type MetricSources = {
  verifiers: readonly VerifierSource[];
  /** Live (unexpired, unrevoked) tokens in the store, if the store can count them cheaply. */
  liveTokens?: () => Promise<number | undefined>;
  /**
   * The end (notAfter) of the certificate the listener serves, in Unix seconds, or undefined
   * while there is none. Absent when the listener has no TLS.
   */
  listenerCertificateExpiry?: () => number | undefined;
  /** The audit devices' names: each one's failure counter is exported from 0, not from its first failure. */
  auditDevices?: readonly string[];
};

/** Login outcome labels. All low-cardinality: a role is a configured role or `unknown`. */
export type LoginLabels = { mount: string; role: string; outcome: string; reason: string };

/** Shared attribute objects of the duration histogram, one per outcome. */
const OUTCOME_ATTRIBUTES: Record<string, { outcome: string }> = {
  ok: { outcome: 'ok' },
  denied: { outcome: 'denied' },
  error: { outcome: 'error' },
};

// Seconds; a cached login takes well under a millisecond, a TokenReview a few.
const LOGIN_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/**
 * authgate's metrics (names as Prometheus shows them):
 * - `authgate_logins_total{mount,role,outcome,reason}` and `authgate_login_duration_seconds{outcome}`;
 * - `authgate_tokenreview_calls_total`, `authgate_jwks_fetches_total`, `authgate_upstream_errors_total`,
 *   `authgate_verification_cache_hits_total`, `…_misses_total` (all `{mount}`), read from the
 *   verifiers' own counters at collection time, so verification pays nothing for them;
 * - `authgate_live_tokens`, `authgate_store_errors_total`, `authgate_audit_failures_total{device}`;
 * - `authgate_listener_certificate_expiry_timestamp_seconds`, with a TLS listener.
 * Names, pods and addresses never become labels.
 */
export const createMetrics = (meter: Meter, sources: MetricSources) => {
  // Login counts live in a plain Map and are observed at collection time: the SDK hashes an
  // attribute set on every add(), which measured at ~15 % of a cached login's CPU.
  const loginCounts = new Map<string, { labels: LoginLabels; count: number }>();
  meter
    .createObservableCounter('authgate_logins', { description: 'Login attempts by outcome and reason' })
    .addCallback((result) => {
      for (const { labels, count } of loginCounts.values()) result.observe(count, labels);
    });
  // One attribute with three values: hashing it is cheap (per-mount latency is in the traces).
  const duration = meter.createHistogram('authgate_login_duration_seconds', {
    description: 'Time to answer a login, seconds',
    advice: { explicitBucketBoundaries: LOGIN_BUCKETS },
  });
  const storeErrors = meter.createCounter('authgate_store_errors', {
    description: 'Requests that failed because the store was unreachable',
  });
  const auditFailures = meter.createCounter('authgate_audit_failures', {
    description: 'Audit entries a device failed to write',
  });
  // Exported from the start: a series that appears only at the first failure reads as "no data"
  // to an alert rule or a dashboard (rate() of it, or `> 0`), not as 0.
  storeErrors.add(0);
  for (const device of sources.auditDevices ?? []) auditFailures.add(0, { device });

  const observed = (
    name: string,
    description: string,
    pick: (s: ReturnType<VerifierSource['stats']>) => number,
    mode?: string,
  ) => {
    const counter = meter.createObservableCounter(name, { description });
    counter.addCallback((result) => {
      for (const v of sources.verifiers) {
        if (mode !== undefined && v.mode !== mode) continue;
        result.observe(pick(v.stats()), { mount: v.mount });
      }
    });
  };
  observed(
    'authgate_tokenreview_calls',
    'TokenReview calls made to the API server',
    (s) => s.upstreamCalls,
    'tokenreview',
  );
  // Every mount's: a jwks or jwt mount's key fetches, and a tokenreview mount's prefilter's.
  observed('authgate_jwks_fetches', 'JWKS and discovery fetches', (s) => s.keyFetches);
  observed('authgate_upstream_errors', 'Failed TokenReview calls or JWKS fetches', (s) => s.upstreamErrors);
  observed(
    'authgate_verification_cache_hits',
    'Logins proven from the verification cache',
    (s) => s.cacheHits,
  );
  observed('authgate_verification_cache_misses', 'Logins that needed a verification', (s) => s.cacheMisses);

  const { liveTokens } = sources;
  if (liveTokens !== undefined) {
    const gauge = meter.createObservableGauge('authgate_live_tokens', { description: 'Live client tokens' });
    gauge.addCallback(async (result) => {
      try {
        const n = await liveTokens();
        if (n !== undefined) result.observe(n);
      } catch {
        // The store is down: no reading this time (store errors are counted elsewhere).
      }
    });
  }

  const { listenerCertificateExpiry } = sources;
  if (listenerCertificateExpiry !== undefined) {
    meter
      .createObservableGauge('authgate_listener_certificate_expiry_timestamp_seconds', {
        description: 'When the certificate the listener serves ends (notAfter), Unix seconds',
      })
      .addCallback((result) => {
        const seconds = listenerCertificateExpiry();
        if (seconds !== undefined) result.observe(seconds);
      });
  }

  return {
    /** Records one login; `seconds` is the time to answer it. */
    login: (labels: LoginLabels, seconds: number): void => {
      const key = `${labels.mount}\u0000${labels.role}\u0000${labels.outcome}\u0000${labels.reason}`;
      const entry = loginCounts.get(key);
      if (entry === undefined) loginCounts.set(key, { labels: { ...labels }, count: 1 });
      else entry.count++;
      duration.record(seconds, OUTCOME_ATTRIBUTES[labels.outcome] ?? { outcome: labels.outcome });
    },
    storeError: (): void => storeErrors.add(1),
    auditFailure: (device: string): void => auditFailures.add(1, { device }),
  };
};
export type Metrics = ReturnType<typeof createMetrics>;
