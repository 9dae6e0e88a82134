import { afterEach, expect } from 'vitest';
import { createFakeClock, type FakeClock } from '../lib/clock.js';
import { startDevCluster, type DevCluster, type DevClusterOptions } from './index.js';

/** What the TokenReview tests of the simulator share: a cluster per test, on a fake clock. */

export const API = 'https://kubernetes.default.svc.cluster.local';
export type Review = {
  kind: string;
  spec: { token: string; audiences?: string[] };
  status: {
    authenticated?: boolean;
    user: { username?: string; uid?: string; groups?: string[]; extra?: Record<string, string[]> };
    audiences?: string[];
    error?: string;
  };
};

/**
 * Registers the cleanup of the calling test file: `start()` makes a cluster on a fake clock (read
 * through `clock()` after it), closed after each test.
 */
export const useReviewCluster = () => {
  let cluster: DevCluster | undefined;
  let clock: FakeClock | undefined;
  afterEach(async () => {
    await cluster?.close();
    cluster = undefined;
  });
  return {
    start: async (options: DevClusterOptions = {}): Promise<DevCluster> => {
      clock = createFakeClock(Date.UTC(2024, 4, 1, 10, 0, 0));
      cluster = await startDevCluster({ clock, ...options });
      return cluster;
    },
    clock: (): FakeClock => {
      if (clock === undefined) throw new Error('start a cluster first');
      return clock;
    },
  };
};

export const post = async (c: DevCluster, body: unknown, bearer = c.adminToken) => {
  const res = await fetch(`${c.url}/apis/authentication.k8s.io/v1/tokenreviews`, {
    method: 'POST',
    headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Review & { message?: string; reason?: string } };
};
export const review = async (
  c: DevCluster,
  token: string,
  audiences?: string[],
): Promise<Review['status']> => {
  const res = await post(c, {
    apiVersion: 'authentication.k8s.io/v1',
    kind: 'TokenReview',
    spec: { token, ...(audiences ? { audiences } : {}) },
  });
  expect(res.status).toBe(201);
  return res.body.status;
};
export const errorOf = async (
  c: DevCluster,
  token: string,
  audiences?: string[],
): Promise<string | undefined> => (await review(c, token, audiences)).error;
