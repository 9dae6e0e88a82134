import { describe, expect, it } from 'vitest';
import { errorResponse, listStart, listUrl, parseListHead, serializeResponse } from './list-method.js';

const head = (text: string) => parseListHead(Buffer.from(text, 'latin1'), 1024);

describe('listStart', () => {
  it.each([
    ['a LIST alone', 'LIST /v1/x HTTP/1.1\r\n\r\n', 2, 0],
    ['a LIST after a pipelined GET', 'GET / HTTP/1.1\r\n\r\nLIST /v1/x HTTP/1.1\r\n\r\n', 20, 18],
    ['another unknown method', 'LISTEN /v1/x HTTP/1.1\r\n\r\n', 2, -1],
    ['garbage', 'BLAH\r\n\r\n', 1, -1],
    ['a LIST whose start was in an earlier chunk', 'ST /v1/x HTTP/1.1\r\n\r\n', 0, -1],
  ])('finds where %s starts', (_name, packet, bytesParsed, start) => {
    expect(listStart(Buffer.from(packet, 'latin1'), bytesParsed)).toBe(start);
  });
});

describe('parseListHead', () => {
  it('reads the target and headers, dropping hop-by-hop ones and combining repeats as Node does', () => {
    expect(
      head(
        'LIST /v1/secret/metadata/a HTTP/1.1\r\nHost: h\r\nUser-Agent: u\r\nUser-Agent: v\r\n' +
          // The token Vault reads: the first X-Vault-Token.
          'X-Vault-Token: t\r\nX-Vault-Token: t2\r\n' +
          'Accept: a\r\naccept: b\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\nGET / HTTP/1.1\r\n',
      ),
    ).toEqual({
      kind: 'list',
      request: {
        url: '/v1/secret/metadata/a?list=true',
        headers: { host: 'h', 'user-agent': 'u', 'x-vault-token': 't', accept: 'a, b' },
      },
    });
  });

  it.each([
    ['foo', 'foo', 'refused'],
    ['a list of expectations without 100-continue', 'a, b', 'refused'],
    ['100-continue in another case', '100-Continue', 'list'],
    ['an empty one', '', 'list'],
  ])('answers an Expect of %s as Node answers another request', (_name, value, kind) => {
    expect(head(`LIST /v1/x HTTP/1.1\r\nHost: h\r\nExpect: ${value}\r\n\r\n`)).toMatchObject(
      kind === 'list'
        ? { kind }
        : { kind, status: 417, message: 'expectation failed: only "100-continue" is supported' },
    );
  });

  it('trims the spaces and tabs around a value, keeps those inside, and refuses a line that is no field', () => {
    expect(head('LIST /v1/x HTTP/1.1\r\nHost: h\r\nX-A: \t a  b \t\r\nX-B:\r\n\r\n')).toMatchObject({
      kind: 'list',
      request: { headers: { 'x-a': 'a  b', 'x-b': '' } },
    });
    for (const field of [': x', 'X A: y', ' X-A: y', 'X-A y'])
      expect(head(`LIST /v1/x HTTP/1.1\r\nHost: h\r\n${field}\r\n\r\n`), field).toMatchObject({
        kind: 'refused',
      });
  });

  it('reads a header of half a megabyte of spaces in one pass (a regular expression took minutes)', () => {
    // `:[ \t]*(.*?)[ \t]*$` backtracked over the run, quadratic in it: 16 KB cost 140 ms, this
    // size minutes, past the test's own time limit. Read in one pass, the value is `x y`.
    const field = `X-A:x${' '.repeat(512 * 1024)}y`;
    const parsed = parseListHead(Buffer.from(`LIST /v1/x HTTP/1.1\r\nHost: h\r\n${field}\r\n\r\n`), 1 << 20);
    expect(parsed).toMatchObject({ kind: 'list' });
    expect(parsed.kind === 'list' && parsed.request.headers['x-a']?.length).toBe(512 * 1024 + 2);
  });

  it('accepts HTTP/1.0 without a Host', () => {
    expect(head('LIST /v1/x HTTP/1.0\r\n\r\n')).toMatchObject({ kind: 'list' });
  });

  it('refuses two Host headers, as Go’s server', () => {
    expect(head('LIST /v1/x HTTP/1.0\r\nHost: h\r\nhost: other\r\n\r\n')).toEqual({
      kind: 'refused',
      status: 400,
      message: 'too many Host headers',
    });
  });

  it('refuses a Host no host or port could be, as Go’s server; takes an IPv6 literal and a port', () => {
    for (const host of ['a b', 'x/y', 'h\u00e9', '"h"']) {
      expect(head(`LIST /v1/x HTTP/1.1\r\nHost: ${host}\r\n\r\n`)).toEqual({
        kind: 'refused',
        status: 400,
        message: 'malformed Host header',
      });
    }
    expect(head('LIST /v1/x HTTP/1.1\r\nHost: [::1]:8200\r\n\r\n')).toMatchObject({ kind: 'list' });
  });

  it('waits for the end of the head, within the limit', () => {
    expect(head('LIST /v1/x HTTP/1.1\r\nHost: h\r\n')).toEqual({ kind: 'incomplete' });
    expect(head(`LIST /v1/x HTTP/1.1\r\nX: ${'a'.repeat(1100)}`)).toMatchObject({
      kind: 'refused',
      status: 431,
    });
    expect(head(`LIST /v1/x HTTP/1.1\r\nX: ${'a'.repeat(1100)}\r\n\r\n`)).toMatchObject({ status: 431 });
  });

  it.each([
    ['an absolute-form target', 'LIST http://h/v1/x HTTP/1.1\r\nHost: h\r\n\r\n'],
    ['another version', 'LIST /v1/x HTTP/2.0\r\nHost: h\r\n\r\n'],
    ['a space in the target', 'LIST /v1/x y HTTP/1.1\r\nHost: h\r\n\r\n'],
    ['a folded header', 'LIST /v1/x HTTP/1.1\r\nHost: h\r\n folded\r\n\r\n'],
    ['a header without a colon', 'LIST /v1/x HTTP/1.1\r\nHost: h\r\nnocolon\r\n\r\n'],
    ['a control character in a value', 'LIST /v1/x HTTP/1.1\r\nHost: h\r\nX: a\x01b\r\n\r\n'],
    ['no Host in HTTP/1.1', 'LIST /v1/x HTTP/1.1\r\nX-Vault-Token: t\r\n\r\n'],
    ['a Content-Length', 'LIST /v1/x HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\n{}'],
    ['a Transfer-Encoding', 'LIST /v1/x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'],
  ])('refuses %s with 400, quoting nothing', (_name, text) => {
    const answer = head(text);
    expect(answer).toMatchObject({ kind: 'refused', status: 400 });
    expect(JSON.stringify(answer)).not.toMatch(/: t\b|h\/v1/);
  });
});

describe('listUrl', () => {
  it.each([
    ['/v1/secret/metadata/a', '/v1/secret/metadata/a?list=true'],
    ['/v1/secret/metadata/a/?', '/v1/secret/metadata/a/?list=true'],
    ['/v1/sys/policies/acl?list=false', '/v1/sys/policies/acl?list=true'],
    ['/v1/x?a=1&li%73t=0&list&b=2', '/v1/x?a=1&b=2&list=true'],
    ['/v1/x?%zz=1', '/v1/x?%zz=1&list=true'],
  ])('serves LIST %s as GET %s', (target, url) => {
    expect(listUrl(target)).toBe(url);
  });
});

describe('serializeResponse', () => {
  it('frames the answer with Content-Length and Connection: close, in place of the served framing', () => {
    const bytes = serializeResponse(
      {
        statusCode: 404,
        headers: {
          'content-type': 'application/json',
          connection: 'keep-alive',
          'content-length': 99,
          x: ['1', '2'],
        },
        rawPayload: Buffer.from('{"errors":[]}'),
      },
      Date.UTC(2026, 0, 1),
    ).toString('latin1');
    expect(bytes).toBe(
      'HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\nx: 1\r\nx: 2\r\n' +
        'Date: Thu, 01 Jan 2026 00:00:00 GMT\r\nContent-Length: 13\r\nConnection: close\r\n\r\n{"errors":[]}',
    );
  });

  it('writes Vault errors as {"errors":[...]}', () => {
    const text = errorResponse(431, 'request header fields too large', 0).toString('latin1');
    expect(text).toMatch(/^HTTP\/1\.1 431 Request Header Fields Too Large\r\n/);
    expect(text.endsWith('\r\n\r\n{"errors":["request header fields too large"]}')).toBe(true);
  });
});
