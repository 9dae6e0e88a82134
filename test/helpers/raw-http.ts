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

/** What came back on a raw connection before the server ended it (FIN; a reset rejects). */
export type RawAnswer = { status: number; headers: Record<string, string>; body: string };

/**
 * Sends `chunks` on one new connection, byte for byte (a pause between chunks, so each arrives
 * on its own), then reads until the server ends it. `localAddress` picks the peer address the
 * server sees (any of 127.0.0.0/8 on Linux); `halfClose` ends the client's side after sending.
 */
export const rawExchange = (
  port: number,
  chunks: string[],
  options: { localAddress?: string; halfClose?: boolean } = {},
): Promise<RawAnswer> =>
  new Promise((resolve, reject) => {
    const socket = connect({
      port,
      host: '127.0.0.1',
      ...(options.localAddress ? { localAddress: options.localAddress } : {}),
    });
    let raw = '';
    socket.on('connect', () => {
      void (async () => {
        for (const [i, chunk] of chunks.entries()) {
          if (i > 0) await new Promise((r) => setTimeout(r, 50));
          socket.write(chunk);
        }
        if (options.halfClose === true) socket.end();
      })();
    });
    socket.on('data', (d: Buffer) => {
      raw += d.toString('latin1');
    });
    socket.on('error', reject);
    socket.on('end', () => {
      socket.destroy();
      const split = raw.indexOf('\r\n\r\n');
      const [line = '', ...fields] = raw.slice(0, split).split('\r\n');
      const headers: Record<string, string> = {};
      for (const f of fields) {
        const colon = f.indexOf(':');
        headers[f.slice(0, colon).toLowerCase()] = f.slice(colon + 1).trim();
      }
      const body = raw.slice(split + 4);
      recordSecrets(/"(?:client_)?token":"([^"]+)"/.exec(body)?.[1]);
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(line)?.[1] ?? 0), headers, body });
    });
  });
