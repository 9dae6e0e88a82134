// k6/http for the k6 shim (tests only): the calls of k6 v1.x's documented API that loadtest/k6 uses,
// synchronous as in k6 (a worker thread does the I/O while this thread waits on Atomics.wait), with
// k6's Response shape, Params, responseCallback / expectedStatuses and http_req_failed semantics.
// https://grafana.com/docs/k6/latest/javascript-api/k6-http/
import { Buffer } from 'node:buffer';
import { MessageChannel, Worker, receiveMessageOnPort } from 'node:worker_threads';
import { parseK6Duration } from '../duration.mjs';
import { currentTags, requireVUContext, state } from '../state.mjs';

const flag = new SharedArrayBuffer(4);
const done = new Int32Array(flag);
const { port1: port, port2 } = new MessageChannel();
const worker = new Worker(new URL('../http-worker.mjs', import.meta.url), {
  workerData: { port: port2, flag },
  transferList: [port2],
});
worker.unref();
port.unref();

/** The Params keys k6 documents. k6 ignores any other key silently; the shim refuses it (a typo). */
const PARAMS = new Set([
  'auth',
  'cookies',
  'headers',
  'jar',
  'redirects',
  'tags',
  'timeout',
  'compression',
  'responseType',
  'responseCallback',
]);

const EXPECTED = Symbol('k6 expectedStatuses');

/**
 * http.expectedStatuses(...statuses): integers or {min, max}; the only kind of responseCallback k6
 * accepts (Params.responseCallback and http.setResponseCallback).
 */
export const expectedStatuses = (...statuses) => {
  const ranges = statuses.map((s, i) => {
    if (Number.isInteger(s)) return { min: s, max: s };
    if (s && typeof s === 'object' && Number.isInteger(s.min) && Number.isInteger(s.max)) {
      return { min: s.min, max: s.max };
    }
    throw new Error(
      `argument number ${i + 1} to expectedStatuses was neither an integer nor an object like {min:100, max:329}`,
    );
  });
  return Object.freeze({ [EXPECTED]: ranges });
};

const DEFAULT_CALLBACK = expectedStatuses({ min: 200, max: 399 });

const checkCallback = (cb, where) => {
  if (cb === null || (cb && typeof cb === 'object' && EXPECTED in cb)) return cb;
  throw new Error(`${where}: only http.expectedStatuses(...) or null is supported as a response callback`);
};

/** http.setResponseCallback(callback): this VU's default for requests without their own. */
export const setResponseCallback = (cb) => {
  state.responseCallbacks.set(state.vu?.id ?? 0, checkCallback(cb, 'setResponseCallback'));
};

/** Go's http.CanonicalHeaderKey: content-type → Content-Type. */
const canonical = (name) =>
  name
    .split('-')
    .map((w) => (w ? w[0].toUpperCase() + w.slice(1).toLowerCase() : w))
    .join('-');

/** A GJSON path (k6's Response.json(selector)): dotted keys and array indexes; '\' escapes. */
const gjson = (value, path) => {
  if (/[*?#|@!=<>()[\]{}]/.test(path.replace(/\\./g, ''))) {
    throw new Error(
      `k6 shim: GJSON selector ${JSON.stringify(path)} uses syntax the shim does not implement`,
    );
  }
  const parts = [];
  let cur = '';
  for (let i = 0; i < path.length; i++) {
    if (path[i] === '\\' && i + 1 < path.length) cur += path[++i];
    else if (path[i] === '.') {
      parts.push(cur);
      cur = '';
    } else cur += path[i];
  }
  parts.push(cur);
  let v = value;
  for (const p of parts) {
    if (Array.isArray(v) && /^\d+$/.test(p)) v = v[Number(p)];
    else if (v !== null && typeof v === 'object' && !Array.isArray(v) && Object.hasOwn(v, p)) v = v[p];
    else return undefined;
    if (v === undefined) return undefined;
  }
  return v;
};

const encodeBody = (body, headers) => {
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'string') return Buffer.from(body);
  if (body instanceof ArrayBuffer) return Buffer.from(body);
  if (ArrayBuffer.isView(body)) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  if (typeof body === 'object') {
    // k6 sends an object as a form, application/x-www-form-urlencoded unless the script says otherwise.
    if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) {
      headers['Content-Type'] = 'application/x-www-form-urlencoded';
    }
    return Buffer.from(
      Object.entries(body)
        .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
        .join('&'),
    );
  }
  throw new Error(`unsupported request body type ${typeof body}`);
};

/** http.request(method, url, body, params): k6's synchronous request. */
export const request = (method, url, body, params) => {
  requireVUContext('Making http requests');
  if (typeof url !== 'string') throw new Error(`k6 shim: the URL must be a string, got ${typeof url}`);
  const p = params ?? {};
  if (typeof p !== 'object') throw new Error('params must be an object');
  for (const key of Object.keys(p)) {
    if (!PARAMS.has(key)) {
      throw new Error(
        `k6 shim: unknown http Params key ${JSON.stringify(key)} (k6 would ignore it silently)`,
      );
    }
  }
  const headers = {};
  for (const [k, v] of Object.entries(p.headers ?? {})) {
    if (v === undefined || v === null) continue;
    headers[canonical(k)] = String(v);
  }
  const payload = encodeBody(body, headers);
  if (!('User-Agent' in headers)) headers['User-Agent'] = 'k6/1.0.0 (https://k6.io/)';
  if (payload !== undefined) headers['Content-Length'] = String(payload.byteLength);
  const callback =
    'responseCallback' in p
      ? checkCallback(p.responseCallback, 'responseCallback')
      : (state.responseCallbacks.get(state.vu?.id ?? 0) ?? DEFAULT_CALLBACK);
  const responseType = p.responseType ?? 'text';
  if (!['text', 'binary', 'none'].includes(responseType)) {
    throw new Error(`invalid responseType ${JSON.stringify(responseType)}`);
  }
  const tags = p.tags ?? {};
  for (const [k, v] of Object.entries(tags)) {
    if (typeof v === 'object' && v !== null) throw new Error(`invalid value for tag ${k}: an object`);
  }
  const timeoutMs = p.timeout === undefined ? 60_000 : parseK6Duration(p.timeout);

  Atomics.store(done, 0, 0);
  port.postMessage({ method, url, headers, body: payload, timeoutMs, redirects: p.redirects ?? 10 });
  if (Atomics.wait(done, 0, 0, timeoutMs + 10_000) === 'timed-out') {
    throw new Error(`k6 shim: no answer from the HTTP worker for ${method} ${url}`);
  }
  const raw = receiveMessageOnPort(port)?.message;
  if (!raw) throw new Error(`k6 shim: the HTTP worker answered nothing for ${method} ${url}`);

  const resHeaders = {};
  for (let i = 0; i < (raw.headers ?? []).length; i += 2) {
    const k = canonical(raw.headers[i]);
    resHeaders[k] = k in resHeaders ? `${resHeaders[k]}, ${raw.headers[i + 1]}` : raw.headers[i + 1];
  }
  const status = raw.status ?? 0;
  const bytes = raw.body ? Buffer.from(raw.body) : undefined;
  const resBody =
    raw.error || responseType === 'none'
      ? null
      : responseType === 'binary'
        ? bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)
        : bytes.toString('utf8');
  const expected =
    callback === null ? undefined : callback[EXPECTED].some((r) => status >= r.min && status <= r.max);
  const reqTags = {
    ...currentTags(),
    ...tags,
    method,
    url: tags.name ?? url,
    name: tags.name ?? url,
    status: String(status),
    ...(expected === undefined ? {} : { expected_response: String(expected) }),
  };
  const textBody = typeof resBody === 'string' ? resBody : '';
  state.requests.push({
    method,
    url,
    status,
    tags: reqTags,
    failed: expected === undefined ? undefined : !expected,
    error: raw.error ?? '',
    body: textBody.slice(0, 300),
  });

  let cachedJSON;
  const response = {
    status,
    status_text: raw.statusText ?? '',
    proto: raw.proto ?? '',
    url: raw.url ?? url,
    body: resBody,
    headers: resHeaders,
    cookies: {},
    error: raw.error ?? '',
    error_code: raw.error ? raw.errorCode : status >= 400 && status < 600 ? 1000 + status : 0,
    timings: raw.timings ?? {},
    request: {
      method,
      url,
      headers: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])),
      body: payload?.toString() ?? '',
      cookies: {},
    },
    /** k6: no selector parses the body (throws on bad JSON); a selector is a GJSON path. */
    json(selector) {
      if (this.body === null) {
        throw new Error(
          "the body is null so we can't transform it to JSON - this likely was because of a request error getting the response",
        );
      }
      const text = typeof this.body === 'string' ? this.body : Buffer.from(this.body).toString('utf8');
      if (selector !== undefined) {
        let parsed;
        try {
          parsed = JSON.parse(text);
        } catch {
          return undefined;
        }
        return gjson(parsed, String(selector));
      }
      if (cachedJSON === undefined) cachedJSON = JSON.parse(text);
      return cachedJSON;
    },
    html() {
      throw new Error('k6 shim: Response.html() is not implemented');
    },
  };
  return response;
};

const bodyless = (method) => (url, params) => request(method, url, null, params);
const withBody = (method) => (url, body, params) => request(method, url, body, params);

export const get = bodyless('GET');
export const head = bodyless('HEAD');
export const post = withBody('POST');
export const put = withBody('PUT');
export const patch = withBody('PATCH');
export const del = withBody('DELETE');
export const options = withBody('OPTIONS');

export default {
  request,
  get,
  head,
  post,
  put,
  patch,
  del,
  options,
  expectedStatuses,
  setResponseCallback,
};
