import { BatchBuilder } from './batch/BatchBuilder.ts';
import { VectorCache } from './batch/VectorCache.ts';
import type { BatchEmbedder, BatchEmbedding } from './embed/types.ts';
import { InputError } from './errors.ts';
import type { JobOptions, JobPorts, JobProgress, JobResult } from './pipelineTypes.ts';
import { detectFormat } from './read/detectFormat.ts';
import { readRecords } from './read/readRecords.ts';
import { PreviousOutput } from './reuse/PreviousOutput.ts';
import { joinUri } from './store/uri.ts';
import type {
  InputRecord,
  OutputFile,
  ReadResult,
  RejectedRecord,
  RequestStats,
  SourceInfo,
  TokenStats,
} from './types.ts';
import { contentHash } from './write/contentHash.ts';
import { ERRORS_FILE, ErrorsWriter } from './write/ErrorsWriter.ts';
import { beginOutput, commitOutput } from './write/OutputFolder.ts';
import { defaultRowsPerPart, PartWriter, type PartWriterOptions } from './write/PartWriter.ts';
import { buildUsageReport, type UsageReport } from './write/UsageReport.ts';
import { expectedDimensions, writeEmptyPart } from './write/writeEmptyPart.ts';

/** Vectors kept for deduplication, in bytes; the entry count follows from the dimensions. */
const DEDUP_CACHE_BYTES = 64 * 1024 * 1024;
const DEDUP_ENTRIES_BEFORE_DIMENSIONS = 16_384;

/** One request's worth of texts, and what came back. */
interface Unit {
  readonly texts: string[];
  result?: BatchEmbedding;
  /** Reasons of refused inputs, by index. */
  refused?: Map<number, string>;
  done: Promise<void>;
}

/** Where a record's vector comes from: a slot of a unit, or a vector already known. */
type VectorSource = { readonly unit: Unit; readonly index: number } | Float32Array;

interface PendingRecord {
  readonly record: InputRecord;
  readonly hash: string;
  readonly source: VectorSource;
}

/** Records waiting for one unit, in input order. */
interface Entry {
  readonly unit: Unit;
  readonly records: PendingRecord[];
}

/**
 * Embeds one input file into one output folder:
 * read -> validate -> dedupe -> batch -> embed (bounded, in order) -> write parts -> errors -> usage -> manifest.
 *
 * Rows come out in input order. At most `2 x concurrency` batches are in
 * memory at once, and one part file's rows, so memory stays flat on any file.
 * On failure nothing is presented as done: the manifest was removed first and
 * is only written after everything else.
 */
export async function runJob(
  sourceUri: string,
  outputDir: string,
  options: JobOptions,
  ports: JobPorts,
): Promise<JobResult> {
  const now = ports.now ?? (() => new Date());
  const startedAt = now();
  const startedMs = performance.now();
  const { store, model } = ports;
  const { format, gzip, delimiter } = detectFormat(sourceUri);

  // A missing source fails before the output folder is touched.
  if ((await store.head(sourceUri)) === undefined)
    throw new InputError(`no such file or object: ${sourceUri}`);
  const previousManifest = await beginOutput(store, outputDir);
  // Rerunning the same export: unchanged texts take their vector from the earlier output.
  const previous = options.full
    ? undefined
    : await PreviousOutput.open(store, outputDir, previousManifest, {
        sourceUri,
        model,
        dimensions: options.dimensions,
      });

  let embedded: EmbeddedParts;
  let source: SourceInfo;
  try {
    // Opened only now: staging the earlier output can take a while, and an S3 stream must not sit idle meanwhile.
    const opened = await store.get(sourceUri);
    source = opened.info;
    const records = readRecords(opened.body, {
      source: sourceUri,
      format,
      gzip,
      textColumn: options.textColumn,
      idColumn: options.idColumn,
      keepColumns: options.keepColumns,
      maxRecordBytes: options.maxRecordBytes,
      delimiter: options.delimiter ?? delimiter,
      encoding: options.encoding,
      requireIdColumn: options.requireIdColumn,
      onNotice: ports.onNotice,
    });
    embedded = await embedRecordsToParts(
      records,
      {
        outputDir,
        sourceUri,
        errorsUri: joinUri(outputDir, ERRORS_FILE),
        createdAt: startedAt,
        previous,
        startedMs,
      },
      options,
      ports,
    );
  } catch (error) {
    await previous?.dispose();
    throw error;
  }

  const finishedAt = now();
  const usage = buildUsageReport({
    source,
    format: gzip ? `${format}+gzip` : format,
    model,
    dimensions: embedded.dimensions,
    endpoint: ports.endpoint,
    rows: embedded.rows,
    tokens: embedded.tokens,
    requests: embedded.requests,
    startedAt,
    finishedAt,
    outputs: embedded.outputs,
  });
  const manifestUri = await commitOutput(store, outputDir, {
    usage,
    parts: embedded.outputs,
    errors: embedded.errors,
    format: options.format,
    createdAt: finishedAt,
  });
  await previous?.dispose();
  ports.onProgress?.(progressOf(embedded, startedMs));
  return { usage, manifestUri };
}

/** Where `embedRecordsToParts` writes, and what it stamps on the parts. */
export interface PartsTarget {
  /** Folder of the part files. */
  readonly outputDir: string;
  /** The input file: schema metadata `source.uri`. */
  readonly sourceUri: string;
  /** Where the rejected records go (`errors.jsonl`, or a shard's partial errors file). */
  readonly errorsUri: string;
  /** Schema metadata `created_at`, the same in every part. */
  readonly createdAt: Date;
  /** Part file names. @default partFileName (`part-00000.parquet`, ...) */
  readonly fileName?: PartWriterOptions['fileName'];
  /** An earlier output lending its vectors (incremental reindex). @default none */
  readonly previous?: PreviousOutput;
  /** `performance.now()` when the job started, for progress. @default when this is called */
  readonly startedMs?: number;
}

/** What `embedRecordsToParts` wrote and counted. */
export interface EmbeddedParts {
  readonly rows: UsageReport['rows'];
  /** Vector length: as requested, or learned from the first answer; undefined when nothing was embedded. */
  readonly dimensions: number | undefined;
  /** Part files in row order, as `PartWriter.finish()` returned them. */
  readonly outputs: OutputFile[];
  /** The errors file, always written (empty when nothing was rejected). */
  readonly errors: OutputFile;
  /** This call's share of the embedder's counters (it may serve several files). */
  readonly tokens: TokenStats;
  readonly requests: RequestStats;
}

/**
 * The pipeline below the output folder, shared by `runJob` (a whole file) and
 * the distributed path's shard worker (a byte range of one): records ->
 * dedupe -> batch -> embed (bounded, in order) -> part files + errors file.
 *
 * Writes nothing but parts (named by `target.fileName`) and the errors file;
 * the caller owns the folder protocol (manifest, usage). On failure the
 * errors file's temp data is dropped and the error is rethrown; parts already
 * written stay for the caller's cleanup (a later commit removes them as stale).
 */
export async function embedRecordsToParts(
  records: AsyncIterable<ReadResult>,
  target: PartsTarget,
  options: JobOptions,
  ports: JobPorts,
): Promise<EmbeddedParts> {
  const startedMs = target.startedMs ?? performance.now();
  const { store, embedder, model } = ports;
  const { outputDir, sourceUri, previous } = target;
  // The embedder (and its rate limiter) may serve several files; usage counts this call only.
  const before = snapshotCounters(embedder);

  const errors = new ErrorsWriter(store, target.errorsUri);
  let parts: PartWriter | undefined;
  let dimensions = options.dimensions;
  const cache = new VectorCache<VectorSource>(DEDUP_ENTRIES_BEFORE_DIMENSIONS);
  const rows = { read: 0, embedded: 0, rejected: 0, deduplicated: 0, reused: 0 };

  const window: Entry[] = [];
  const windowSize = Math.max(2, options.concurrency * 2);
  let fatal: unknown;
  let answered = false;

  const reject = async (rejected: RejectedRecord): Promise<void> => {
    rows.rejected++;
    await errors.add(rejected);
  };

  const progress = (): void => {
    ports.onProgress?.({
      rowsRead: rows.read,
      rowsEmbedded: rows.embedded,
      rowsRejected: rows.rejected,
      tokens: embedder.tokens.total - before.tokens.total,
      retries: embedder.requests.retried - before.requests.retried,
      elapsedMs: performance.now() - startedMs,
    });
  };

  const newEntry = (): Entry => ({ unit: { texts: [], done: Promise.resolve() }, records: [] });

  const dispatch = (entry: Entry): void => {
    const unit = entry.unit;
    if (unit.texts.length > 0) {
      unit.done = embedder.embedBatch(unit.texts).then(
        (result) => {
          unit.result = result;
          unit.refused = new Map(result.rejected.map((r) => [r.index, r.reason]));
        },
        (error: unknown) => {
          // Remember the first failure so the reader stops feeding new batches at once.
          fatal ??= error;
          throw error;
        },
      );
      // Handled when the entry is drained; this keeps a failure from being reported as unhandled meanwhile.
      unit.done.catch(() => undefined);
    }
    window.push(entry);
  };

  const vectorOf = (source: VectorSource): { vector?: Float32Array; reason?: string } => {
    if (source instanceof Float32Array) return { vector: source };
    const vector = source.unit.result?.vectors[source.index];
    if (vector) return { vector };
    return { reason: source.unit.refused?.get(source.index) ?? 'the endpoint returned no vector' };
  };

  const drainHead = async (): Promise<void> => {
    const entry = window.shift();
    if (!entry) return;
    await entry.unit.done;
    if (entry.unit.texts.length > 0) answered = true;
    for (const pending of entry.records) {
      const { vector, reason } = vectorOf(pending.source);
      if (!vector) {
        await reject({
          record: pending.record.record,
          line: pending.record.line,
          id: pending.record.id,
          reason: `record ${pending.record.record}, column "${options.textColumn}": refused by the endpoint: ${reason}`,
        });
        continue;
      }
      if (!(pending.source instanceof Float32Array)) cache.replace(pending.hash, pending.source, vector);
      if (!parts) {
        dimensions = vector.length;
        cache.resize(Math.max(1_000, Math.floor(DEDUP_CACHE_BYTES / (dimensions * 4))));
        parts = new PartWriter(store, outputDir, {
          format: options.format,
          dimensions,
          model,
          sourceUri,
          keepColumns: options.keepColumns,
          includeText: options.includeText,
          rowsPerPart: options.rowsPerPart ?? defaultRowsPerPart(dimensions),
          createdAt: target.createdAt,
          fileName: target.fileName,
        });
      }
      await parts.add({ record: pending.record, contentHash: pending.hash, vector });
      rows.embedded++;
    }
    progress();
  };

  let outputs: OutputFile[];
  let errorsFile: OutputFile;
  try {
    // A server that refused larger batches (413) gets batches of the size it took, not pieces of bigger ones.
    const maxInputs = (): number => Math.min(options.batchSize, embedder.maxInputs ?? options.batchSize);
    const limits = () => ({
      maxInputs: maxInputs(),
      maxTokens: options.maxBatchTokens,
      maxBytes: options.maxBatchBytes,
    });
    let builder = new BatchBuilder(limits());
    // Records that need no request (duplicates, reused) still wait in an entry; cap it so memory stays flat.
    const maxRecordsPerEntry = Math.max(1_024, options.batchSize * 4);
    let entry = newEntry();
    const flush = async (): Promise<void> => {
      entry.unit.texts.push(...builder.take());
      dispatch(entry);
      entry = newEntry();
      builder = new BatchBuilder(limits());
      // The first batch goes alone: bad credentials, an unknown model or the
      // dimension show up after one request instead of a window's worth.
      const limit = answered ? windowSize : 1;
      while (window.length >= limit) await drainHead();
    };

    for await (const result of records) {
      if (fatal !== undefined) throw fatal;
      ports.signal?.throwIfAborted();
      rows.read++;
      if (!result.ok) {
        await reject(result.rejected);
        continue;
      }
      const record = result.value;
      const hash = contentHash(model, record.text);
      const known = cache.get(hash);
      if (known) {
        rows.deduplicated++;
        entry.records.push({ record, hash, source: known });
        if (entry.records.length >= maxRecordsPerEntry) await flush();
        continue;
      }
      const reused = previous ? await previous.lookup(hash) : undefined;
      if (reused) {
        rows.reused++;
        entry.records.push({ record, hash, source: reused });
        if (entry.records.length >= maxRecordsPerEntry) await flush();
        continue;
      }
      if (!builder.fits(record.text)) await flush();
      const slot = { unit: entry.unit, index: builder.add(record.text) };
      cache.set(hash, slot);
      entry.records.push({ record, hash, source: slot });
      if (builder.size >= maxInputs()) await flush();
    }
    if (entry.records.length > 0) await flush();
    while (window.length > 0) {
      ports.signal?.throwIfAborted();
      await drainHead();
    }
    // No embedded rows: one empty part with the full schema, so `part-*` readers find the columns.
    if (!parts) dimensions ??= expectedDimensions(model);
    outputs = parts
      ? await parts.finish()
      : await writeEmptyPart(store, outputDir, {
          format: options.format,
          dimensions,
          model,
          sourceUri,
          keepColumns: options.keepColumns,
          includeText: options.includeText,
          createdAt: target.createdAt,
          fileName: target.fileName,
        });
    errorsFile = await errors.finish();
  } catch (error) {
    // Let requests in flight settle before giving up, so nothing runs on after the job failed.
    await Promise.allSettled(window.map((e) => e.unit.done));
    await errors.abort();
    throw error;
  }
  return { rows, dimensions, outputs, errors: errorsFile, ...countersSince(embedder, before) };
}

/** The final progress report of a finished job. */
function progressOf(embedded: EmbeddedParts, startedMs: number): JobProgress {
  return {
    rowsRead: embedded.rows.read,
    rowsEmbedded: embedded.rows.embedded,
    rowsRejected: embedded.rows.rejected,
    tokens: embedded.tokens.total,
    retries: embedded.requests.retried,
    elapsedMs: performance.now() - startedMs,
  };
}

interface Counters {
  readonly tokens: TokenStats;
  readonly requests: RequestStats;
}

function snapshotCounters(embedder: BatchEmbedder): Counters {
  return {
    tokens: { ...embedder.tokens },
    requests: { ...embedder.requests, byStatus: { ...embedder.requests.byStatus } },
  };
}

function countersSince(embedder: BatchEmbedder, before: Counters): Counters {
  const now = snapshotCounters(embedder);
  const byStatus: Record<string, number> = {};
  for (const [status, count] of Object.entries(now.requests.byStatus)) {
    const delta = count - (before.requests.byStatus[status] ?? 0);
    if (delta > 0) byStatus[status] = delta;
  }
  return {
    tokens: {
      prompt: now.tokens.prompt - before.tokens.prompt,
      total: now.tokens.total - before.tokens.total,
    },
    requests: {
      sent: now.requests.sent - before.requests.sent,
      succeeded: now.requests.succeeded - before.requests.succeeded,
      retried: now.requests.retried - before.requests.retried,
      throttled: now.requests.throttled - before.requests.throttled,
      failed: now.requests.failed - before.requests.failed,
      byStatus,
    },
  };
}
