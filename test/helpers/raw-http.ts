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
