import { isAnonymous, refuseAnonymous } from '../../../lib/auth/anonymous-requests';

describe('refuseAnonymous', () => {
  const q = (...names: string[]) => names.map((name) => ({ name, value: 'x' }));
  it('refuses anonymous ListBuckets with 403 AccessDenied', () => {
    expect(refuseAnonymous({ authMethod: 'anonymous', bucket: undefined, query: [] })).toMatchObject({ status: 403, s3Code: 'AccessDenied' });
  });
  it.each(['response-content-type', 'response-content-language', 'response-expires', 'response-cache-control', 'response-content-disposition', 'response-content-encoding'])(
    'refuses %s on an anonymous request with 400 InvalidRequest',
    (name) => {
      expect(refuseAnonymous({ authMethod: 'anonymous', bucket: 'b', query: q('versionId', name) })).toMatchObject({ status: 400, s3Code: 'InvalidRequest' });
    },
  );
  it('lets other anonymous requests and every signed one through', () => {
    expect(refuseAnonymous({ authMethod: 'anonymous', bucket: 'b', query: q('versionId', 'response') })).toBeUndefined();
    expect(refuseAnonymous({ authMethod: 'header', bucket: 'b', query: q('response-content-type') })).toBeUndefined();
    expect(refuseAnonymous({ authMethod: 'query', bucket: undefined, query: [] })).toBeUndefined();
    expect(refuseAnonymous({ authMethod: 'preflight', bucket: 'b', query: q('response-content-type') })).toBeUndefined();
  });
});

describe('isAnonymous', () => {
  it('is true for unsigned requests and for your own auth marking the caller anonymous (setOspIdentity(req, null))', () => {
    expect(isAnonymous({ authMethod: 'anonymous', identity: null })).toBe(true);
    expect(isAnonymous({ authMethod: 'external', identity: null })).toBe(true);
  });
  it('is false for any identified caller and for preflights and development mode', () => {
    expect(isAnonymous({ authMethod: 'external', identity: 'user:1' })).toBe(false);
    expect(isAnonymous({ authMethod: 'header', identity: 'AK' })).toBe(false);
    expect(isAnonymous({ authMethod: 'preflight', identity: null })).toBe(false);
    expect(isAnonymous({ authMethod: 'skipped', identity: null })).toBe(false);
  });
  it('refuses anonymous ListBuckets of your own auth too', () => {
    expect(refuseAnonymous({ authMethod: 'external', identity: null, bucket: undefined, query: [] })).toMatchObject({ status: 403, s3Code: 'AccessDenied' });
  });
});
