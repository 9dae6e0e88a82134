/**
 * The simulator's HTTP listener: request accounting, injected faults (latency, failures, dropped
 * and refused connections), body reading and Status replies. Routing lives in `routes.ts`.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { badRequest, injectedFault, KubeApiError } from './api-status.js';

/** The API server's request body limit (3 MiB). */
export const MAX_BODY_BYTES = 3 * 1024 * 1024;

/** Fault knobs; plain mutable fields, read on every request. */
export type Faults = {
  /** Added before every request is handled (ms, real time). */
  latencyMs: number;
  /** Answer the next `count` requests with a Status error of `status` (default 500). */
  failNext(count: number, status?: number): void;
  /**
   * Drop the connection of the next `count` requests without an answer (the client sees a reset):
   * what a request meets on a kept-alive connection that the server, or a load balancer on the
   * way, closed while it was idle.
   */
  dropNext(count: number): void;
  /** true: close the listener and every open connection (clients get ECONNREFUSED); false: listen again on the same port. */
  refuseConnections(on: boolean): Promise<void>;
  /** Shifts the simulator's notion of now (minting and reviewing), in seconds; may be negative. */
  clockSkewSeconds: number;
};

/** Request counters. */
export type Stats = {
  /** TokenReviews performed (requests that reached authentication of `spec.token`). */
  tokenReviews: number;
  /** Every request received, including ones failed by a fault. */
  requests: number;
  /** Requests per URL path (without the query). */
  byPath: Record<string, number>;
};

/** Handles one request after faults; may throw `KubeApiError`. */
export type RequestHandler = (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void>;

/** Write a JSON body the way the API server does (`json.Encoder`: trailing newline). */
export const writeJson = (
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void => {
  if (res.destroyed) return;
  // A failure after a stream started (a watch) can only end the stream.
  if (res.headersSent) return void (res.writableEnded || res.end());
  res.writeHead(status, {
    'Content-Type': 'application/json',
    'Cache-Control': 'no-cache, private',
    ...headers,
  });
  res.end(`${JSON.stringify(body)}\n`);
};

/** Write a `KubeApiError` as its Status body. */
export const writeError = (res: ServerResponse, error: KubeApiError): void =>
  writeJson(res, error.code, error.toStatus(), error.headers);

/**
 * Read and parse a JSON body. An empty body parses as `undefined`.
 *
 * @throws KubeApiError 413 over `MAX_BODY_BYTES`, 400 for JSON that does not parse.
 */
export const readJsonBody = async (req: IncomingMessage): Promise<unknown> => {
  const chunks: Buffer[] = [];
  let size = 0;
  // Drain an oversized body rather than abort it, so that the client reliably reads the 413.
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size <= MAX_BODY_BYTES) chunks.push(chunk as Buffer);
  }
  if (size > MAX_BODY_BYTES)
    throw new KubeApiError(
      413,
      'RequestEntityTooLarge',
      `Request entity too large: limit is ${MAX_BODY_BYTES}`,
    );
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw badRequest(`couldn't get version/kind; json parse error: ${(error as Error).message}`);
  }
};

/** A listening simulator server. */
export type SimServer = {
  /** `http://host:port`, fixed once listening (refusing and re-listening keep the port). */
  url: string;
  faults: Faults;
  stats: () => Stats;
  /** Count a TokenReview (called by the route). */
  countTokenReview: () => void;
  close: () => Promise<void>;
};

const listen = (server: Server, port: number, host: string): Promise<number> =>
  new Promise((resolve, reject) => {
    const onError = (error: Error): void => reject(error);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    });
  });

/** Start the listener. `handle` does routing; everything here wraps it. */
export const startSimServer = async (options: {
  host: string;
  port: number;
  handle: RequestHandler;
}): Promise<SimServer> => {
  const stats: Stats = { tokenReviews: 0, requests: 0, byPath: {} };
  let failures = { remaining: 0, status: 500 };
  let drops = 0;
  let refusing = false;
  let closed = false;

  const onRequest = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://simulator');
    } catch {
      url = new URL('http://simulator/');
    }
    stats.requests += 1;
    stats.byPath[url.pathname] = (stats.byPath[url.pathname] ?? 0) + 1;
    try {
      if (faults.latencyMs > 0) await sleep(faults.latencyMs);
      if (drops > 0) {
        drops -= 1;
        req.socket.destroy();
        return;
      }
      if (failures.remaining > 0) {
        failures.remaining -= 1;
        req.resume();
        return writeError(res, injectedFault(failures.status));
      }
      await options.handle(req, res, url);
    } catch (error) {
      const apiError =
        error instanceof KubeApiError
          ? error
          : new KubeApiError(
              500,
              'InternalError',
              `Internal error occurred: ${(error as Error)?.message ?? String(error)}`,
            );
      req.resume();
      writeError(res, apiError);
    }
  };

  const server = createServer((req, res) => void onRequest(req, res));
  // A malformed request never reaches a handler; answer it and move on (never crash).
  server.on('clientError', (_error, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    else socket.destroy();
  });
  const port = await listen(server, options.port, options.host);
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;

  const stop = (): Promise<void> =>
    new Promise((resolve) => {
      if (!server.listening) return resolve();
      server.close(() => resolve());
      server.closeAllConnections();
    });

  const faults: Faults = {
    latencyMs: 0,
    clockSkewSeconds: 0,
    failNext: (count: number, status = 500) => {
      if (!Number.isInteger(count) || count < 0)
        throw new TypeError('failNext: count must be a non-negative integer');
      if (!Number.isInteger(status) || status < 400 || status > 599)
        throw new TypeError('failNext: status must be an HTTP error status (400-599)');
      failures = { remaining: count, status };
    },
    dropNext: (count: number) => {
      if (!Number.isInteger(count) || count < 0)
        throw new TypeError('dropNext: count must be a non-negative integer');
      drops = count;
    },
    refuseConnections: async (on: boolean) => {
      if (closed) throw new TypeError('refuseConnections: the simulator is closed');
      if (on === refusing) return;
      refusing = on;
      if (on) await stop();
      else await listen(server, port, options.host);
    },
  };

  return {
    url: `http://${host}:${port}`,
    faults,
    stats: () => ({ ...stats, byPath: { ...stats.byPath } }),
    countTokenReview: () => {
      stats.tokenReviews += 1;
    },
    close: async () => {
      closed = true;
      await stop();
    },
  };
};
