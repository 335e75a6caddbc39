import type { JobOptions } from '../pipelineTypes.ts';
import { resolveJobOptions } from '../resolveJobOptions.ts';
import type { LambdaConfig } from './loadConfig.ts';

/** The pipeline options of a Lambda job, from its configuration; validated, so call once per container. */
export function jobOptionsFor(config: LambdaConfig): JobOptions {
  return resolveJobOptions({
    model: config.model,
    baseUrl: config.baseUrl,
    format: config.format,
    batchSize: config.batchSize,
    concurrency: config.concurrency,
    dimensions: config.dimensions,
    rowsPerPart: config.rowsPerPart,
    textColumn: config.textColumn,
    idColumn: config.idColumn,
    requireIdColumn: config.requireIdColumn,
    delimiter: config.delimiter,
    encoding: config.encoding,
    keepColumns: config.keepColumns,
    checkpointIntervalMs: config.checkpointIntervalMs,
  });
}
