import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startHarness, type Harness } from './helpers/harness.js';

// A client that sends its request slowly must not hold a connection for as long as it likes.

let h: Harness;
let port: number;
beforeAll(async () => {
  h = await startHarness({ listener: { request_timeout: 1 } });
  await h.server.app.listen({ host: '127.0.0.1', port: 0 });
  port = (h.server.app.server.address() as AddressInfo).port;
});
afterAll(async () => {
  await h?.close();
});

it('answers 408 and closes the connection of a request whose body does not arrive in time', async () => {
  const socket = connect(port, '127.0.0.1');
  const started = Date.now();
  const answer = await new Promise<string>((resolve, reject) => {
    let data = '';
    socket.on('data', (chunk: Buffer) => (data += chunk.toString('latin1')));
    socket.on('close', () => resolve(data));
    socket.on('error', reject);
    socket.write(
      'POST /v1/auth/jwks/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"role":',
    );
    // A byte now and then, never the whole body.
    const drip = setInterval(() => socket.write(' '), 300);
    socket.on('close', () => clearInterval(drip));
  });
  expect(answer).toMatch(/^HTTP\/1\.1 408 /);
  expect(answer).toContain('{"errors":["request timeout"]}');
  expect(Date.now() - started).toBeLessThan(4000);
  // The server still serves.
  const res = await fetch(`http://127.0.0.1:${port}/v1/sys/health/live`);
  expect(res.status).toBe(200);
});
