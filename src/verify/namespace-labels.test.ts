import { describe, expect, it } from 'vitest';
import { createFakeClock } from '../lib/clock.js';
import { createNamespaceLabels } from './namespace-labels.js';
import { mountOf, silent } from './test-fixtures.js';
import { TokenReviewHttpError, TokenReviewTransportError } from './token-review-client.js';

type Reply = Record<string, string> | undefined | Error | Promise<Record<string, string> | undefined>;

/** A reader over a stub API client answering from `replies` in turn (the last repeats). */
const reader = (replies: Reply[], opts: { ttlSeconds?: number; reviewerTokens?: string[] } = {}) => {
  const clock = createFakeClock();
  const bearers: string[] = [];
  const tokens = [...(opts.reviewerTokens ?? ['reviewer-1'])];
  const labels = createNamespaceLabels(
    mountOf({
      kubernetesHost: 'https://kubernetes.example',
      tokenReviewerJwtFile: '/reviewer',
      namespaceCacheTtlSeconds: opts.ttlSeconds ?? 30,
    }),
    {
      clock,
      log: silent,
      readFile: async () => (tokens.length > 1 ? (tokens.shift() as string) : (tokens[0] as string)),
      client: {
        readNamespaceLabels: async (_name, bearer) => {
          bearers.push(bearer);
          const reply = replies.length > 1 ? replies.shift() : replies[0];
          if (reply instanceof Error) throw reply;
          return reply;
        },
        close: () => undefined,
      },
    },
  );
  return { labels, bearers, clock };
};

describe('createNamespaceLabels', () => {
  it('reads a namespace once while its labels are kept, and again once they lapse', async () => {
    const r = reader([{ team: 'web' }]);
    expect(await r.labels.labelsOf('web-a')).toEqual({ team: 'web' });
    expect(await r.labels.labelsOf('web-a')).toEqual({ team: 'web' });
    expect(r.bearers).toHaveLength(1);
    r.clock.advanceSeconds(31);
    await r.labels.labelsOf('web-a');
    expect(r.bearers).toHaveLength(2);
  });

  it('keeps "no such namespace" as it keeps labels', async () => {
    const r = reader([undefined]);
    expect(await r.labels.labelsOf('gone')).toBeUndefined();
    expect(await r.labels.labelsOf('gone')).toBeUndefined();
    expect(r.bearers).toHaveLength(1);
  });

  it('keeps nothing with namespace_cache_ttl 0', async () => {
    const r = reader([{ team: 'web' }], { ttlSeconds: 0 });
    await r.labels.labelsOf('web-a');
    await r.labels.labelsOf('web-a');
    expect(r.bearers).toHaveLength(2);
  });

  it('makes one call for concurrent reads of one namespace', async () => {
    let release: (v: Record<string, string>) => void = () => undefined;
    const held = new Promise<Record<string, string>>((resolve) => {
      release = resolve;
    });
    const r = reader([held]);
    const both = Promise.all([r.labels.labelsOf('web-a'), r.labels.labelsOf('web-a')]);
    await new Promise((resolve) => setImmediate(resolve));
    release({ team: 'web' });
    expect(await both).toEqual([{ team: 'web' }, { team: 'web' }]);
    expect(r.bearers).toHaveLength(1);
  });

  it('reads the reviewer token again after a 401 and tries once more with the new one', async () => {
    const r = reader([new TokenReviewHttpError(401, 'Unauthorized'), { team: 'web' }], {
      reviewerTokens: ['reviewer-1', 'reviewer-2'],
    });
    expect(await r.labels.labelsOf('web-a')).toEqual({ team: 'web' });
    expect(r.bearers).toEqual(['reviewer-1', 'reviewer-2']);
  });

  it.each([
    [new TokenReviewHttpError(401, 'Unauthorized'), 'namespace_lookup_unauthorized'],
    [new TokenReviewHttpError(403, 'namespaces "web-a" is forbidden'), 'namespace_lookup_forbidden'],
  ])(
    'refuses (403 namespace not authorized) when the API server refuses the reviewer: %s',
    async (err, reason) => {
      const r = reader([err]);
      await expect(r.labels.labelsOf('web-a')).rejects.toMatchObject({
        status: 403,
        message: 'namespace not authorized',
        reason,
      });
    },
  );

  it('is unavailable (503) when the API server fails or cannot be reached, and keeps no failure', async () => {
    for (const err of [
      new TokenReviewHttpError(500, 'etcd down'),
      new TokenReviewTransportError('ECONNREFUSED'),
    ]) {
      const r = reader([err, { team: 'web' }]);
      await expect(r.labels.labelsOf('web-a')).rejects.toMatchObject({
        status: 503,
        reason: 'namespace_lookup_unavailable',
      });
      expect(await r.labels.labelsOf('web-a')).toEqual({ team: 'web' });
    }
  });
});
