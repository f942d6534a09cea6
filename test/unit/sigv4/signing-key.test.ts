// The raw module object (a namespace import is read-only), so that jest can spy on createHmac.
// eslint-disable-next-line @typescript-eslint/no-require-imports
import nodeCrypto = require('node:crypto');
import { createHmac, KeyObject } from 'node:crypto';
import { clearSigningKeyCache, getSigningKey, hmacHex, sha256Hex } from '../../../lib/sigv4/signing-key';

describe('signing key', () => {
  beforeEach(() => clearSigningKeyCache());

  it('derives the AWS documentation example key', () => {
    expect(getSigningKey('wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', '20120215', 'us-east-1', 'iam').toString('hex')).toBe('f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d');
  });

  it('caches per (secret, date, region, service)', () => {
    const a = getSigningKey('s', '20240101', 'us-east-1', 's3');
    expect(getSigningKey('s', '20240101', 'us-east-1', 's3')).toBe(a);
    expect(getSigningKey('s', '20240102', 'us-east-1', 's3')).not.toEqual(a);
    expect(getSigningKey('t', '20240101', 'us-east-1', 's3')).not.toEqual(a);
  });

  it('does not confuse tuples whose joined form is equal', () => {
    const k1 = getSigningKey('s', '20240101', 'a|b', 'c');
    const k2 = getSigningKey('s', '20240101', 'a', 'b|c');
    expect(k1.equals(k2)).toBe(false);
    // Without separators: the parts' lengths keep the entries apart.
    const k3 = getSigningKey('s', '20240101', 'ab', 'c');
    const k4 = getSigningKey('s', '20240101', 'a', 'bc');
    const k5 = getSigningKey('s', '2024010', '1ab', 'c');
    expect(k3.equals(k4) || k3.equals(k5) || k4.equals(k5)).toBe(false);
    expect(
      k4.equals(
        createHmac(
          'sha256',
          createHmac('sha256', createHmac('sha256', createHmac('sha256', 'AWS4s').update('20240101').digest()).update('a').digest())
            .update('bc')
            .digest(),
        )
          .update('aws4_request')
          .digest(),
      ),
    ).toBe(true);
  });

  it('keeps working past the cache bound (cleared, not unbounded)', () => {
    const first = getSigningKey('s0', '20240101', 'r', 's3');
    for (let i = 1; i <= 1500; i++) getSigningKey(`s${i}`, '20240101', 'r', 's3');
    const again = getSigningKey('s0', '20240101', 'r', 's3');
    expect(again.equals(first)).toBe(true);
  });

  it('hashes', () => {
    expect(sha256Hex('')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(sha256Hex(Buffer.from('abc'))).toBe(sha256Hex('abc'));
    expect(hmacHex('k', 'é')).toBe(createHmac('sha256', 'k').update('é', 'utf8').digest('hex'));
  });

  it('HMACs with the KeyObject cached beside a signing key, byte-identical to the raw key (issue [11])', () => {
    const key = getSigningKey('wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', '20240101', 'eu-west-1', 's3');
    const spy = jest.spyOn(nodeCrypto, 'createHmac');
    try {
      const viaCache = hmacHex(key, 'AWS4-HMAC-SHA256\nstring to sign é');
      expect(spy.mock.calls[0]?.[1]).toBeInstanceOf(KeyObject);
      // A copy of the bytes is not a cached key: HMAC'd with the Buffer itself.
      const viaBytes = hmacHex(Buffer.from(key), 'AWS4-HMAC-SHA256\nstring to sign é');
      expect(spy.mock.calls[1]?.[1]).toBeInstanceOf(Buffer);
      expect(viaCache).toBe(viaBytes);
      expect(viaCache).toBe(createHmac('sha256', Buffer.from(key)).update('AWS4-HMAC-SHA256\nstring to sign é', 'utf8').digest('hex'));
    } finally {
      spy.mockRestore();
    }
  });
});
