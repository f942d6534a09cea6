/**
 * object-storage-proxy: public API of the middleware. Every export is listed by name.
 * The standalone server (helmet, pino, prom-client, cluster) lives in `object-storage-proxy/server`,
 * so that middleware users do not load it.
 */
export { ospMiddleware } from './osp-middleware';
export type { OspMiddleware, InvalidateOptions } from './osp-middleware';
export { verifySignature } from './middleware/verify-signature';
export type { VerifySignatureHandler } from './middleware/verify-signature';
export { authorize } from './middleware/authorize';
export type { AuthorizeHandler } from './middleware/authorize';
export { limitPresignedUrlUsage } from './middleware/limit-presigned-usage';
export type { LimitPresignedUsageHandler } from './middleware/limit-presigned-usage';
export { resolveBackend } from './middleware/resolve-backend';
export type { ResolveBackendHandler } from './middleware/resolve-backend';
export { postObject } from './middleware/post-object';
export type { PostObjectHandler, PostObjectStages } from './middleware/post-object';
export { s3Proxy } from './middleware/proxy';
export type { S3ProxyHandler } from './middleware/proxy';
export { s3ErrorHandler, sendS3Error } from './middleware/s3-error-handler';
export type { S3ErrorHandlerOptions } from './middleware/s3-error-handler';
export { setOspIdentity } from './context';
export type { OspRequestContext, ResolvedBackend, BackendCredentials, AuthMethod } from './context';
export { OspError, OspConfigError } from './errors';
export type { S3ErrorCode, OspConfigErrorCode } from './errors';
export type {
  OspOptions,
  BucketConfig,
  BucketResolver,
  BucketResolverContext,
  HmacKey,
  HmacFetcherAnswer,
  BackendHmacCredentials,
  AuthorizeCallback,
  AuthorizeRequest,
  OspLogger,
  OspEventHooks,
  SharedCacheOptions,
} from './options';
export type { PolicyDocument, PolicyStatement, KeyPolicies } from './policy/types';
export type { UsageCounterStore, UsageIncrementOptions } from './cache/usage-store';
export { UsageShareExhaustedError } from './cache/usage-store';
export { createMemoryUsageStore } from './cache/memory-usage-store';
export type { MemoryUsageStore, MemoryUsageStoreOptions } from './cache/memory-usage-store';
export { createMemorySharedStore } from './cache/shared-store';
export type { SharedStateStore, InvalidationMessage, MemorySharedStore } from './cache/shared-store';
export { createRedisStore } from './cache/redis-store';
export type { RedisStore, RedisStoreOptions } from './cache/redis-store';
// Types that appear in the signatures above (issue 12: every type of the public surface is importable).
export type { BackendProfileOption, BackendProfileName, BackendCapabilities } from './backends/profiles';
export type { BackendCredentialSource } from './backends/backend-credentials';
export type { IamTokenProvider } from './backends/iam-token-provider';
export type { BackendAgent } from './upstream/agent';
export type { ChunkSigningContext } from './body/chunk-signature';
export type { UpstreamBodyPlan } from './body/upstream-body';
export type { QueryParam } from './s3/query';
