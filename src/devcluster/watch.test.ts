import { afterEach, describe, expect, it } from 'vitest';
import { startDevCluster, type DevCluster, type DevClusterOptions } from './index.js';

type Event = {
  type: string;
  object: {
    kind?: string;
    code?: number;
    reason?: string;
    message?: string;
    metadata: Record<string, unknown>;
  };
};

let cluster: DevCluster | undefined;
const watches: AbortController[] = [];
const start = async (options: DevClusterOptions = {}): Promise<DevCluster> => {
  cluster = await startDevCluster(options);
  return cluster;
};
afterEach(async () => {
  for (const w of watches.splice(0)) w.abort();
  await cluster?.close();
  cluster = undefined;
});

/** Open a watch and collect its newline-delimited events. */
const openWatch = async (c: DevCluster, path: string) => {
  const controller = new AbortController();
  watches.push(controller);
  const res = await fetch(`${c.url}${path}`, {
    headers: { authorization: `Bearer ${c.adminToken}` },
    signal: controller.signal,
  });
  expect(res.status).toBe(200);
  const events: Event[] = [];
  let ended = false;
  let buffer = '';
  const reading = (async () => {
    const decoder = new TextDecoder();
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let newline: number;
        while ((newline = buffer.indexOf('\n')) >= 0) {
          events.push(JSON.parse(buffer.slice(0, newline)) as Event);
          buffer = buffer.slice(newline + 1);
        }
      }
    } catch {
      // aborted
    }
    ended = true;
  })();
  const until = async (predicate: () => boolean, timeoutMs = 3000): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
      if (Date.now() > deadline)
        throw new Error(`timed out; events so far: ${JSON.stringify(events.map((e) => e.type))}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  return {
    events,
    ended: () => ended,
    waitFor: (count: number) => until(() => events.length >= count),
    waitEnd: () => until(() => ended).then(() => reading),
  };
};

describe('pod watch', () => {
  it('starts with ADDED for existing pods, then sees MODIFIED and DELETED on deletePod', async () => {
    const c = await start();
    const pod = c.createPod({ namespace: 'test', name: 'nginx', serviceAccount: 'nginx' });
    c.createPod({ namespace: 'elsewhere', name: 'x', serviceAccount: 'y' });
    const w = await openWatch(c, '/api/v1/namespaces/test/pods?watch=1');
    await w.waitFor(1);
    c.deletePod('test', 'nginx');
    await w.waitFor(3);
    expect(w.events.map((e) => e.type)).toEqual(['ADDED', 'MODIFIED', 'DELETED']);
    expect(w.events.every((e) => e.object.kind === 'Pod' && e.object.metadata['uid'] === pod.uid)).toBe(true);
    expect(w.events[1]?.object.metadata['deletionTimestamp']).toEqual(expect.any(String));
    // DELETED carries the last state.
    expect(w.events[2]?.object.metadata['deletionTimestamp']).toEqual(
      w.events[1]?.object.metadata['deletionTimestamp'],
    );
    const rvs = w.events.map((e) => Number(e.object.metadata['resourceVersion']));
    expect(rvs[1]).toBeGreaterThan(rvs[0] as number);
    expect(rvs[2]).toBeGreaterThan(rvs[1] as number);
  });

  it('replays the events after a listed resourceVersion and honours the field selector', async () => {
    const c = await start();
    c.createPod({ namespace: 'test', name: 'a', serviceAccount: 'sa' });
    const list = (await (
      await fetch(`${c.url}/api/v1/namespaces/test/pods`, {
        headers: { authorization: `Bearer ${c.adminToken}` },
      })
    ).json()) as { metadata: { resourceVersion: string } };
    c.createPod({ namespace: 'test', name: 'b', serviceAccount: 'sa' });
    c.createPod({ namespace: 'test', name: 'c', serviceAccount: 'sa' });
    const w = await openWatch(
      c,
      `/api/v1/namespaces/test/pods?watch=true&resourceVersion=${list.metadata.resourceVersion}&fieldSelector=metadata.name%3Db`,
    );
    await w.waitFor(1);
    c.deletePod('test', 'c');
    c.deletePod('test', 'b');
    await w.waitFor(3);
    expect(w.events.map((e) => `${e.type}:${String(e.object.metadata['name'])}`)).toEqual([
      'ADDED:b',
      'MODIFIED:b',
      'DELETED:b',
    ]);
  });

  it('sends a 410 Expired ERROR for a resourceVersion older than the window, then ends', async () => {
    const c = await start({ watchHistoryEvents: 2 });
    for (const name of ['a', 'b', 'c', 'd']) c.createPod({ namespace: 'test', name, serviceAccount: 'sa' });
    const w = await openWatch(c, '/api/v1/namespaces/test/pods?watch=1&resourceVersion=1');
    await w.waitEnd();
    expect(w.events).toHaveLength(1);
    expect(w.events[0]).toEqual({
      type: 'ERROR',
      object: {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: expect.stringMatching(/^too old resource version: 1 \(\d+\)$/),
        reason: 'Expired',
        code: 410,
      },
    });
  });

  it('sends BOOKMARKs with only the resourceVersion and ends at timeoutSeconds', async () => {
    const c = await start({ bookmarkIntervalMs: 50 });
    c.createNamespace('test');
    const w = await openWatch(
      c,
      '/api/v1/namespaces/test/pods?watch=1&allowWatchBookmarks=true&timeoutSeconds=1',
    );
    await w.waitEnd();
    const bookmarks = w.events.filter((e) => e.type === 'BOOKMARK');
    expect(bookmarks.length).toBeGreaterThan(1);
    expect(bookmarks[0]?.object).toEqual({
      kind: 'Pod',
      apiVersion: 'v1',
      metadata: { resourceVersion: expect.any(String) },
    });
  });

  it('holds a watch open for a timeoutSeconds past what a Node timer takes (2^31 − 1 ms)', async () => {
    const c = await start();
    c.createPod({ namespace: 'test', name: 'nginx', serviceAccount: 'nginx' });
    const w = await openWatch(c, '/api/v1/namespaces/test/pods?watch=1&timeoutSeconds=3000000');
    await w.waitFor(1);
    await new Promise((r) => setTimeout(r, 200));
    // A timer of 3e9 ms fires at once: the watch ended in a millisecond and a client reconnected in a loop.
    expect(w.ended()).toBe(false);
  });

  it('answers 400 for a malformed resourceVersion', async () => {
    const c = await start();
    const res = await fetch(`${c.url}/api/v1/namespaces/test/pods?watch=1&resourceVersion=abc`, {
      headers: { authorization: `Bearer ${c.adminToken}` },
    });
    expect(res.status).toBe(400);
  });
});

describe('namespace watch', () => {
  it('sees a namespace deletion as MODIFIED (Terminating) then DELETED', async () => {
    const c = await start();
    c.createNamespace('gone');
    const w = await openWatch(
      c,
      '/api/v1/namespaces?watch=1&labelSelector=kubernetes.io%2Fmetadata.name%3Dgone',
    );
    await w.waitFor(1);
    c.deleteNamespace('gone');
    await w.waitFor(3);
    expect(w.events.map((e) => e.type)).toEqual(['ADDED', 'MODIFIED', 'DELETED']);
    expect((w.events[1]?.object as unknown as { status: { phase: string } }).status.phase).toBe(
      'Terminating',
    );
  });
});

// The watch cache (cacheWatcher.convertToWatchEvent) judges an event by the object before and
// after it: an object that stops matching the selector is DELETED (its previous state, at the
// event's resourceVersion), one that starts matching is ADDED.
describe('watches with a selector, as objects move in and out of it', () => {
  it('sends DELETED when a namespace leaves the label selector and ADDED when it comes back', async () => {
    const c = await start();
    c.createNamespace('payments', { team: 'web' });
    const w = await openWatch(c, '/api/v1/namespaces?watch=1&labelSelector=team%3Dweb');
    await w.waitFor(1);
    c.createNamespace('payments', { team: 'ops' });
    c.createNamespace('payments', { team: 'ops', tier: 'gold' });
    c.createNamespace('payments', { team: 'web' });
    await w.waitFor(3);
    const rv = (n: number) => (w.events[n]?.object.metadata['resourceVersion'] as string) ?? '';
    expect(w.events.map((e) => e.type)).toEqual(['ADDED', 'DELETED', 'ADDED']);
    expect(w.events[1]?.object.metadata['labels']).toMatchObject({ team: 'web' });
    expect(Number(rv(1))).toBeGreaterThan(Number(rv(0)));
    expect(w.events[2]?.object.metadata['labels']).toMatchObject({ team: 'web' });

    // The same from the history window.
    const replay = await openWatch(
      c,
      `/api/v1/namespaces?watch=1&labelSelector=team%3Dweb&resourceVersion=${rv(0)}`,
    );
    await replay.waitFor(2);
    expect(replay.events.map((e) => e.type)).toEqual(['DELETED', 'ADDED']);
  });
});
