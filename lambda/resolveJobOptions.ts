import { DEFAULT_MAX_TOKENS_PER_REQUEST, isIonos, maxInputTokens } from './embed/modelFacts.ts';
import { ConfigError } from './errors.ts';
import type { JobOptions } from './pipelineTypes.ts';
import type { OutputFormat } from './types.ts';

/** Inputs per request against IONOS: small enough for a fast answer, large enough for the 5 req/s budget. */
const IONOS_BATCH_SIZE = 128;
const DEFAULT_BATCH_SIZE = 256;
/** Under TEI's 2 MB payload cap, with room for JSON escaping. */
const DEFAULT_BATCH_BYTES = 1_500_000;
const DEFAULT_CONCURRENCY = 8;
const DEFAULT_MAX_RECORD_BYTES = 1_048_576;
const FORMATS: readonly OutputFormat[] = ['parquet', 'arrow', 'both'];

/** What the caller may set; everything else gets its default. */
export type JobOptionsInput = Partial<JobOptions> & { readonly model: string; readonly baseUrl?: string };

/**
 * Applies defaults in one place and validates at the door; messages name the
 * CLI flag, since that is what a user typed.
 */
export function resolveJobOptions(input: JobOptionsInput): JobOptions {
  const batchSize =
    input.batchSize ?? (input.baseUrl && isIonos(input.baseUrl) ? IONOS_BATCH_SIZE : DEFAULT_BATCH_SIZE);
  const options: JobOptions = {
    textColumn: input.textColumn ?? 'text',
    idColumn: input.idColumn ?? 'id',
    keepColumns: input.keepColumns ?? [],
    format: input.format ?? 'parquet',
    includeText: input.includeText ?? true,
    dimensions: input.dimensions,
    batchSize,
    // Room for at least one input of the model's full length per request.
    maxBatchTokens:
      input.maxBatchTokens ?? Math.max(DEFAULT_MAX_TOKENS_PER_REQUEST, maxInputTokens(input.model)),
    maxBatchBytes: input.maxBatchBytes ?? DEFAULT_BATCH_BYTES,
    concurrency: input.concurrency ?? DEFAULT_CONCURRENCY,
    rowsPerPart: input.rowsPerPart,
    maxRecordBytes: input.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES,
    full: input.full ?? false,
    checkpointIntervalMs: input.checkpointIntervalMs,
  };
  positiveInteger(options.batchSize, '--batch-size');
  positiveInteger(options.maxBatchTokens, '--batch-tokens');
  positiveInteger(options.maxBatchBytes, '--batch-bytes');
  positiveInteger(options.concurrency, '--concurrency');
  positiveInteger(options.maxRecordBytes, '--max-record-bytes');
  if (options.rowsPerPart !== undefined) positiveInteger(options.rowsPerPart, '--part-rows');
  if (options.checkpointIntervalMs !== undefined)
    positiveInteger(options.checkpointIntervalMs, '--checkpoint-seconds');
  if (options.dimensions !== undefined) positiveInteger(options.dimensions, '--dimensions');
  if (!FORMATS.includes(options.format)) {
    throw new ConfigError(`Expected \`--format\` to be one of ${FORMATS.join(', ')}, got ${options.format}`);
  }
  for (const [flag, value] of [
    ['--text-column', options.textColumn],
    ['--id-column', options.idColumn],
  ] as const) {
    if (value.trim() === '')
      throw new ConfigError(`Expected \`${flag}\` to be a column name, got an empty string`);
  }
  if (options.keepColumns.includes(options.textColumn) || options.keepColumns.includes(options.idColumn)) {
    throw new ConfigError('Expected `--keep-columns` not to repeat the text or id column');
  }
  return options;
}

function positiveInteger(value: number, flag: string): void {
  if (!Number.isInteger(value) || value < 1) {
    throw new ConfigError(`Expected \`${flag}\` to be a positive integer, got ${value}`);
  }
}
