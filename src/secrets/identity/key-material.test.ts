import { describe, expect, it } from 'vitest';
import type { AuthgateError } from '../../errors.js';
import { createSecretCipher } from '../cipher.js';
import { openSigner, privateKeyAad, type StoredKey } from './key-material.js';

describe('a signing key that opens but does not parse', () => {
  it('is refused without its plaintext (the private key) in the cause request.failed logs', async () => {
    const cipher = createSecretCipher(Buffer.alloc(32, 3));
    const d = 'Zq8xW2vLr5TnK0pYb7cHd3Fs';
    // JSON.parse quotes the text around the fault: here the end of the private member.
    const sealed = cipher.seal(`{"kty":"EC","crv":"P-256","d":"${d}","p":x}`, privateKeyAad('web', 'k1'));
    const key = { kid: 'k1', alg: 'ES256', createdAtMs: 0, publicJwk: {}, sealedPrivateJwk: sealed };
    let err: AuthgateError | undefined;
    try {
      await openSigner('web', key as StoredKey, cipher);
    } catch (e) {
      err = e as AuthgateError;
    }
    expect(err).toMatchObject({ code: 'INTERNAL', reason: 'identity_key_unsealable' });
    const cause = err?.cause as Error | undefined;
    const said = [err?.message, err?.detail, cause?.message, cause?.stack].join('\n');
    for (let i = 0; i + 4 <= d.length; i++) expect(said).not.toContain(d.slice(i, i + 4));
  });
});
