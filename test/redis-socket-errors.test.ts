import type { Socket } from 'node:net';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { connectRedis } from '../src/store/redis-connection.js';
import { startRedis, type RedisServer } from './helpers/redis-server.js';

/*
 * ioredis listens for one 'error' per socket: a second one (a TLS server's alert, then the reset
 * after it) was thrown as an unhandled 'error' event and ended the process. Every socket its
 * connectors open now keeps a listener of its own (src/store/redis-stream-guard.ts).
 */

let redis: RedisServer;
const clients: Redis[] = [];

beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  for (const c of clients) c.disconnect();
  await redis?.stop();
});

/** The socket of `client`'s current connection (ioredis keeps it as `stream`). */
const socketOf = (client: Redis) => (client as unknown as { stream: Socket }).stream;

describe('a Redis connection whose socket fails twice', () => {
  it('does not throw the second error, and the client connects again and serves', async () => {
    const client = connectRedis({ url: redis.url }) as Redis;
    clients.push(client);
    client.on('error', () => undefined);
    await vi.waitFor(() => expect(client.status).toBe('ready'), { timeout: 5000 });
    const socket = socketOf(client);
    expect(() => {
      socket.emit(
        'error',
        Object.assign(new Error('tlsv13 alert certificate required'), { code: 'ERR_SSL' }),
      );
      socket.emit('error', Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }));
    }).not.toThrow();
    socket.destroy();
    await vi.waitFor(() => expect(socketOf(client)).not.toBe(socket), { timeout: 5000 });
    await vi.waitFor(() => expect(client.status).toBe('ready'), { timeout: 5000 });
    expect(await client.ping()).toBe('PONG');
  });

  it('holds for the connections a client opens from it (duplicate: the subscriber, the confirmer)', async () => {
    const main = connectRedis({ url: redis.url }) as Redis;
    const copy = main.duplicate();
    clients.push(main, copy);
    for (const c of [main, copy]) c.on('error', () => undefined);
    await vi.waitFor(() => expect(copy.status).toBe('ready'), { timeout: 5000 });
    const socket = socketOf(copy);
    expect(() => {
      socket.emit('error', new Error('first'));
      socket.emit('error', new Error('second'));
    }).not.toThrow();
  });
});
