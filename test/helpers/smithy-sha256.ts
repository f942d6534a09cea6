/**
 * SHA-256 / HMAC-SHA-256 for @smithy/signature-v4 on node:crypto, so smithy's SignatureV4 works
 * as an independent signer (the test oracle) without @aws-crypto packages.
 */
import { createHash, createHmac, type Hash as NodeHash, type Hmac } from 'node:crypto';

export class Sha256 {
  private readonly h: NodeHash | Hmac;
  constructor(secret?: unknown) {
    this.h = secret === undefined ? createHash('sha256') : createHmac('sha256', secret as Uint8Array);
  }
  update(data: unknown): void {
    this.h.update(data as Uint8Array);
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.h.digest());
  }
}
