import type { OutputFile, RequestStats, SourceInfo, TokenStats } from '../types.ts';

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
  };
}
