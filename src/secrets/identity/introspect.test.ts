import { describe, expect, it } from 'vitest';
import { decodeRegisteredClaims, parseCompactJws, validateRegisteredClaims } from './introspect.js';

const seg = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');

describe("parseCompactJws: go-jose's jwt.ParseSigned", () => {
  it('splits, decodes and reads alg, white space dropped anywhere', () => {
    const token = `${seg({ alg: 'ES256', kid: 'k' })}.${seg({ iss: 'x' })}.AAAA`;
    const parsed = parseCompactJws(` ${token.slice(0, 5)}\n${token.slice(5)}\t`);
    expect(parsed).toMatchObject({ compact: token, alg: 'ES256' });
    expect('payload' in parsed && parsed.payload.toString()).toBe('{"iss":"x"}');
  });

  it('needs three parts', () => {
    for (const t of ['', 'a', 'a.b', 'a.b.c.d']) {
      expect(parseCompactJws(t)).toStrictEqual({
        error: 'go-jose/go-jose: compact JWS format must have three parts',
      });
    }
  });

  it("reports base64 errors at Go's offset, trailing = trimmed", () => {
    expect(parseCompactJws('ab+c.e30.AA')).toStrictEqual({ error: 'illegal base64 data at input byte 2' });
    expect(parseCompactJws('e30.e30.AAAAA')).toStrictEqual({ error: 'illegal base64 data at input byte 4' });
    expect(parseCompactJws('e30=.e30==.AA')).toMatchObject({ alg: '' });
  });

  it('needs the header to be a JSON object, empty or null', () => {
    expect(parseCompactJws(`${seg([1])}.e30.AA`)).toStrictEqual({
      error: 'json: cannot unmarshal array into Go value of type jose.rawHeader',
    });
    expect(parseCompactJws(`${seg('x')}.e30.AA`)).toStrictEqual({
      error: 'json: cannot unmarshal string into Go value of type jose.rawHeader',
    });
    expect(parseCompactJws(`${Buffer.from('{').toString('base64url')}.e30.AA`)).toHaveProperty('error');
    expect(parseCompactJws(`${seg(null)}.e30.AA`)).toMatchObject({ alg: '' });
    expect(parseCompactJws(`.e30.AA`)).toMatchObject({ alg: '' });
    expect(parseCompactJws(`${seg({ alg: 5 })}.e30.AA`)).toMatchObject({ alg: '' });
  });
});

describe("decodeRegisteredClaims: go-jose's jwt.Claims", () => {
  const decode = (v: unknown) => decodeRegisteredClaims(Buffer.from(JSON.stringify(v)));
  it('reads iss, aud as a string or a list, and times truncated to whole seconds', () => {
    expect(decode({ iss: 'i', aud: 'a', exp: 10.9, nbf: 1, iat: 2, sub: 's' })).toStrictEqual({
      iss: 'i',
      aud: ['a'],
      exp: 10,
      nbf: 1,
      iat: 2,
    });
    expect(decode({ aud: ['a', 'b'], exp: null })).toStrictEqual({ aud: ['a', 'b'] });
  });
  it('fails where Go would not decode', () => {
    for (const v of [[], 'x', 1, { iss: 1 }, { aud: 1 }, { aud: ['a', 1] }, { exp: '10' }, { iat: true }]) {
      expect(decode(v)).toBeUndefined();
    }
    expect(decodeRegisteredClaims(Buffer.from('{'))).toBeUndefined();
  });
});

describe("validateRegisteredClaims: go-jose's Validate with its minute of leeway", () => {
  const expected = { issuer: 'i', nowMs: 1_000_000 };
  const failed = 'go-jose/go-jose/jwt: validation failed';
  it('checks iss, then aud, then nbf, exp, iat, in that order', () => {
    const all = { iss: 'j', aud: ['b'], nbf: 2000, exp: 1, iat: 2000 };
    const v = (c: object, audience?: string) =>
      validateRegisteredClaims({ ...all, ...c }, { ...expected, ...(audience ? { audience } : {}) });
    expect(v({})).toBe(`${failed}, invalid issuer claim (iss)`);
    expect(v({ iss: 'i' }, 'a')).toBe(`${failed}, invalid audience claim (aud)`);
    expect(v({ iss: 'i' })).toBe(`${failed}, token not valid yet (nbf)`);
    expect(v({ iss: 'i', nbf: 1060 })).toBe(`${failed}, token is expired (exp)`);
    expect(v({ iss: 'i', nbf: 1060, exp: 940 })).toBe(
      'go-jose/go-jose/jwt: validation field, token issued in the future (iat)',
    );
    expect(v({ iss: 'i', nbf: 1060, exp: 940, iat: 1060 })).toBeUndefined();
    expect(v({ iss: 'i', nbf: 1060, exp: 940, iat: 1060, aud: ['x', 'a'] }, 'a')).toBeUndefined();
  });
  it('compares times to the millisecond, as Go compares time.Time: a token is expired half a second past its leeway', () => {
    const at = (nowMs: number) => validateRegisteredClaims({ iss: 'i', exp: 940 }, { issuer: 'i', nowMs });
    expect(at(1_000_000)).toBeUndefined();
    expect(at(1_000_500)).toBe(`${failed}, token is expired (exp)`);
    const notYet = (nowMs: number) =>
      validateRegisteredClaims({ iss: 'i', nbf: 1060, iat: 1000 }, { issuer: 'i', nowMs });
    expect(notYet(999_500)).toBe(`${failed}, token not valid yet (nbf)`);
    expect(notYet(1_000_000)).toBeUndefined();
  });
  it('needs the issuer even when the token has none', () => {
    expect(validateRegisteredClaims({}, expected)).toBe(`${failed}, invalid issuer claim (iss)`);
  });
});
