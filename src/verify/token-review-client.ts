import * as http from 'node:http';
import * as https from 'node:https';
import {
  ApiException,
  AuthenticationV1Api,
  CoreV1Api,
  KubeConfig,
  Observable,
  type ObservableMiddleware,
  ResponseContext,
  type V1TokenReviewStatus,
  wrapHttpLibrary,
} from '@kubernetes/client-node';
import { httpGet, httpRequest } from '../lib/http-get.js';
import { trimTrailingSlashes } from '../lib/trim-slashes.js';

/**
 * Bound on a TokenReview answer. A real one is a few KB (it echoes the reviewed token, which the
 * login body already bounds); anything larger is not one, and is not held in memory.
 */
export const MAX_REVIEW_BYTES = 1024 * 1024;

/**
 * The API server answered with a non-2xx status (a TokenReview, or a namespace read). `message` is
 * the `Status.message` when there is one.
 */
export class TokenReviewHttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'TokenReviewHttpError';
  }
}

/**
 * No usable answer: refused connection, timeout, TLS failure, a body over {@link MAX_REVIEW_BYTES}
 * or one that is not a TokenReview.
 */
export class TokenReviewTransportError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TokenReviewTransportError';
  }
}

export type TokenReviewClientOptions = {
  /** Base URL of the API server (`https://…`; `http://` only for the simulator / a local proxy). */
  host: string;
  /** PEM of the cluster CA; undefined = the system roots. */
  caCert: string | undefined;
  /** Abort one call after this many milliseconds. */
  timeoutMs: number;
};

/** The Content-Type of an error answer, as client-node hands the headers over (keys lowercase). */
const contentTypeOf = (headers: Record<string, string> | undefined): string => {
  const value = headers?.['content-type'];
  // Only the media type: a header value is upstream-controlled text too.
  return typeof value === 'string' && value !== '' ? (value.split(';')[0] ?? '').trim().slice(0, 64) : 'none';
};

/**
 * What authgate says about an error answer: the `message` of a Kubernetes `Status` body, else only
 * the status and content type. Why never the raw body: a proxy's or a misbehaving API server's
 * error page may echo the request, and the request is a TokenReview holding the login JWT.
 */
const statusMessage = (
  status: number,
  body: unknown,
  headers: Record<string, string> | undefined,
): string => {
  let parsed = body;
  if (typeof body === 'string') {
    try {
      parsed = JSON.parse(body);
    } catch {
      parsed = undefined;
    }
  }
  const message = (parsed as { kind?: unknown; message?: unknown } | null | undefined)?.message;
  if ((parsed as { kind?: unknown } | null | undefined)?.kind === 'Status' && typeof message === 'string') {
    return message;
  }
  return `HTTP ${status} with a body that is not a Kubernetes Status (content-type ${contentTypeOf(headers)})`;
};

/** The request's connection was closed or reset under it before an answer came. */
const connectionReset = (err: unknown): boolean => {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'ECONNRESET' || code === 'EPIPE';
};

/**
 * A thin wrapper of @kubernetes/client-node's `AuthenticationV1Api.createTokenReview` (and
 * `CoreV1Api.readNamespace`, for roles with a namespace selector) for one API server. The bearer is chosen per call (a rotated reviewer token, or the login JWT itself), so it
 * is set by a per-call middleware rather than baked into the KubeConfig; that middleware also
 * installs the timeout signal. The requests go out through client-node's `httpApi` hook on
 * node:http(s) with one keep-alive agent (client-node would build a fresh agent, hence a fresh
 * TLS handshake, per request), and not through its node-fetch: node-fetch follows redirects
 * (a 307 or 308 re-sends the review, the login JWT in it, to wherever it points) and reads a body
 * of any size.
 */
export const createTokenReviewClient = (options: TokenReviewClientOptions) => {
  const host = trimTrailingSlashes(options.host);
  const plainHttp = host.startsWith('http:');
  const kc = new KubeConfig();
  kc.loadFromOptions({
    // client-node refuses http:// unless skipTLSVerify is set; for http there is no TLS to skip.
    clusters: [
      {
        name: 'authgate',
        server: host,
        skipTLSVerify: plainHttp,
        ...(options.caCert !== undefined ? { caData: Buffer.from(options.caCert).toString('base64') } : {}),
      },
    ],
    users: [{ name: 'authgate' }],
    contexts: [{ name: 'authgate', cluster: 'authgate', user: 'authgate' }],
    currentContext: 'authgate',
  });
  const api = kc.makeApiClient(AuthenticationV1Api);
  const core = kc.makeApiClient(CoreV1Api);
  const agent = plainHttp
    ? new http.Agent({ keepAlive: true })
    : new https.Agent({ keepAlive: true, ...(options.caCert !== undefined ? { ca: options.caCert } : {}) });

  const httpApi = wrapHttpLibrary({
    async send(ctx) {
      const body = ctx.getBody();
      const res = await httpRequest(ctx.getUrl(), {
        method: ctx.getHttpMethod(),
        headers: ctx.getHeaders(),
        body: typeof body === 'string' ? body : undefined,
        agent,
        signal: ctx.getSignal(),
        maxBytes: MAX_REVIEW_BYTES,
      });
      // The body is read whole (and bounded) before client-node looks at it, whatever the status,
      // so the keep-alive socket is free again even for the 401 whose body client-node ignores.
      return new ResponseContext(res.status, res.headers, {
        text: async () => res.body,
        binary: async () => Buffer.from(res.body),
      });
    },
  });

  const perCall = (bearer: string, signal: AbortSignal): ObservableMiddleware => ({
    pre: (ctx) => {
      ctx.setHeaderParam('Authorization', `Bearer ${bearer}`);
      ctx.setSignal(signal);
      return new Observable(Promise.resolve(ctx));
    },
    post: (res) => new Observable(Promise.resolve(res)),
  });

  /**
   * One call as `bearer` within `timeoutMs`, sent once more on a new connection when the first is
   * reset before any answer: a keep-alive connection that the API server (or a load balancer on
   * the way) closed while it sat idle is reset when the next call goes out on it, and both calls
   * made here (a TokenReview, a namespace read) change nothing. Rejects with
   * {@link TokenReviewHttpError} for a non-2xx status and {@link TokenReviewTransportError}
   * when there is no usable answer.
   */
  const call = async <T>(
    bearer: string,
    send: (options: Parameters<CoreV1Api['readNamespace']>[1]) => Promise<T>,
  ): Promise<T> => {
    const signal = AbortSignal.timeout(options.timeoutMs);
    const opts = {
      middleware: [perCall(bearer, signal)],
      middlewareMergeStrategy: 'replace' as const,
      httpApi,
    };
    try {
      try {
        return await send(opts);
      } catch (err) {
        if (signal.aborted || !connectionReset(err)) throw err;
        return await send(opts);
      }
    } catch (err) {
      if (err instanceof TokenReviewTransportError) throw err;
      if (err instanceof ApiException) {
        const apiErr = err as ApiException<unknown>;
        throw new TokenReviewHttpError(apiErr.code, statusMessage(apiErr.code, apiErr.body, apiErr.headers));
      }
      if (signal.aborted) {
        throw new TokenReviewTransportError(`no answer within ${options.timeoutMs} ms`, { cause: err });
      }
      if (err instanceof SyntaxError) {
        // JSON.parse quotes the start of what it could not parse: a 2xx body that is not JSON
        // may be a proxy page echoing the request, which holds the token. Neither the message
        // nor the error itself (it would be logged as the cause) is kept.
        throw new TokenReviewTransportError('the API server answered with a body that is not valid JSON');
      }
      // Messages of transport errors name the URL and the socket error, never the token.
      throw new TokenReviewTransportError((err as Error).message, { cause: err });
    }
  };

  return {
    /**
     * POSTs one TokenReview of `token` for `audiences` as `bearer`. Resolves the review's status
     * (which may say "not authenticated": that is an answer, not an error). Rejects as
     * {@link call} does, and with {@link TokenReviewTransportError} for a 2xx that holds no
     * TokenReview status.
     */
    async review(token: string, audiences: string[], bearer: string): Promise<V1TokenReviewStatus> {
      const result = await call(bearer, (opts) =>
        api.createTokenReview(
          {
            body: {
              apiVersion: 'authentication.k8s.io/v1',
              kind: 'TokenReview',
              spec: { token, ...(audiences.length > 0 ? { audiences } : {}) },
            },
          },
          opts,
        ),
      );
      // Every TokenReview answer has a status, the one saying "not authenticated" too: a 2xx
      // without one (a proxy's page, `{}`) says nothing about the token and is no refusal.
      const status: unknown = result?.status;
      if (typeof status !== 'object' || status === null || Array.isArray(status)) {
        throw new TokenReviewTransportError('the API server answered with a body that is not a TokenReview');
      }
      return status;
    },

    /**
     * GETs namespace `name` as `bearer` and resolves its labels (`{}` when it has none), or
     * undefined when the API server answers 404 (no such namespace). Rejects as {@link call}
     * does, and with {@link TokenReviewTransportError} for a 2xx that is not a Namespace whose
     * labels are strings.
     */
    async readNamespaceLabels(name: string, bearer: string): Promise<Record<string, string> | undefined> {
      let namespace;
      try {
        namespace = await call(bearer, (opts) => core.readNamespace({ name }, opts));
      } catch (err) {
        if (err instanceof TokenReviewHttpError && err.status === 404) return undefined;
        throw err;
      }
      const labels: unknown = namespace?.metadata?.labels ?? {};
      if (
        namespace?.metadata?.name !== name ||
        typeof labels !== 'object' ||
        labels === null ||
        Object.values(labels).some((v) => typeof v !== 'string')
      ) {
        throw new TokenReviewTransportError('the API server answered with a body that is not the namespace');
      }
      return labels as Record<string, string>;
    },

    /**
     * Resolves when the API server answers HTTP at all (any status below 500) to
     * `GET /.well-known/openid-configuration` within `timeoutMs`: a TokenReview-free reachability
     * probe that works with or without RBAC for discovery. Rejects otherwise.
     */
    async probe(bearer: string | undefined): Promise<void> {
      const res = await httpGet(`${host}/.well-known/openid-configuration`, {
        timeoutMs: options.timeoutMs,
        maxBytes: 64 * 1024,
        agent,
        ...(bearer !== undefined ? { headers: { authorization: `Bearer ${bearer}` } } : {}),
      });
      if (res.status >= 500) throw new Error(`API server answered HTTP ${res.status}`);
    },

    close(): void {
      agent.destroy();
    },
  };
};
export type TokenReviewClient = ReturnType<typeof createTokenReviewClient>;
