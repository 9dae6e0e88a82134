import { describe, expect, it } from 'vitest';
import { isAuthgateError } from '../errors.js';
import { deriveKey } from '../lib/hash.js';
import { openRecord, parseRecord, sealRecord, serializeRecord, type TokenRecord } from './record.js';

const macKey = deriveKey(Buffer.alloc(32, 7), 'authgate token record');
const record: TokenRecord = {
  v: 1,
  accessor: 'a'.repeat(24),
  policies: ['app', 'default'],
  metadata: { role: 'nginx' },
  displayName: 'kubernetes-test-nginx',
  path: 'auth/kubernetes/login',
  entityId: 'e',
  role: 'nginx',
  mountPath: 'kubernetes',
  boundCidrs: [],
  issueTimeMs: 1_000,
  expireTimeMs: 601_000,
  lastRenewalTimeMs: null,
  creationTtlSeconds: 600,
  leaseTtlSeconds: 600,
  ttlSeconds: 600,
  maxTtlSeconds: 0,
  explicitMaxTtlSeconds: 0,
  periodSeconds: 0,
  numUses: 0,
  usesNotAfterMs: null,
  mount: { defaultLeaseTtlSeconds: 3600, maxLeaseTtlSeconds: 7200 },
};

describe('sealed token records', () => {
  const sealed = sealRecord(macKey, 'ag:token:one', record);

  it('open under the key they were sealed for, to the record', () => {
    expect(openRecord(macKey, 'ag:token:one', sealed)).toEqual(record);
  });

  it('are read by a reader of the unsigned format (a replica not yet upgraded), mac ignored', () => {
    // parseRecord is what the reader before sealing applied to the stored value as it is.
    expect(parseRecord(sealed)).toEqual({ ...record, mac: expect.stringMatching(/^[\w-]{43}$/) });
  });

  it('do not open under another key, with another MAC key, changed, unsigned or cut', () => {
    expect(openRecord(macKey, 'ag:token:two', sealed)).toBeUndefined();
    expect(
      openRecord(deriveKey(Buffer.alloc(32, 8), 'authgate token record'), 'ag:token:one', sealed),
    ).toBeUndefined();
    expect(openRecord(macKey, 'ag:token:one', sealed.replace('"default"', '"root"'))).toBeUndefined();
    expect(openRecord(macKey, 'ag:token:one', serializeRecord(record))).toBeUndefined();
    expect(openRecord(macKey, 'ag:token:one', sealed.slice(0, -1))).toBeUndefined();
    expect(openRecord(macKey, 'ag:token:one', '')).toBeUndefined();
    expect(
      openRecord(
        macKey,
        'ag:token:one',
        'not json at all, but long enough to hold a seal: ' + 'x'.repeat(60),
      ),
    ).toBeUndefined();
    // A MAC moved in front of the record: the format is exact.
    const mac = sealed.slice(-45, -2);
    expect(
      openRecord(macKey, 'ag:token:one', `{"mac":"${mac}",${serializeRecord(record).slice(1)}`),
    ).toBeUndefined();
  });
});

describe('a token record that does not parse', () => {
  it('is refused without quoting the record (its accessor) in the detail that is logged and audited', () => {
    const accessor = 'Zq8xW2vLr5TnK0pYb7cHd3Fs';
    // JSON.parse quotes the text around the fault: here, the end of the accessor.
    const raw = `{"v":1,"accessor":"${accessor}","p":x}`;
    let err: unknown;
    try {
      parseRecord(raw);
    } catch (e) {
      err = e;
    }
    expect(isAuthgateError(err) && err.reason).toBe('token_record_corrupt');
    const said = isAuthgateError(err) ? `${err.message} ${err.detail ?? ''}` : '';
    for (let i = 0; i + 4 <= accessor.length; i++) expect(said).not.toContain(accessor.slice(i, i + 4));
  });
});
