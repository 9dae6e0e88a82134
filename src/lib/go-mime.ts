/*
 * Go's `mime.ParseMediaType`, for the one use Vault makes of it: reading a PATCH request's
 * Content-Type (http/logical.go), where any error it returns is the request's 400 with Go's
 * message. Only the media type and the errors are kept; parameter values are not needed.
 */

import { isGoSpace } from './go-space.js';

const trimLeftSpace = (s: string): string => {
  let i = 0;
  while (i < s.length && isGoSpace(s.charCodeAt(i))) i++;
  return s.slice(i);
};
const TSPECIALS = '()<>@,;:\\"/[]?=';
const isTokenChar = (c: string): boolean => {
  const code = c.charCodeAt(0);
  return code > 0x20 && code < 0x7f && !TSPECIALS.includes(c);
};

/** The run of token characters that starts `v`, and what follows it. */
const consumeToken = (v: string): [token: string, rest: string] => {
  let i = 0;
  while (i < v.length && isTokenChar(v[i] as string)) i++;
  return [v.slice(0, i), v.slice(i)];
};

/** A token or a quoted string; `['', v]` when there is neither. */
const consumeValue = (v: string): [value: string, rest: string] => {
  if (v === '') return ['', ''];
  if (v[0] !== '"') return consumeToken(v);
  let value = '';
  for (let i = 1; i < v.length; i++) {
    const c = v[i] as string;
    if (c === '"') return [value, v.slice(i + 1)];
    if (c === '\\' && i + 1 < v.length && TSPECIALS.includes(v[i + 1] as string)) {
      value += v[i + 1];
      i++;
    } else if (c === '\r' || c === '\n') {
      return ['', v];
    } else {
      value += c;
    }
  }
  return ['', v];
};

/** One `; key=value`: its lower-cased key (`''` when there is none), value and the rest. */
const consumeMediaParam = (v: string): [key: string, value: string, rest: string] => {
  let rest = trimLeftSpace(v);
  if (!rest.startsWith(';')) return ['', '', v];
  const [key, afterKey] = consumeToken(trimLeftSpace(rest.slice(1)));
  if (key === '') return ['', '', v];
  rest = trimLeftSpace(afterKey);
  if (!rest.startsWith('=')) return ['', '', v];
  rest = trimLeftSpace(rest.slice(1));
  const [value, after] = consumeValue(rest);
  if (value === '' && after === rest) return ['', '', v];
  return [key.toLowerCase(), value, after];
};

const checkMediaType = (s: string): string | undefined => {
  const [type, rest] = consumeToken(s);
  if (type === '') return 'mime: no media type';
  if (rest === '') return undefined;
  if (!rest.startsWith('/')) return 'mime: expected slash after first token';
  const [subtype, after] = consumeToken(rest.slice(1));
  if (subtype === '') return 'mime: expected token after slash';
  if (after !== '') return 'mime: unexpected content after media subtype';
  return undefined;
};

/**
 * Go's `mime.ParseMediaType(header)`: the media type, lower-cased (`application/json`; a lone
 * token such as `text` is one too), or the error Go returns, with its message
 * (`mime: no media type`, `mime: invalid media parameter`, …). Never throws.
 */
export const parseGoMediaType = (header: string): { mediaType: string } | { error: string } => {
  const semicolon = header.indexOf(';');
  const base = semicolon === -1 ? header : header.slice(0, semicolon);
  const mediaType = base.toLowerCase().trim();
  const invalid = checkMediaType(mediaType);
  if (invalid !== undefined) return { error: invalid };
  const params = new Map<string, Map<string, string>>();
  let v = header.slice(base.length);
  while (v.length > 0) {
    v = trimLeftSpace(v);
    if (v === '') break;
    const [key, value, rest] = consumeMediaParam(v);
    if (key === '') {
      // A trailing semicolon is no error.
      if (rest.trim() === ';') break;
      return { error: 'mime: invalid media parameter' };
    }
    // RFC 2231 continuations (`name*0`) are kept apart from plain parameters, as in Go.
    const star = key.indexOf('*');
    const group = star === -1 ? '' : `${key.slice(0, star)}*`;
    const seen = params.get(group) ?? new Map<string, string>();
    params.set(group, seen);
    // A repeated name is an error unless it repeats the same value.
    const previous = seen.get(key);
    if (previous !== undefined && previous !== value) return { error: 'mime: duplicate parameter name' };
    seen.set(key, value);
    v = rest;
  }
  return { mediaType };
};
