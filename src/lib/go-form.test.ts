import { describe, expect, it } from 'vitest';
import { isFormBody, parseFormBody } from './go-form.js';

describe("Vault's form bodies", () => {
  it.each([
    ['application/x-www-form-urlencoded', 'a=1', true],
    ['APPLICATION/x-www-form-urlencoded; charset=utf-8', 'a=1', true],
    ['application/x-www-form-urlencoded', '  \n\t{"a":1}', false],
    ['application/x-www-form-urlencoded', '[1]', false],
    ['application/x-www-form-urlencoded', '   ', true],
    ['application/x-www-form-urlencoded', `${' '.repeat(512)}{"a":1}`, true],
    ['application/json', 'a=1', false],
    [undefined, 'a=1', false],
    ['application/x-www-form-urlencoded; =', 'a=1', false],
  ])('takes type %j with body %j as a form: %s', (type, body, form) => {
    expect(isFormBody(type, body)).toBe(form);
  });

  it('reads fields as Go does: + a space, %XX a byte, repeats joined with commas', () => {
    expect(parseFormBody('a=1&b=x+y%21&a=2&&c&=e&%C3%A9=%E2%82%AC')).toEqual({
      a: '1,2',
      b: 'x y!',
      c: '',
      '': 'e',
      é: '€',
    });
    expect(Object.keys(parseFormBody('__proto__=x') ?? {})).toEqual(['__proto__']);
  });

  it.each(['a=1;b=2', 'a=%zz', 'a=%4', '%g0=1'])('refuses %j as Go does', (body) => {
    expect(parseFormBody(body)).toBeUndefined();
  });
});
