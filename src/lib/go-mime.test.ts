import { describe, expect, it } from 'vitest';
import { parseGoMediaType } from './go-mime.js';

describe('parseGoMediaType', () => {
  it.each([
    ['application/merge-patch+json', 'application/merge-patch+json'],
    ['Application/Merge-Patch+JSON; Charset="UTF-8"', 'application/merge-patch+json'],
    ['  application/json  ', 'application/json'],
    ['application/json;', 'application/json'],
    ['text', 'text'],
    ['a/b; x=1; x=1', 'a/b'],
    ['a/b; x*0=1; x=2', 'a/b'],
    ['a/b; x=""', 'a/b'],
  ])('reads %j as %j, as Go does', (header, mediaType) => {
    expect(parseGoMediaType(header)).toEqual({ mediaType });
  });

  it.each([
    ['', 'mime: no media type'],
    ['   ', 'mime: no media type'],
    ['/json', 'mime: no media type'],
    ['application json', 'mime: expected slash after first token'],
    ['application/', 'mime: expected token after slash'],
    ['application/json x', 'mime: unexpected content after media subtype'],
    ['a/b/c', 'mime: unexpected content after media subtype'],
    ['a/b; charset', 'mime: invalid media parameter'],
    ['a/b; ;', 'mime: invalid media parameter'],
    ['a/b; charset=', 'mime: invalid media parameter'],
    ['a/b; x="unterminated', 'mime: invalid media parameter'],
    ['a/b; =1', 'mime: invalid media parameter'],
    ['a/b; x=1; X=2', 'mime: duplicate parameter name'],
  ])('refuses %j with Go’s message %j', (header, error) => {
    expect(parseGoMediaType(header)).toEqual({ error });
  });
});
