import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { UsageReport } from '../write/UsageReport.ts';

/**
 * Emits one job's usage report as metrics and flushes them, so each EMF
 * document describes exactly one input file. The pipeline knows nothing of
 * metrics; this mapping is the only place they come from.
 */
export function publishUsageMetrics(metrics: Metrics, usage: UsageReport, sourceKey: string): void {
  metrics.addMetric('RowsEmbedded', MetricUnit.Count, usage.rows.embedded);
  metrics.addMetric('RowsRejected', MetricUnit.Count, usage.rows.rejected);
  metrics.addMetric('Tokens', MetricUnit.Count, usage.tokens.total);
  metrics.addMetric('Requests', MetricUnit.Count, usage.requests.sent);
  metrics.addMetric('Retries', MetricUnit.Count, usage.requests.retried);
  metrics.addMetric('Throttles', MetricUnit.Count, usage.requests.throttled);
  metrics.addMetric('DurationMs', MetricUnit.Milliseconds, usage.timing.duration_ms);
  metrics.addMetric('JobsCompleted', MetricUnit.Count, 1);
  // Metadata, not a dimension: a dimension per key would make a metric per file.
  metrics.addMetadata('sourceKey', sourceKey);
  metrics.publishStoredMetrics();
}

/** Counts a job that ended without output (failure) or without work (already complete). */
export function publishOutcomeMetric(
  metrics: Metrics,
  outcome: 'JobsFailed' | 'JobsSkipped' | 'JobsContinued',
): void {
  metrics.addMetric(outcome, MetricUnit.Count, 1);
  metrics.publishStoredMetrics();
}
