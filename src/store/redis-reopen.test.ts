import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { reopenWhenEnded } from './redis-reopen.js';

// A client whose every connection attempt fails before a socket exists (tls.connect throws on a
// key it cannot read): ioredis ends it at each attempt, and never tries again by itself.
const failing = () => {
  const client = new Redis({
    host: '127.0.0.1',
    port: 1,
    tls: { cert: 'not a certificate', key: 'not a key' },
  });
  client.on('error', () => undefined);
  const ends = { count: 0 };
  client.on('end', () => ends.count++);
  return { client, ends };
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const clients: Redis[] = [];
afterEach(() => {
  for (const c of clients.splice(0)) c.disconnect();
});

describe('reopenWhenEnded', () => {
  it('connects again, and again, a client ioredis ended', async () => {
    const { client, ends } = failing();
    clients.push(client);
    const reopener = reopenWhenEnded(client);
    // The first end, then that of each attempt since (after 100 ms, then 200 ms more).
    const deadline = Date.now() + 3000;
    while (ends.count < 3 && Date.now() < deadline) await sleep(20);
    expect(ends.count).toBe(3);
    reopener.stop();
  });

  it('tells of each end, and opens nothing again once stopped', async () => {
    const { client, ends } = failing();
    clients.push(client);
    const told: number[] = [];
    const reopener = reopenWhenEnded(client, () => told.push(ends.count));
    await sleep(50);
    expect(ends.count).toBe(1);
    expect(told).toEqual([1]);
    reopener.stop();
    await sleep(300);
    expect(ends.count).toBe(1);
    expect(client.status).toBe('end');
  });
});
