import type { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { InjectOptions } from 'fastify';
import type { Clock } from '../lib/clock.js';
import type { Logger } from '../telemetry/index.js';
import {
  EXPECTATION_FAILED_MESSAGE,
  errorResponse,
  isUnknownMethod,
  listStart,
  parseListHead,
  serializeResponse,
  type ListRequest,
  type ServedResponse,
} from './list-method.js';
import { VAULT_HEADERS } from './vault-errors.js';

/**
 * The error Node gives 'clientError': a parser error carries the chunk it failed on (a Buffer,
 * whatever Fastify's `ConnectionError` type says) and the offset it stopped at.
 */
type ClientError = Error & { code?: unknown; rawPacket?: unknown; bytesParsed?: unknown };

export type ClientErrorDeps = {
  /** Serves a request through the app (`app.inject`), with every hook and route of a normal one. */
  inject: (options: InjectOptions) => Promise<ServedResponse>;
  log: Pick<Logger, 'debug' | 'warn'>;
  clock: Clock;
  /** The most bytes a `LIST` head may have (Node's `maxHeaderSize`, default 16 KiB). */
  maxHeadBytes: number;
  /** How long the rest of a `LIST` head split across packets is waited for, in ms. Default 2000. */
  headWaitMs?: number;
  /** How long an answered connection may stay open for the client to close it, in ms. Default 2000. */
  lingerMs?: number;
  /** How long answers owed to requests pipelined before a LIST are waited for, in ms. Default 30000. */
  pipelineWaitMs?: number;
};

const DEFAULT_LINGER_MS = 2000;

const statusOf = (err: ClientError): [number, string] => {
  switch (err.code) {
    case 'HPE_HEADER_OVERFLOW':
      return [431, 'request header fields too large'];
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return [413, 'request entity too large'];
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return [408, 'request timeout'];
    default:
      return [400, 'malformed HTTP request'];
  }
};

/**
 * The response still being written on this connection, if any: a request pipelined before the
 * failing one. Node's own 'clientError' fallback reads the same field (`socket._httpMessage`,
 * lib/_http_server.js `socketOnError`); it is not public API, so its absence means "none".
 */
const inFlight = (socket: Socket): EventEmitter | undefined => {
  const res = (socket as Socket & { _httpMessage?: (EventEmitter & { writableFinished?: boolean }) | null })
    ._httpMessage;
  return res && res.writableFinished !== true ? res : undefined;
};

/**
 * Runs `act` once no response is being written on the connection: answers to requests pipelined
 * before the failing one go out first, in order (Node assigns the next queued one on 'finish').
 */
const whenIdle = (socket: Socket, act: () => void): void => {
  const pending = inFlight(socket);
  if (pending === undefined) {
    act();
    return;
  }
  let waited = false;
  const next = () => {
    if (waited) return;
    waited = true;
    whenIdle(socket, act);
  };
  pending.once('finish', next);
  pending.once('close', next);
};

/**
 * Writes the last answer of a connection and ends it. A client that ignores `Connection: close`
 * must not hold the socket open: it is destroyed `lingerMs` later. Not at once: unread bytes (a
 * pipelined request) would make the kernel reset the connection and could discard the answer
 * before the client reads it.
 */
const end = (socket: Duplex, bytes: Buffer, lingerMs: number): void => {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  socket.end(bytes);
  const timer = setTimeout(() => socket.destroy(), lingerMs);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
};

/**
 * The server's 'connect' handler. Node hands a CONNECT request (a proxy's tunnel) to this event
 * instead of the app, and drops the connection unanswered when nothing listens. Vault has no
 * CONNECT operation: its bare 405 (`{"errors":[]}`, as for any method it does not know), and the
 * connection ends with it; what follows the head would be tunnel bytes, which nothing reads.
 */
export const createConnectHandler =
  (deps: Pick<ClientErrorDeps, 'clock' | 'lingerMs'>) =>
  (_request: IncomingMessage, socket: Duplex): void =>
    end(socket, errorResponse(405, [], deps.clock.nowMs()), deps.lingerMs ?? DEFAULT_LINGER_MS);

/**
 * The server's 'checkExpectation' handler. Node hands a request whose `Expect` is not
 * `100-continue` to this event instead of the app, and answers a bare 417 (no body, no type)
 * when nothing listens. Go's server (Vault's) serves a request whose `Expect` is empty as if it
 * had none, and refuses any other with 417 before Vault reads it: so `serve` gets the former (as
 * Node's 'request' event would), the latter gets 417 in Vault's shape and the connection ends.
 */
export const createExpectationHandler =
  (serve: (request: IncomingMessage, response: ServerResponse) => void) =>
  (request: IncomingMessage, response: ServerResponse): void => {
    if ((request.headers.expect ?? '').trim() === '') {
      serve(request, response);
      return;
    }
    const body = JSON.stringify({ errors: [EXPECTATION_FAILED_MESSAGE] });
    response.writeHead(417, {
      ...VAULT_HEADERS,
      'content-length': Buffer.byteLength(body),
      connection: 'close',
    });
    response.end(body);
  };

/**
 * The server's 'clientError' handler (Fastify's `clientErrorHandler`), for requests Node's
 * parser refused:
 *
 * - `LIST <path> HTTP/1.x` (Vault's list method, unknown to llhttp) with a complete head and no
 *   body is served as `GET <path>?list=true` through `deps.inject`, with its headers and the
 *   socket's peer address, so that bound CIDRs, ACL, audit and telemetry all apply. A head split
 *   across packets is waited for up to `headWaitMs`.
 * - Another method llhttp does not know, in a well-formed request line (`FOO`, `get`), gets
 *   Vault's bare 405 (`{"errors":[]}`), as Go's server would hand it to Vault.
 * - Anything else (a malformed request line, headers over the limit → 431, a timeout → 408, a
 *   LIST with a body) is answered in Vault's shape, `{"errors":[...]}`.
 *
 * Every answer says `Connection: close` and the connection ends with it: the parser of this
 * connection is in error and reads nothing more. Never throws; never logs the bytes received
 * (they carry the client token).
 */
export const createClientErrorHandler = (deps: ClientErrorDeps) => {
  const headWaitMs = deps.headWaitMs ?? 2000;
  const lingerMs = deps.lingerMs ?? DEFAULT_LINGER_MS;
  const pipelineWaitMs = deps.pipelineWaitMs ?? 30_000;
  // Once a connection is being answered, the parser reports every later chunk as another error.
  const answering = new WeakSet<Socket>();

  /**
   * Writes the answer, after any answer still owed to a request pipelined before it; that one
   * gets `pipelineWaitMs` at most, then the connection is dropped, so that no answer that never
   * comes can hold it.
   */
  const finish = (socket: Socket, bytes: Buffer): void => {
    const timer = setTimeout(() => socket.destroy(), pipelineWaitMs);
    timer.unref();
    whenIdle(socket, () => {
      clearTimeout(timer);
      end(socket, bytes, lingerMs);
    });
  };

  const refuse = (socket: Socket, status: number, message: string): void =>
    finish(socket, errorResponse(status, message, deps.clock.nowMs()));

  const serve = async (socket: Socket, request: ListRequest): Promise<void> => {
    const remoteAddress = socket.remoteAddress;
    if (remoteAddress === undefined) {
      // inject would put 127.0.0.1 in its place, which bound CIDRs and trustProxy would believe.
      refuse(socket, 400, 'malformed HTTP request');
      return;
    }
    let answer: Buffer;
    try {
      const res = await deps.inject({
        method: 'GET',
        url: request.url,
        headers: request.headers,
        // The real peer: bound CIDRs and `trustProxy` read it as they read any request's.
        remoteAddress,
      });
      answer = serializeResponse(res, deps.clock.nowMs());
    } catch (err) {
      // `inject` refuses once the app is closing (as return503OnClosing would).
      deps.log.debug({ event: 'http.list_failed', reason: (err as Error).message }, 'http.list_failed');
      answer = errorResponse(503, 'service unavailable', deps.clock.nowMs());
    }
    finish(socket, answer);
  };

  /** Reads the LIST head (waiting for the rest of it if need be), then serves or refuses it. */
  const answerList = (socket: Socket, first: Buffer): void => {
    let bytes = first;
    let done = false;
    const settle = (): boolean => {
      const head = parseListHead(bytes, deps.maxHeadBytes);
      if (head.kind === 'incomplete') return false;
      done = true;
      if (head.kind === 'refused') refuse(socket, head.status, head.message);
      else
        serve(socket, head.request).catch((err: unknown) => {
          deps.log.warn({ event: 'http.list_failed', reason: (err as Error).message }, 'http.list_failed');
          socket.destroy();
        });
      return true;
    };
    if (settle()) return;
    const stop = () => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onEnd);
    };
    const onData = (chunk: Buffer) => {
      bytes = Buffer.concat([bytes, chunk]);
      if (settle()) stop();
    };
    const onEnd = () => {
      stop();
      if (!done) refuse(socket, 400, 'incomplete HTTP request');
    };
    const timer = setTimeout(onEnd, headWaitMs);
    timer.unref();
    socket.on('data', onData);
    // Before the server's own 'end' handler, which would end the socket unanswered.
    socket.prependListener('end', onEnd);
  };

  const handle = (err: ClientError, socket: Socket): void => {
    if (answering.has(socket)) return;
    // A reset connection has nobody left to answer.
    if (err.code === 'ECONNRESET' || socket.destroyed) return;
    answering.add(socket);
    const packet = Buffer.isBuffer(err.rawPacket) ? err.rawPacket : undefined;
    const parsed = typeof err.bytesParsed === 'number' ? err.bytesParsed : 0;
    const start = err.code === 'HPE_INVALID_METHOD' && packet !== undefined ? listStart(packet, parsed) : -1;
    deps.log.debug(
      { event: 'http.client_error', code: String(err.code), list: start !== -1 },
      'http.client_error',
    );
    if (start !== -1 && packet !== undefined) answerList(socket, packet.subarray(start));
    // Vault's bare 405 for a method it does not serve, as for those Node knows (PROPFIND, TRACE).
    else if (err.code === 'HPE_INVALID_METHOD' && packet !== undefined && isUnknownMethod(packet, parsed))
      answerNow(socket, 405, []);
    else answerNow(socket, ...statusOf(err));
  };

  /**
   * Any other parser error (and the request timeout) is about the request being read. When the
   * answer in flight is that request's own (its body never ended), it will never come: nothing
   * is waited for, as Node's own fallback: the error now, unless that answer has begun, then the
   * connection just ends. (Waiting for it held such a connection forever.) When the request in
   * flight was read whole, the error is about a request pipelined after it: that answer is owed
   * and comes first, as before a LIST.
   */
  const answerNow = (socket: Socket, status: number, message: string | readonly string[]): void => {
    const res = inFlight(socket) as { headersSent?: boolean; req?: { complete?: boolean } } | undefined;
    const bytes = errorResponse(status, message, deps.clock.nowMs());
    if (res?.req?.complete === true) finish(socket, bytes);
    else if (res?.headersSent === true) socket.destroy();
    else end(socket, bytes, lingerMs);
  };

  return (err: Error, socket: Socket): void => {
    try {
      handle(err as ClientError, socket);
    } catch (e) {
      // A bug here must not take the process down with it: drop the connection instead.
      deps.log.warn(
        { event: 'http.client_error_failed', reason: (e as Error).message },
        'http.client_error_failed',
      );
      socket.destroy();
    }
  };
};
