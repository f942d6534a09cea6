import { signaturesEqual } from '../../../lib/body/chunk-signature';

describe('signaturesEqual', () => {
  const sig = 'ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648';

  it('accepts the same signature, the received one in any case', () => {
    expect(signaturesEqual(sig, sig)).toBe(true);
    expect(signaturesEqual(sig.toUpperCase(), sig)).toBe(true);
  });

  it('rejects a different, shorter, longer, empty or non-hex signature', () => {
    expect(signaturesEqual(`${sig.slice(0, 63)}9`, sig)).toBe(false);
    expect(signaturesEqual(sig.slice(0, 62), sig)).toBe(false);
    expect(signaturesEqual(`${sig}00`, sig)).toBe(false);
    expect(signaturesEqual('', sig)).toBe(false);
    expect(signaturesEqual(`${sig.slice(0, 63)}g`, sig)).toBe(false);
    expect(signaturesEqual(`g${sig.slice(1)}`, `g${sig.slice(1)}`)).toBe(false);
    expect(signaturesEqual(sig, `${sig.slice(0, 63)} `)).toBe(false);
  });
});
