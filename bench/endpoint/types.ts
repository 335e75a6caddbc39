/** Messages between the benchmark and its endpoint child process. */

/** One `POST /v1/embeddings` as the endpoint saw it. */
export interface EndpointLogEntry {
  /** Ms since the endpoint started. */
  readonly receivedAt: number;
  /** `"200"`, `"429"`, `"413"`, ... */
  readonly status: string;
  readonly inputs: number;
}

/** What the endpoint child sends its parent. */
export type EndpointMessage =
  | { readonly type: 'ready'; readonly url: string }
  | { readonly type: 'log'; readonly entries: readonly EndpointLogEntry[] };
