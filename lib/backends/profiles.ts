/**
 * Backend capability profiles: what each S3 implementation accepts, so the proxy can present every
 * client's request in a form the backend takes. Sources: each vendor's S3 compatibility docs and
 * our own measurements against the real servers (see test/e2e and BACKENDS notes in the README).
 */

/** What a backend accepts. */
export interface BackendCapabilities {
  /**
   * Accepts `STREAMING-UNSIGNED-PAYLOAD-TRAILER` bodies (aws-chunked with a checksum trailer and no
   * chunk signatures) — then they are forwarded as they are and the backend stores the checksum.
   * Otherwise the proxy decodes them, verifies the checksum itself and sends a plain body.
   */
  unsignedPayloadTrailer: boolean;
  /** Rejects DeleteObjects without `Content-MD5` (newer SDKs send a CRC32 instead); the proxy adds it. */
  deleteObjectsRequiresContentMd5: boolean;
  /**
   * Verifies `x-amz-content-sha256` against the body. When false, the proxy verifies the hash itself
   * while streaming, and cuts the upload before its last byte on a mismatch.
   */
  verifiesPayloadHash: boolean;
  /**
   * Verifies `x-amz-checksum-*` request headers (CRC32, CRC32C, CRC64NVME, SHA1, SHA256) against
   * the body. When false, the proxy verifies them while streaming, as for the payload hash.
   */
  verifiesChecksumHeaders: boolean;
  /**
   * Vendor request headers (neither `x-amz-*` nor standard S3 headers) this backend may receive
   * from clients: exact lowercase names or prefixes ending in `*`. Forwarded only when the client
   * signed them (SigV4); every other vendor header is dropped (lib/s3/forwarded-headers.ts).
   * Headers a backend reserves for its own components (`x-minio-internal-*`, `x-backend-*`, …)
   * are never forwarded. @default none (`ibm-cos`: COS's client headers)
   */
  forwardHeaders?: readonly string[];
}

/**
 * IBM COS's client API headers: the service instance and Key Protect root key of CreateBucket
 * (https://cloud.ibm.com/docs/cloud-object-storage?topic=cloud-object-storage-compatibility-api-bucket-operations)
 * and Immutable Object Storage retention on PutObject.
 */
const IBM_COS_HEADERS: readonly string[] = Object.freeze([
  'ibm-service-instance-id',
  'ibm-sse-kp-encryption-algorithm',
  'ibm-sse-kp-customer-root-key-crn',
  'retention-period',
  'retention-expiration-date',
  'retention-legal-hold-id',
]);
const NONE: readonly string[] = Object.freeze([]);

/** Named presets. */
export type BackendProfileName = 'aws' | 'ceph-rgw' | 'swift' | 'minio' | 'garage' | 'ibm-cos' | 'moto';

export const BACKEND_PROFILES: Readonly<Record<BackendProfileName, Readonly<BackendCapabilities>>> = Object.freeze({
  // Amazon S3: the reference (https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html).
  aws: { unsignedPayloadTrailer: true, deleteObjectsRequiresContentMd5: false, verifiesPayloadHash: true, verifiesChecksumHeaders: true, forwardHeaders: NONE },
  // Ceph RGW 16 (measured): 400 on trailer modes, 411 without Content-Length, strict hash checks.
  'ceph-rgw': { unsignedPayloadTrailer: false, deleteObjectsRequiresContentMd5: false, verifiesPayloadHash: true, verifiesChecksumHeaders: false, forwardHeaders: NONE },
  // OpenStack Swift s3api 2.30 (measured): 501 on aws-chunked, 400 on DeleteObjects without Content-MD5.
  swift: { unsignedPayloadTrailer: false, deleteObjectsRequiresContentMd5: true, verifiesPayloadHash: true, verifiesChecksumHeaders: false, forwardHeaders: NONE },
  // MinIO: requires Content-MD5 (or a checksum it knows) on DeleteObjects; supports trailers (MinIO docs, 2023+).
  minio: { unsignedPayloadTrailer: true, deleteObjectsRequiresContentMd5: true, verifiesPayloadHash: true, verifiesChecksumHeaders: true, forwardHeaders: NONE },
  // Garage: supports streaming signatures; trailer support is recent, so we decode to be safe.
  garage: { unsignedPayloadTrailer: false, deleteObjectsRequiresContentMd5: false, verifiesPayloadHash: true, verifiesChecksumHeaders: false, forwardHeaders: NONE },
  // IBM COS: bearer-token requests carry no chunk signatures; send plain bodies.
  'ibm-cos': { unsignedPayloadTrailer: false, deleteObjectsRequiresContentMd5: true, verifiesPayloadHash: true, verifiesChecksumHeaders: false, forwardHeaders: IBM_COS_HEADERS },
  // moto 5 (measured): accepts every mode but checks no hash, so the proxy checks.
  moto: { unsignedPayloadTrailer: true, deleteObjectsRequiresContentMd5: false, verifiesPayloadHash: false, verifiesChecksumHeaders: false, forwardHeaders: NONE },
});

/** The conservative default for unknown backends: decode everything, add Content-MD5, trust nothing. */
export const DEFAULT_PROFILE: Readonly<BackendCapabilities> = Object.freeze({
  unsignedPayloadTrailer: false,
  deleteObjectsRequiresContentMd5: true,
  verifiesPayloadHash: false,
  verifiesChecksumHeaders: false,
  forwardHeaders: NONE,
});

/** A profile option: a preset name, overrides on the default, or a preset with overrides. */
export type BackendProfileOption = BackendProfileName | (Partial<BackendCapabilities> & { preset?: BackendProfileName });

/** Resolves a profile option into full capabilities. */
/** Object profiles already merged: the stages ask per request (body plan, forwarded headers, authorize's cache key). */
const mergedProfiles = new WeakMap<object, Readonly<BackendCapabilities>>();

export function resolveProfile(option: BackendProfileOption | undefined): Readonly<BackendCapabilities> {
  if (option === undefined) return DEFAULT_PROFILE;
  if (typeof option === 'string') return BACKEND_PROFILES[option];
  let merged = mergedProfiles.get(option);
  if (merged === undefined) {
    const { preset, ...overrides } = option;
    merged = Object.freeze({ ...(preset ? BACKEND_PROFILES[preset] : DEFAULT_PROFILE), ...overrides });
    mergedProfiles.set(option, merged);
  }
  return merged;
}

export function isProfileName(value: unknown): value is BackendProfileName {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(BACKEND_PROFILES, value);
}
