import { describe, expect, it } from 'vitest';
import { AuthgateError } from '../errors.js';
import { createTokenService } from './token-service.js';
import { issueInput, rejection, setup } from './test-support.js';

describe('listAccessors', () => {
  const withLimit = (maxListedTokens: number) => {
    const { store, keys, clock } = setup();
    return createTokenService({ store, keys, clock, serverKey: Buffer.alloc(32, 7), maxListedTokens });
  };

  it('lists up to maxListedTokens live tokens, and refuses the list whole past it (400)', async () => {
    const tokens = withLimit(2);
    const issued = [await tokens.issue(issueInput()), await tokens.issue(issueInput())];
    expect(await tokens.listAccessors()).toEqual(issued.map((t) => t.accessor).sort());
    await tokens.issue(issueInput());
    const err = await rejection(tokens.listAccessors());
    expect(err).toBeInstanceOf(AuthgateError);
    expect(err).toMatchObject({
      status: 400,
      reason: 'accessor_list_too_large',
      message:
        'too many tokens to list (more than 2): revoke by identity with auth/token/revoke-identity instead',
    });
  });

  it('refuses a maxListedTokens that is not a whole number ≥ 1 when the service is made', () => {
    for (const bad of [0, -1, 1.5, Number.NaN]) expect(() => withLimit(bad)).toThrow(TypeError);
  });

  it('leaves out a token whose record expired, even while the store still holds it', async () => {
    const storeClock = setup().clock;
    const { tokens, clock } = setup({ storeClock });
    const short = await tokens.issue(issueInput({ ttlSeconds: 60 }));
    const long = await tokens.issue(issueInput({ ttlSeconds: 600 }));
    clock.advanceMs(61_000);
    expect(await tokens.listAccessors()).toEqual([long.accessor]);
    expect(short.accessor).not.toBe(long.accessor);
  });
});
