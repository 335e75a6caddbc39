import type { OutputFile, RequestStats, SourceInfo, TokenStats } from '../types.ts';

/**
 * `plan`'s figures for one file, carried in usage.json as `estimate` when the
 * run found a plan made for exactly its source version, settings and earlier
 * output, so estimate and bill sit side by side.
 */
export interface UsageEstimate {
  /** Records read. */
  readonly rows: number;
  readonly rejected: number;
  /** Rows whose text an earlier row of the job already sends (compare `rows.deduplicated`). */
  readonly duplicates: number;
  /** Rows whose vector an earlier output lends. */
  readonly reused: number;
  /** Estimated tokens of the texts sent (ceil(UTF-8 bytes / 3) each: errs high; compare `tokens.total`). */
  readonly tokens: number;
  /** Compare `requests.sent`. */
  readonly requests: number;
  /** Endpoint time at the rate the plan was given; null for the offline embedder (compare `timing.duration_ms`). */
  readonly seconds: number | null;
  /** `tokens` at the price per million tokens; absent when no price was known. */
  readonly cost?: number;
  readonly price_per_million_tokens?: number;
  /** When `plan` made it. */
  readonly made_at: string;
}

/** usage.json, exactly as DESIGN.md fixes it. */
export interface UsageReport {
  readonly source: {
    readonly uri: string;
    readonly etag: string | null;
    readonly bytes: number;
    readonly format: string;
  };
  readonly model: string;
  readonly dimensions: number | null;
  /** Base URL, never a key. */
  readonly endpoint: string;
  readonly rows: {
    readonly read: number;
    readonly embedded: number;
    readonly rejected: number;
    readonly deduplicated: number;
    readonly reused: number;
    /** Resumed runs: records that came from a checkpoint of an earlier attempt. */
    readonly resumed?: number;
  };
  /** Resumed runs: attempts it took (tokens and requests count every attempt's). */
  readonly attempts?: number;
  readonly tokens: TokenStats;
  readonly requests: {
    readonly sent: number;
    readonly succeeded: number;
    readonly retried: number;
    readonly throttled: number;
    readonly failed: number;
    readonly by_status: Record<string, number>;
  };
  readonly timing: {
    readonly started_at: string;
    readonly finished_at: string;
    readonly duration_ms: number;
    readonly rows_per_second: number;
  };
  readonly outputs: OutputFile[];
  /** What `plan` estimated, where it ran first for this very job. */
  readonly estimate?: UsageEstimate;
}

/** Everything a usage report is made from. */
export interface UsageInput {
  readonly source: SourceInfo;
  readonly format: string;
  readonly model: string;
  readonly dimensions: number | undefined;
  readonly endpoint: string;
  readonly rows: UsageReport['rows'];
  readonly tokens: TokenStats;
  readonly requests: RequestStats;
  readonly startedAt: Date;
  readonly finishedAt: Date;
  readonly outputs: readonly OutputFile[];
  /** `plan`'s estimate for this job. @default none */
  readonly estimate?: UsageEstimate;
}

/** Builds usage.json from the job's counters. Pure. */
export function buildUsageReport(input: UsageInput): UsageReport {
  const durationMs = Math.max(0, input.finishedAt.getTime() - input.startedAt.getTime());
  return {
    source: {
      uri: input.source.uri,
      etag: input.source.etag ?? null,
      bytes: input.source.bytes,
      format: input.format,
    },
    model: input.model,
    dimensions: input.dimensions ?? null,
    endpoint: input.endpoint,
    rows: { ...input.rows },
    tokens: { prompt: input.tokens.prompt, total: input.tokens.total },
    requests: {
      sent: input.requests.sent,
      succeeded: input.requests.succeeded,
      retried: input.requests.retried,
      throttled: input.requests.throttled,
      failed: input.requests.failed,
      by_status: { ...input.requests.byStatus },
    },
    timing: {
      started_at: input.startedAt.toISOString(),
      finished_at: input.finishedAt.toISOString(),
      duration_ms: durationMs,
      rows_per_second: durationMs > 0 ? Math.round((input.rows.embedded / durationMs) * 1000 * 10) / 10 : 0,
    },
    outputs: [...input.outputs],
    ...(input.estimate === undefined ? {} : { estimate: input.estimate }),
  };
}
