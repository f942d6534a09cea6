import { OspError } from '../../../lib/errors';
import { decodeUriComponentStrict, uriEncode } from '../../../lib/sigv4/uri-encode';

describe('uriEncode', () => {
  it('keeps unreserved characters', () => {
    expect(uriEncode('AZaz09-._~', true)).toBe('AZaz09-._~');
  });
  it.each([
    [' ', '%20'],
    ['+', '%2B'],
    ['(', '%28'],
    [')', '%29'],
    [':', '%3A'],
    ['!', '%21'],
    ['*', '%2A'],
    ["'", '%27'],
    ['=', '%3D'],
    ['&', '%26'],
    ['%', '%25'],
    ['é', '%C3%A9'],
    ['日本', '%E6%97%A5%E6%9C%AC'],
    ['😀', '%F0%9F%98%80'],
  ])('encodes %j as %s', (input, expected) => {
    expect(uriEncode(input, true)).toBe(expected);
    expect(uriEncode(input, false)).toBe(expected);
  });
  it('encodes "/" only when asked', () => {
    expect(uriEncode('a/b c', true)).toBe('a%2Fb%20c');
    expect(uriEncode('a/b c', false)).toBe('a/b%20c');
    expect(uriEncode('a/b', false)).toBe('a/b');
  });
});

describe('decodeUriComponentStrict', () => {
  it('decodes percent sequences and keeps "+" literal', () => {
    expect(decodeUriComponentStrict('a%20b+c%2B')).toBe('a b+c+');
    expect(decodeUriComponentStrict('caf%c3%a9')).toBe('café');
    expect(decodeUriComponentStrict('plain')).toBe('plain');
  });
  it.each(['%', '%2', '%zz', 'a%G1', '%C3', '%FF', '%ED%A0%80'])('rejects %j with InvalidURI', (bad) => {
    let err: unknown;
    try {
      decodeUriComponentStrict(bad);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(OspError);
    expect((err as OspError).s3Code).toBe('InvalidURI');
    expect((err as OspError).status).toBe(400);
  });
});
