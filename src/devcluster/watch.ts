import type { ServerResponse } from 'node:http';
import { badRequest, statusBody } from './api-status.js';
import type { Matcher } from './selectors.js';
import type { JsonObject } from './shapes.js';

/** Resources that can be watched. */
export type WatchResource = 'pods' | 'namespaces';

/** A change as the watch history keeps it (the object in its served form, with kind). */
export type StoredEvent = {
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  resource: WatchResource;
  namespace?: string;
  resourceVersion: number;
  object: JsonObject;
  /** The object's state before this event (none for ADDED); set by the hub. */
  previous?: JsonObject;
};

/** The watch history and fan-out. */
export type WatchHub = ReturnType<typeof createWatchHub>;

/**
 * The event history and live fan-out behind every watch, like the API server's watch cache: a
 * bounded window of recent events. A watch from a resourceVersion older than the window gets
 * `410 Expired`.
 *
 * @param capacityEvents how many events the window keeps (at least 1).
 */
export const createWatchHub = (capacityEvents: number) => {
  const history: StoredEvent[] = [];
  /** The highest resourceVersion whose event has left the window (0: nothing lost yet). */
  let compactedThrough = 0;
  const listeners = new Set<(event: StoredEvent) => void>();
  /** The last state of every live object, to give each event its previous state. */
  const latest = new Map<string, JsonObject>();

  return {
    publish: (published: StoredEvent): void => {
      const name = String((published.object['metadata'] as { name?: unknown } | undefined)?.name);
      const id = `${published.resource}/${published.namespace ?? ''}/${name}`;
      const previous = latest.get(id);
      const event = { ...published, ...(previous ? { previous } : {}) };
      if (event.type === 'DELETED') latest.delete(id);
      else latest.set(id, event.object);
      history.push(event);
      while (history.length > Math.max(1, capacityEvents)) {
        compactedThrough = (history.shift() as StoredEvent).resourceVersion;
      }
      for (const listener of [...listeners]) listener(event);
    },
    /**
     * Events after `resourceVersion`, or `{ tooOld: oldest }` when some of them have left the window
     * (`oldest` is the oldest resourceVersion still held, for the error message).
     */
    since: (resourceVersion: number): StoredEvent[] | { tooOld: number } => {
      if (resourceVersion < compactedThrough)
        return { tooOld: history[0]?.resourceVersion ?? compactedThrough + 1 };
      return history.filter((e) => e.resourceVersion > resourceVersion);
    },
    subscribe: (listener: (event: StoredEvent) => void): (() => void) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    /** Number of open watches (for tests and stats). */
    watchers: (): number => listeners.size,
  };
};

/** One watch request, already authorized and parsed. */
export type WatchRequest = {
  resource: WatchResource;
  kind: 'Pod' | 'Namespace';
  /** Only events of this namespace (pods). */
  namespace?: string;
  matcher: Matcher;
  /** `resourceVersion` query value ('' or absent: start with the current state). */
  resourceVersion?: string;
  allowWatchBookmarks: boolean;
  /** `sendInitialEvents`: true/false when given. */
  sendInitialEvents?: boolean;
  timeoutSeconds?: number;
  /** The current matching objects, served form, for the synthetic ADDED events. */
  initialObjects: () => JsonObject[];
};

/** Dependencies of `serveWatch`. */
export type WatchDeps = {
  hub: Pick<WatchHub, 'since' | 'subscribe'>;
  currentResourceVersion: () => number;
  /** How often to send a BOOKMARK when bookmarks are allowed (real time). */
  bookmarkIntervalMs: number;
};

const parseResourceVersion = (value: string): number => {
  if (!/^\d+$/.test(value))
    throw badRequest(
      `resourceVersion: Invalid value: ${JSON.stringify(value)}: strconv.ParseUint: parsing ${JSON.stringify(value)}: invalid syntax`,
    );
  return Number(value);
};

/**
 * Serve a watch as the API server does: HTTP 200, chunked, one `{"type","object"}` JSON per line.
 * Without a resourceVersion (or with "0") the current objects come first as ADDED; with one, the
 * events after it are replayed from the window, or a single ERROR event (410 Expired, `too old
 * resource version: <rv> (<oldest>)`) is sent and the stream ends. DELETED carries the last state;
 * BOOKMARK carries only the resourceVersion. The stream ends after `timeoutSeconds`, or when the
 * client goes away.
 *
 * @throws KubeApiError 400 for a malformed resourceVersion (before anything is written).
 */
export const serveWatch = (res: ServerResponse, deps: WatchDeps, request: WatchRequest): void => {
  const rv = request.resourceVersion ?? '';
  const from = rv === '' || rv === '0' ? undefined : parseResourceVersion(rv);

  res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private' });
  const send = (type: string, object: JsonObject): void => {
    if (!res.writableEnded && !res.destroyed) res.write(`${JSON.stringify({ type, object })}\n`);
  };
  const bookmark = (annotations?: Record<string, string>): void =>
    send('BOOKMARK', {
      kind: request.kind,
      apiVersion: 'v1',
      metadata: {
        resourceVersion: String(deps.currentResourceVersion()),
        ...(annotations ? { annotations } : {}),
      },
    });
  const fail = (code: number, reason: string, message: string): void => {
    send('ERROR', statusBody(code, reason, message) as unknown as JsonObject);
    res.end();
  };
  // cacheWatcher.convertToWatchEvent: an event is judged by the object after and before it, so an
  // object that starts matching the selector is ADDED and one that stops matching is DELETED (its
  // previous state at the event's resourceVersion).
  const forward = (event: StoredEvent): void => {
    if (event.resource !== request.resource) return;
    if (request.namespace !== undefined && event.namespace !== request.namespace) return;
    const now = event.type !== 'DELETED' && request.matcher(event.object);
    const before = event.previous !== undefined && request.matcher(event.previous);
    if (now) return send(before ? 'MODIFIED' : 'ADDED', event.object);
    if (!before) return;
    if (event.type === 'DELETED') return send('DELETED', event.object);
    const previous = event.previous as JsonObject;
    const metadata = {
      ...(previous['metadata'] as JsonObject),
      resourceVersion: String(event.resourceVersion),
    };
    send('DELETED', { ...previous, metadata });
  };

  if (from === undefined) {
    if (request.sendInitialEvents !== false) {
      for (const object of request.initialObjects()) send('ADDED', object);
      if (request.sendInitialEvents && request.allowWatchBookmarks)
        bookmark({ 'k8s.io/initial-events-end': 'true' });
    }
  } else {
    const current = deps.currentResourceVersion();
    if (from > current)
      return fail(504, 'Timeout', `Too large resource version: ${from}, current: ${current}`);
    const replay = deps.hub.since(from);
    if (!Array.isArray(replay))
      return fail(410, 'Expired', `too old resource version: ${from} (${replay.tooOld})`);
    for (const event of replay) forward(event);
  }

  const unsubscribe = deps.hub.subscribe(forward);
  const timers: NodeJS.Timeout[] = [];
  if (request.allowWatchBookmarks) timers.push(setInterval(() => bookmark(), deps.bookmarkIntervalMs));
  if (request.timeoutSeconds !== undefined && request.timeoutSeconds > 0) {
    timers.push(
      setTimeout(
        () => {
          // The watch cache sends a last bookmark before a watch times out so the client can resume.
          if (request.allowWatchBookmarks) bookmark();
          res.end();
        },
        // Node fires a timer of more than 2^31 − 1 ms at once: a long timeout is held, not lost.
        Math.min(request.timeoutSeconds * 1000, 2 ** 31 - 1),
      ),
    );
  }
  const cleanup = (): void => {
    unsubscribe();
    for (const t of timers) clearTimeout(t);
  };
  res.on('close', cleanup);
  res.on('finish', cleanup);
};
