import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { InjectOptions } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { createClientErrorHandler } from '../src/http/client-errors.js';
import { createFakeClock } from '../src/lib/clock.js';
import { createLogger } from '../src/telemetry/index.js';
import { rawExchange } from './helpers/raw-http.js';

/*
 * The 'clientError' handler on a plain Node server, with a fake `inject`: the timings and
 * failures the composed app cannot be made to show (test/list-method-http.test.ts has the rest).
 */

let server: Server | undefined;
afterEach(async () => {
  await new Promise((resolve) => server?.close(resolve));
  server = undefined;
});

const start = async (inject: (o: InjectOptions) => Promise<never> | ReturnType<typeof ok>) => {
  const seen: InjectOptions[] = [];
  const handler = createClientErrorHandler({
    inject: (o) => {
      seen.push(o);
      return inject(o);
    },
    log: createLogger('silent'),
    clock: createFakeClock(),
    maxHeadBytes: 16_384,
    headWaitMs: 100,
  });
  server = createServer((_req, res) => res.end('plain'));
  server.on('clientError', handler);
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, seen };
};
const ok = async () => ({ statusCode: 200, headers: {}, rawPayload: Buffer.from('{}') });

describe('createClientErrorHandler', () => {
  it('serves LIST as GET ?list=true with the headers and the peer address', async () => {
    const { port, seen } = await start(ok);
    const answer = await rawExchange(port, ['LIST /v1/a HTTP/1.1\r\nHost: h\r\nX-Vault-Token: t\r\n\r\n'], {
      localAddress: '127.0.0.7',
    });
    expect(answer).toMatchObject({ status: 200, body: '{}', headers: { connection: 'close' } });
    expect(seen).toEqual([
      {
        method: 'GET',
        url: '/v1/a?list=true',
        headers: { host: 'h', 'x-vault-token': 't' },
        remoteAddress: '127.0.0.7',
      },
    ]);
  });

  it('gives up on a head that stays incomplete: 400 after the wait', async () => {
    const { port, seen } = await start(ok);
    const t0 = Date.now();
    const answer = await rawExchange(port, ['LIST /v1/a HTTP/1.1\r\nHost: h\r\n']);
    expect(answer).toMatchObject({ status: 400, body: '{"errors":["incomplete HTTP request"]}' });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(90);
    expect(seen).toEqual([]);
  });

  it('answers 503 when the app cannot serve (closing), never throwing', async () => {
    const { port } = await start(() => Promise.reject(new Error('closing')));
    const answer = await rawExchange(port, ['LIST /v1/a HTTP/1.1\r\nHost: h\r\n\r\n']);
    expect(answer).toMatchObject({ status: 503, body: '{"errors":["service unavailable"]}' });
  });

  it('keeps serving other connections after any of these', async () => {
    const { port } = await start(ok);
    await rawExchange(port, ['\x00\x01\x02\r\n\r\n']);
    const plain = await rawExchange(port, ['GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n']);
    expect(plain).toMatchObject({ status: 200, body: 'plain' });
  });
});
