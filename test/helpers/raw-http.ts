import { connect } from 'node:net';
import { recordSecrets } from './audit.js';

/**
 * A GET sent byte for byte as written (no URL normalization: `..`, `#` and encodings reach the
 * server as they are, unlike with fetch or inject), with a client token. Resolves the status; a
 * `"token"` in the answer is recorded for the audit secrets scan.
 */
export const rawGetStatus = (port: number, target: string, token: string): Promise<number> =>
  new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(
        `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Vault-Token: ${token}\r\nConnection: close\r\n\r\n`,
      );
    });
    let head = '';
    socket.on('data', (d: Buffer) => {
      head += d.toString('latin1');
    });
    socket.on('error', reject);
    socket.on('end', () => {
      const body = head.slice(head.indexOf('\r\n\r\n') + 4);
      recordSecrets(/"token":"([^"]+)"/.exec(body)?.[1]);
      resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0));
    });
  });

/** What came back on a raw connection before the server ended it. */
export type RawAnswer = { status: number; headers: Record<string, string>; body: string };

/** Options of a raw exchange. */
export type RawOptions = {
  /** The peer address the server sees (any of 127.0.0.0/8 on Linux). */
  localAddress?: string;
  /** Ends the client's side after sending. */
  halfClose?: boolean;
  /** Rejects when the server has not ended the connection by then, in ms. Default: no limit. */
  timeoutMs?: number;
};

/**
 * Sends `chunks` on one new connection, byte for byte (a pause between chunks, so each arrives
 * on its own), then resolves every byte the server wrote before it ended the connection (FIN). A
 * reset before any answer rejects; one after an answer (the server closed with bytes of the
 * request unread) resolves what came.
 */
const exchange = (port: number, chunks: Array<string | Buffer>, options: RawOptions): Promise<Buffer> =>
  new Promise((resolve, reject) => {
    const socket = connect({
      port,
      host: '127.0.0.1',
      ...(options.localAddress ? { localAddress: options.localAddress } : {}),
    });
    const received: Buffer[] = [];
    const timer =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            socket.destroy();
            reject(new Error(`no end of the answer within ${options.timeoutMs} ms`));
          }, options.timeoutMs);
    const done = (settle: () => void) => {
      clearTimeout(timer);
      socket.destroy();
      settle();
    };
    socket.on('connect', () => {
      void (async () => {
        for (const [i, chunk] of chunks.entries()) {
          if (i > 0) await new Promise((r) => setTimeout(r, 50));
          if (socket.destroyed) return;
          socket.write(chunk);
        }
        if (options.halfClose === true) socket.end();
      })();
    });
    socket.on('data', (d: Buffer) => received.push(d));
    socket.on('error', (err) =>
      done(() => (received.length > 0 ? resolve(Buffer.concat(received)) : reject(err))),
    );
    socket.on('end', () => done(() => resolve(Buffer.concat(received))));
  });

/** The status line and headers (lower-cased names) of a response head. */
const parseHead = (head: string): { status: number; headers: Record<string, string> } => {
  const [line = '', ...fields] = head.split('\r\n');
  const headers: Record<string, string> = {};
  for (const f of fields) {
    const colon = f.indexOf(':');
    headers[f.slice(0, colon).toLowerCase()] = f.slice(colon + 1).trim();
  }
  return { status: Number(/^HTTP\/1\.1 (\d{3})/.exec(line)?.[1] ?? 0), headers };
};

/**
 * Sends `chunks` on one new connection (see {@link RawOptions}) and reads until the server ends
 * it: the first answer's status and headers, and every byte after its head as the body (latin1;
 * a pipelined answer's bytes too). A `"token"` in the body is recorded for the audit secrets scan.
 */
export const rawExchange = async (
  port: number,
  chunks: Array<string | Buffer>,
  options: RawOptions = {},
): Promise<RawAnswer> => {
  const raw = (await exchange(port, chunks, options)).toString('latin1');
  const split = raw.indexOf('\r\n\r\n');
  const body = raw.slice(split + 4);
  recordSecrets(/"(?:client_)?token":"([^"]+)"/.exec(body)?.[1]);
  return { ...parseHead(raw.slice(0, split)), body };
};

/**
 * One request, as `rawExchange` sends it, read as an HTTP client reads its answer: interim 1xx
 * answers (`100 Continue`) skipped, a chunked body decoded, the body as UTF-8. `head` is the
 * answer's head as received; every `"token"` in the body is recorded for the audit secrets scan.
 * Rejects an answer shorter than its Content-Length (the connection ended or was reset first).
 */
export const rawRequest = async (
  port: number,
  request: string | Buffer,
  options: RawOptions = {},
): Promise<RawAnswer & { head: string }> => {
  let raw = await exchange(port, [request], options);
  for (;;) {
    const split = raw.indexOf('\r\n\r\n');
    if (split === -1) return { status: 0, headers: {}, body: raw.toString('utf8'), head: '' };
    const answerHead = raw.toString('latin1', 0, split);
    const { status, headers } = parseHead(answerHead);
    raw = raw.subarray(split + 4);
    if (status >= 100 && status < 200) continue;
    const bytes = headers['transfer-encoding'] === 'chunked' ? dechunk(raw) : raw;
    // A HEAD's answer says the length of the body it does not send.
    const method = typeof request === 'string' ? request.slice(0, 5) : request.toString('latin1', 0, 5);
    const length = method === 'HEAD ' ? 0 : Number(headers['content-length'] ?? bytes.length);
    if (bytes.length < length)
      throw new Error(`the answer was cut short: ${bytes.length} of ${length} bytes`);
    const body = bytes.toString('utf8');
    for (const m of body.matchAll(/"(?:client_)?token":"([^"]+)"/g)) recordSecrets(m[1]);
    return { status, headers, body, head: answerHead };
  }
};

/** A chunked body's data (trailers dropped); what follows a malformed chunk is left out. */
const dechunk = (raw: Buffer): Buffer => {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const eol = raw.indexOf('\r\n', at);
    const size = eol === -1 ? NaN : parseInt(raw.toString('latin1', at, eol), 16);
    if (!(size > 0)) return Buffer.concat(parts);
    parts.push(raw.subarray(eol + 2, eol + 2 + size));
    at = eol + 2 + size + 2;
  }
};
