import { describe, expect, it } from 'vitest';
import { goCleanPath } from './go-clean-path.js';

describe('goCleanPath', () => {
  it.each([
    ['/v1/auth/token/lookup-self', '/v1/auth/token/lookup-self'],
    ['/v1/auth//token/lookup-self', '/v1/auth/token/lookup-self'],
    ['/v1//auth///token/lookup-self', '/v1/auth/token/lookup-self'],
    ['/v1/secret/metadata/', '/v1/secret/metadata/'],
    ['/v1/secret/metadata//', '/v1/secret/metadata/'],
    ['/v1/secret/./data/x', '/v1/secret/data/x'],
    ['/v1/secret/data/x/.', '/v1/secret/data/x'],
    ['/v1/secret/data/x/./', '/v1/secret/data/x/'],
    ['/v1/x/../sys/health', '/v1/sys/health'],
    ['/v1/x/..', '/v1'],
    ['/v1/../../..', '/'],
    ['/v1/%2e%2e/x', '/v1/%2e%2e/x'],
    ['/v1/..a/.b/...', '/v1/..a/.b/...'],
    ['/', '/'],
    ['//', '/'],
  ])('cleans %s to %s, as Go’s ServeMux', (raw, cleaned) => {
    expect(goCleanPath(raw)).toBe(cleaned);
  });
});
