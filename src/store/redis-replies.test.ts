import { ReplyError } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { isTransient } from './redis-replies.js';

const reply = (message: string): Error => new ReplyError(message) as Error;

describe('which Redis errors mean "cannot serve now" (a 503)', () => {
  it('counts a refusal raised inside a script as the refusal, as Redis before 7.0 nests it', () => {
    // Redis 6.2 wraps an error of redis.call() in ERR; 7.0 passes its code through.
    const nested = (inner: string) =>
      reply(`ERR Error running script (call to f_0123abcd): @user_script:30: @user_script: 30: -${inner}`);
    expect(isTransient(nested("OOM command not allowed when used memory > 'maxmemory'."))).toBe(true);
    expect(isTransient(nested("READONLY You can't write against a read only replica."))).toBe(true);
    expect(
      isTransient(reply("READONLY You can't write against a read only replica. script: f_0123abcd")),
    ).toBe(true);
  });

  it('leaves a script error that is a bug a bug', () => {
    expect(
      isTransient(
        reply(
          'ERR Error running script (call to f_0123abcd): @user_script:3: @user_script: 3: -WRONGTYPE Operation against a key holding the wrong kind of value',
        ),
      ),
    ).toBe(false);
    expect(
      isTransient(
        reply(
          'ERR Error running script (call to f_0123abcd): @user_script:3: user_script:3: attempt to compare nil with number',
        ),
      ),
    ).toBe(false);
    expect(isTransient(reply('WRONGTYPE Operation against a key holding the wrong kind of value'))).toBe(
      false,
    );
    expect(isTransient(reply('ERR value is not an integer or out of range'))).toBe(false);
  });

  it('counts connection and timeout errors, and the refusals of a Redis that cannot serve', () => {
    expect(isTransient(new Error('Command timed out'))).toBe(true);
    for (const code of ['LOADING', 'MASTERDOWN', 'CLUSTERDOWN', 'TRYAGAIN', 'NOAUTH', 'NOPERM'])
      expect(isTransient(reply(`${code} something`))).toBe(true);
    expect(isTransient('not an error')).toBe(false);
  });
});
