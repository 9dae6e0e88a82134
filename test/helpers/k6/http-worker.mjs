// The HTTP half of the k6 shim's http module: runs the requests in a worker thread while the script's
// thread blocks on Atomics.wait, so that http.get/post are synchronous as in k6.
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Buffer } from 'node:buffer';
import { workerData } from 'node:worker_threads';

const { port, flag } = workerData;
const done = new Int32Array(flag);

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/** One exchange, following at most `redirects` redirects as k6's client does (maxRedirects). */
const exchange = (req, redirectsLeft, started) =>
  new Promise((resolve) => {
    const url = new URL(req.url);
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const timings = { blocked: 0, connecting: 0, tls_handshaking: 0, sending: 0, waiting: 0, receiving: 0 };
    let sentAt = 0;
    let firstByteAt = 0;
    const r = send(url, { method: req.method, headers: req.headers, timeout: req.timeoutMs }, (res) => {
      firstByteAt = performance.now();
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const end = performance.now();
        const location = res.headers.location;
        if (REDIRECTS.has(res.statusCode ?? 0) && location && redirectsLeft > 0) {
          const method = res.statusCode === 303 ? 'GET' : req.method;
          const next = { ...req, url: new URL(location, url).href, method };
          if (method === 'GET') next.body = undefined;
          resolve(exchange(next, redirectsLeft - 1, started));
          return;
        }
        timings.sending = sentAt ? sentAt - started : 0;
        timings.waiting = firstByteAt - (sentAt || started);
        timings.receiving = end - firstByteAt;
        timings.duration = timings.sending + timings.waiting + timings.receiving;
        const body = Buffer.concat(chunks);
        resolve({
          url: url.href,
          status: res.statusCode ?? 0,
          statusText: `${res.statusCode} ${res.statusMessage ?? ''}`.trim(),
          proto: `HTTP/${res.httpVersion}`,
          headers: res.rawHeaders,
          body: new Uint8Array(body.buffer, body.byteOffset, body.byteLength),
          timings,
        });
      });
      res.on('error', (err) => resolve({ url: url.href, error: String(err), errorCode: 1000, timings }));
    });
    r.on('timeout', () => r.destroy(new Error(`request timeout`)));
    r.on('error', (err) =>
      resolve({
        url: url.href,
        error: `${req.method} ${url.href}: ${err.message}`,
        // k6's codes: 1050 request timeout, 1212 connection refused, 1000 anything else.
        errorCode: err.message === 'request timeout' ? 1050 : err.code === 'ECONNREFUSED' ? 1212 : 1000,
        timings,
      }),
    );
    if (req.body !== undefined) r.write(req.body);
    r.end(() => {
      sentAt = performance.now();
    });
  });

port.on('message', async (req) => {
  let res;
  try {
    res = await exchange(req, req.redirects, performance.now());
  } catch (err) {
    res = { url: req.url, error: String(err), errorCode: 1000 };
  }
  port.postMessage(res);
  Atomics.store(done, 0, 1);
  Atomics.notify(done, 0);
});
