/**
 * The library entry of `embed-batch` (`import { createEmbedder } from 'embed-batch'`).
 *
 * What a data team's Node code needs to embed texts with the same rate
 * limiting, retries and offline fallback as the command line, the object
 * stores the job reads and writes through, the typed errors it throws, and
 * the shapes of what it writes (usage report, manifest). Everything here is
 * public API: the rest of `dist/` is not reachable through `exports`.
 *
 * @packageDocumentation
 */

export {
  type CreatedEmbedder,
  type CreateEmbedderOptions,
  createEmbedder,
  type SharedRate,
} from './embed/createEmbedder.ts';
export { cosineSimilarity, OFFLINE_DEFAULT_DIMENSIONS, OFFLINE_MODEL } from './embed/featureHash.ts';
export type { EmbeddingEncoding } from './embed/HttpEmbeddingsClient.ts';
export type { PermitLease, PermitRequest, PermitSource } from './embed/PermitSource.ts';
export type { ResilientEmbedder, RetryEvent } from './embed/ResilientEmbedder.ts';
export type {
  BatchEmbedder,
  BatchEmbedding,
  EmbeddingsResponse,
  EmbeddingsTransport,
  RateLimitHints,
} from './embed/types.ts';
export {
  AuthenticationError,
  BadRequestError,
  ConfigError,
  EmbedBatchError,
  EncodingRefusedError,
  EndpointError,
  type EndpointErrorDetails,
  InputError,
  InvalidResponseError,
  isFatalForJob,
  JobInterruptedError,
  ModelNotFoundError,
  OutputBusyError,
  PayloadTooLargeError,
  RateBudgetError,
  RateLimitError,
  TransientEndpointError,
  UnreachableEndpointError,
} from './errors.ts';
export type { JobOptions, JobProgress, JobResult, MaxRejected } from './pipelineTypes.ts';
export type { CsvDelimiter } from './read/CsvDelimiter.ts';
export type { InputEncoding } from './read/transcodeToUtf8.ts';
export { LocalStore } from './store/LocalStore.ts';
export type { ByteRange, ObjectStore, OpenedObject } from './store/ObjectStore.ts';
export { RoutingStore, type RoutingStoreOptions } from './store/RoutingStore.ts';
export type {
  InputFormat,
  KeptValue,
  OutputFile,
  OutputFormat,
  RequestStats,
  SourceInfo,
  TokenStats,
} from './types.ts';
export type { Manifest } from './write/Manifest.ts';
export type { UsageReport } from './write/UsageReport.ts';
