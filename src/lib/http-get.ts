import * as http from 'node:http';
import * as https from 'node:https';

/**
 * What one request returned: the status, the headers (names in lowercase, a repeated header's
 * values joined by `, `) and the body as text (at most `maxBytes`).
 */
export type HttpGetResult = { status: number; headers: Record<string, string>; body: string };

export type HttpGetOptions = {
  /** Abort the request (connect + response) after this many milliseconds. */
  timeoutMs: number;
  /** Refuse a response body larger than this (a JWKS is a few KB; this bounds a hostile one). */
  maxBytes: number;
  /** PEM CA bundle that replaces the system roots for an `https:` URL. Ignored for `http:`. */
  caCert?: string | undefined;
  headers?: Record<string, string>;
  /** Reused agent (keep-alive); default: Node's global agent, or a per-request one with `caCert`. */
  agent?: http.Agent | undefined;
  /** When given, used instead of node:http(s); `caCert` and `agent` are then the caller's business. */
  fetch?: typeof fetch | undefined;
};

/** One request through node:http(s); `signal` aborts it (connect, response and body) as `timeoutMs` does. */
export type HttpRequestOptions = Omit<HttpGetOptions, 'timeoutMs' | 'fetch'> & {
  method: string;
  body?: string | undefined;
  timeoutMs?: number | undefined;
  signal?: AbortSignal | undefined;
};

const headersOf = (res: http.IncomingMessage): Record<string, string> => {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(res.headers)) {
    if (value !== undefined) out[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
};

/*
 * Why node:http(s) and not the global fetch: Node 20's fetch is undici, and trusting a private CA
 * with it needs an undici `Agent` as `dispatcher`, i.e. the `undici` package, which authgate does
 * not depend on. node:https takes `ca` per request, needs nothing more, and talks plain HTTP to a
 * loopback test server as well. Redirects are not followed (a JWKS endpoint that redirects is
 * refused rather than trusted wherever it points; a TokenReview, which carries the login JWT,
 * is never re-sent elsewhere).
 */
const viaNode = (url: URL, options: HttpRequestOptions): Promise<HttpGetResult> =>
  new Promise((resolve, reject) => {
    const lib = url.protocol === 'https:' ? https : url.protocol === 'http:' ? http : undefined;
    if (lib === undefined) {
      reject(new Error(`unsupported URL scheme ${url.protocol}`));
      return;
    }
    const tls = url.protocol === 'https:' && options.caCert !== undefined ? { ca: options.caCert } : {};
    const req = lib.request(url, {
      method: options.method,
      headers: { accept: 'application/json', ...options.headers },
      ...(options.agent !== undefined ? { agent: options.agent } : {}),
      ...(options.signal !== undefined ? { signal: options.signal } : {}),
      ...tls,
    });
    const timer =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(
            () => req.destroy(new Error(`request timed out after ${options.timeoutMs} ms`)),
            options.timeoutMs,
          );
    const fail = (err: Error) => {
      clearTimeout(timer);
      reject(err);
    };
    req.on('error', fail);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > options.maxBytes) {
          req.destroy(new Error(`response larger than ${options.maxBytes} bytes`));
          return;
        }
        chunks.push(chunk);
      });
      res.on('error', fail);
      res.on('end', () => {
        clearTimeout(timer);
        resolve({
          status: res.statusCode ?? 0,
          headers: headersOf(res),
          body: Buffer.concat(chunks).toString('utf8'),
        });
      });
    });
    req.end(options.body);
  });

const viaFetch = async (url: URL, options: HttpGetOptions, fetchFn: typeof fetch): Promise<HttpGetResult> => {
  const res = await fetchFn(url, {
    headers: { accept: 'application/json', ...options.headers },
    redirect: 'manual',
    signal: AbortSignal.timeout(options.timeoutMs),
  });
  const body = await res.text();
  if (Buffer.byteLength(body) > options.maxBytes)
    throw new Error(`response larger than ${options.maxBytes} bytes`);
  return { status: res.status, headers: Object.fromEntries(res.headers), body };
};

/**
 * One HTTP GET with a timeout and a body-size bound. Rejects with a plain `Error` whose message
 * says what went wrong (refused connection, timeout, oversize body, bad scheme); a non-2xx status
 * is NOT an error here, the caller decides.
 */
export const httpGet = (url: string | URL, options: HttpGetOptions): Promise<HttpGetResult> => {
  const parsed = typeof url === 'string' ? new URL(url) : url;
  return options.fetch !== undefined
    ? viaFetch(parsed, options, options.fetch)
    : viaNode(parsed, { ...options, method: 'GET' });
};

/**
 * One request of any method through node:http(s), with the bounds and the refusal of redirects
 * of {@link httpGet}. Rejects as it does; a non-2xx status is not an error.
 */
export const httpRequest = (url: string | URL, options: HttpRequestOptions): Promise<HttpGetResult> =>
  viaNode(typeof url === 'string' ? new URL(url) : url, options);
