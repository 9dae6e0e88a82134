import { describe, expect, it } from 'vitest';
import { createLimiter, createSingleFlight } from './single-flight.js';

describe('createSingleFlight', () => {
  it('runs one call for concurrent callers of one key and forgets it once settled', async () => {
    const sf = createSingleFlight<number>();
    let calls = 0;
    const fn = async () => {
      calls++;
      await new Promise((r) => setTimeout(r, 10));
      return 7;
    };
    const results = await Promise.all(Array.from({ length: 20 }, () => sf.run('k', fn)));
    expect(results.every((r) => r === 7)).toBe(true);
    expect(calls).toBe(1);
    await sf.run('k', fn);
    expect(calls).toBe(2);
  });

  it('does not remember an error', async () => {
    const sf = createSingleFlight<number>();
    await expect(sf.run('k', () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(sf.run('k', () => Promise.resolve(1))).resolves.toBe(1);
  });
});

describe('createLimiter', () => {
  it('never runs more than the limit at once and rejects past the queue bound', async () => {
    const limiter = createLimiter(2, 3, () => new Error('overflow'));
    let peak = 0;
    const task = async () => {
      peak = Math.max(peak, limiter.running);
      await new Promise((r) => setTimeout(r, 5));
    };
    const runs = Array.from({ length: 5 }, () => limiter.run(task));
    await expect(limiter.run(task)).rejects.toThrow('overflow');
    await Promise.all(runs);
    expect(peak).toBe(2);
  });

  it('hands a freed slot to the first waiter, not to a caller arriving in between', async () => {
    const limiter = createLimiter(1, 5, () => new Error('overflow'));
    const order: string[] = [];
    let peak = 0;
    const task = (name: string) => async () => {
      order.push(name);
      peak = Math.max(peak, limiter.running);
      await new Promise((r) => setTimeout(r, 1));
    };
    let finish!: () => void;
    const first = limiter.run(() => new Promise<void>((r) => (finish = r)));
    const waiter = limiter.run(task('waiter'));
    finish();
    // A caller whose turn comes right after the first task's slot is given back (another
    // login's continuation in the same microtask run): it must queue behind the waiter.
    const newcomer = Promise.resolve().then(() => limiter.run(task('newcomer')));
    await Promise.all([first, waiter, newcomer]);
    expect(order).toEqual(['waiter', 'newcomer']);
    expect(peak).toBe(1);
  });
});

describe('createLimiter with a bounded wait', () => {
  it('rejects a caller given no slot in time, removes it from the queue, and keeps the order of the rest', async () => {
    const limiter = createLimiter(1, 5, () => new Error('overflow'), {
      ms: 20,
      onTimeout: () => new Error('no slot in time'),
    });
    let finish!: () => void;
    const holder = limiter.run(() => new Promise<void>((r) => (finish = r)));
    const starved = limiter.run(async () => 'ran');
    await expect(starved).rejects.toThrow('no slot in time');
    expect(limiter.queued).toBe(0);
    // The slot is still held by the first task; a caller queued now runs once it is freed.
    const next = limiter.run(async () => 'next');
    finish();
    await holder;
    await expect(next).resolves.toBe('next');
    expect(limiter.running).toBe(0);
  });

  it('never rejects a caller once granted a slot, however long its own task takes', async () => {
    const limiter = createLimiter(1, 5, () => new Error('overflow'), {
      ms: 10,
      onTimeout: () => new Error('no slot in time'),
    });
    const first = limiter.run(() => new Promise((r) => setTimeout(() => r('first'), 5)));
    const second = limiter.run(() => new Promise((r) => setTimeout(() => r('second'), 30)));
    await expect(Promise.all([first, second])).resolves.toEqual(['first', 'second']);
  });
});
