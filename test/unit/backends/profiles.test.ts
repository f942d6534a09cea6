import { BACKEND_PROFILES, resolveProfile } from '../../../lib/backends/profiles';

describe('resolveProfile', () => {
  it('merges an object profile over its preset once: the same option gives the same frozen capabilities', () => {
    const option = { preset: 'minio' as const, forwardHeaders: ['x-minio-extract'] };
    const first = resolveProfile(option);
    expect(first).toEqual({ ...BACKEND_PROFILES.minio, forwardHeaders: ['x-minio-extract'] });
    expect(Object.isFrozen(first)).toBe(true);
    expect(resolveProfile(option)).toBe(first);
  });
  it('another option object with the same content is merged on its own', () => {
    const a = resolveProfile({ preset: 'ceph-rgw' as const, forwardHeaders: ['x-rgw-a'] });
    const b = resolveProfile({ preset: 'ceph-rgw' as const, forwardHeaders: ['x-rgw-b'] });
    expect([a.forwardHeaders, b.forwardHeaders]).toEqual([['x-rgw-a'], ['x-rgw-b']]);
  });
  it('names resolve to the presets themselves', () => {
    expect(resolveProfile('moto')).toBe(BACKEND_PROFILES.moto);
  });
});
