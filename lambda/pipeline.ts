import { maxRecordsPerEntry as entryCap } from './batch/BatchBuilder.ts';
import { InOrderRouter, type VectorSource } from './batch/InOrderRouter.ts';
import { RequestPacker } from './batch/RequestPacker.ts';
import { DEDUP_ENTRIES_BEFORE_DIMENSIONS, dedupEntriesFor, VectorCache } from './batch/VectorCache.ts';
import { InputError, isFatalForJob, JobInterruptedError, JobStoppedError } from './errors.ts';
import type { JobOptions, JobPorts, JobProgress, JobResult } from './pipelineTypes.ts';
import { findPlan, planBindingOf, STALE_PLAN } from './plan/PlanEstimate.ts';
import { openRecordSource } from './read/openRecordSource.ts';
import type { ReadPosition } from './read/ReadPosition.ts';
import { resolveKeptColumns } from './resolveKeptColumns.ts';
import { PreviousOutput } from './reuse/PreviousOutput.ts';
import { basenameUri } from './store/uri.ts';
import type {
  InputRecord,
  OutputFile,
  ReadResult,
  RejectedRecord,
  RequestStats,
  TokenStats,
} from './types.ts';
import {
  bindingOf,
  type Checkpoint,
  type Cursor,
  readCheckpoint,
  sameBinding,
  writeCheckpoint,
} from './write/Checkpoint.ts';
import { CheckpointingWriter, type CheckpointProgress } from './write/CheckpointingWriter.ts';
import { contentHash } from './write/contentHash.ts';
import { ERRORS_FILE } from './write/ErrorsWriter.ts';
import { FolderLock } from './write/FolderLock.ts';
import { commitOutput, discardScratch, prepareOutput } from './write/OutputFolder.ts';
import { outputKeyProblem, PARTIAL_SUFFIX, scratchPartName, scratchUri } from './write/OutputLayout.ts';
import { type PartWriterOptions, partFileName } from './write/PartWriter.ts';
import { buildUsageReport, type UsageReport } from './write/UsageReport.ts';
import { expectedDimensions, writeEmptyPart } from './write/writeEmptyPart.ts';

export type { CheckpointProgress } from './write/CheckpointingWriter.ts';

/** How often a job commits its progress, unless `JobOptions.checkpointIntervalMs` says otherwise. */
export const DEFAULT_CHECKPOINT_INTERVAL_MS = 10_000;

/**
 * Embeds one input file into one output folder:
 * read -> validate -> dedupe -> batch -> embed (bounded, in order) -> write parts -> errors -> usage -> manifest.
 *
 * Rows come out in input order. At most `2 x concurrency` batches are in
 * memory at once, and one part file's rows, so memory stays flat on any file.
 *
 * The folder protocol (see `OutputFolder.ts`): the run holds the folder's
 * lock, writes its parts to the scratch folder and checkpoints there every
 * `checkpointIntervalMs`; a later run with the same binding (source version,
 * model, dimensions, columns, format) resumes after the checkpoint's cursor
 * (plain files by a ranged read, gzip by skipping records done), so a crash
 * or stop costs at most about one interval of paid work. The earlier complete
 * output stays in place, readable and lending its vectors, until the commit.
 *
 * @throws {JobInterruptedError} when `ports.stop` fired: progress is checkpointed.
 * @throws {OutputBusyError} when another live run holds the folder.
 */
export async function runJob(
  sourceUri: string,
  outputDir: string,
  options: JobOptions,
  ports: JobPorts,
): Promise<JobResult> {
  const now = ports.now ?? (() => new Date());
  const startedMs = performance.now();
  const { store, model } = ports;

  // A missing source fails before the output folder is touched.
  const head = await store.head(sourceUri);
  if (head === undefined) throw new InputError(`no such file or object: ${sourceUri}`);
  const keyProblem = outputKeyProblem(outputDir);
  if (keyProblem !== undefined) throw new InputError(keyProblem);
  const lock = await FolderLock.acquire(store, outputDir, { holder: ports.holder });
  let previous: PreviousOutput | undefined;
  let done: PreviousOutput | undefined;
  try {
    const manifest = await prepareOutput(store, outputDir);
    const binding = bindingOf(head, model, options);
    let checkpoint = options.full ? undefined : await readCheckpoint(store, outputDir);
    if (checkpoint !== undefined && !sameBinding(checkpoint.binding, binding)) checkpoint = undefined;
    if (checkpoint !== undefined) checkpoint = inFolder(checkpoint, outputDir);
    if (checkpoint === undefined) await discardScratch(store, outputDir);
    const startedAt = checkpoint ? new Date(checkpoint.started_at) : now();
    const createdAt = checkpoint ? new Date(checkpoint.created_at) : startedAt;
    const attempts = (checkpoint?.attempts ?? 0) + 1;
    // Typed once per output (JSONL fields as the first records show them): a resumed attempt keeps the checkpoint's.
    const keepColumns = checkpoint
      ? (checkpoint.kept_columns ?? options.keepColumns)
      : await resolveKeptColumns(store, sourceUri, options, { head, onNotice: ports.onNotice });
    const job: JobOptions = { ...options, keepColumns };

    // Rerunning the same export: unchanged texts take their vector from the earlier output.
    previous = options.full
      ? undefined
      : await PreviousOutput.open(store, outputDir, manifest, { model, dimensions: options.dimensions });
    // Resuming: texts the checkpointed parts already hold are duplicates, not new requests.
    done = checkpoint
      ? await PreviousOutput.over(
          store,
          checkpoint.parts.map((part) => part.uri),
        )
      : undefined;

    const source = await openRecordSource(store, sourceUri, head, job, checkpoint, ports.onNotice);
    const { position } = source;

    const embedded = await embedRecordsToParts(
      source.records,
      {
        estimateRecords: source.estimateRecords,
        outputDir,
        sourceUri,
        errorsUri: scratchUri(outputDir, `${ERRORS_FILE}${PARTIAL_SUFFIX}`),
        createdAt,
        fileName: scratchPartName(partFileName),
        previous,
        done,
        startedMs,
        position,
        resume: checkpoint,
        checkpoint: {
          intervalMs: options.checkpointIntervalMs ?? DEFAULT_CHECKPOINT_INTERVAL_MS,
          save: (progress) => {
            // A run that lost its lease (another took the folder over) must not write over the new holder.
            if (lock.lost !== undefined) throw lock.lost;
            return writeCheckpoint(store, outputDir, {
              version: 1,
              binding,
              ...progress,
              kept_columns: keepColumns,
              attempts,
              started_at: startedAt.toISOString(),
              created_at: createdAt.toISOString(),
              updated_at: now().toISOString(),
            });
          },
        },
      },
      job,
      ports,
    );

    const finishedAt = now();
    // Where `plan` ran first for exactly this job, usage.json carries its estimate beside the bill.
    const planned = await findPlan(store, outputDir, planBindingOf(head, model, options, manifest));
    if (planned.found === 'stale') ports.onNotice?.(`${sourceUri}: ${STALE_PLAN}`);
    const report = buildUsageReport({
      source: source.info,
      format: source.format,
      model,
      dimensions: embedded.dimensions,
      endpoint: ports.endpoint,
      rows: embedded.rows,
      tokens: embedded.tokens,
      requests: embedded.requests,
      startedAt,
      finishedAt,
      outputs: embedded.outputs,
      estimate: planned.found === 'current' ? planned.estimate : undefined,
    });
    // Bytes are the whole file's, also when this attempt read only the rest of it.
    const usage: UsageReport = {
      ...report,
      source: { ...report.source, bytes: head.bytes },
      ...(attempts > 1
        ? { attempts, rows: { ...report.rows, resumed: checkpoint?.cursor.records ?? 0 } }
        : {}),
    };
    await previous?.dispose();
    await done?.dispose();
    await lock.assertHeld();
    const committed = await commitOutput(store, outputDir, {
      usage,
      parts: embedded.outputs,
      errors: embedded.errors,
      format: options.format,
      createdAt: finishedAt,
    });
    ports.onProgress?.(progressOf(embedded, startedMs));
    return committed;
  } finally {
    await previous?.dispose();
    await done?.dispose();
    await lock.release();
  }
}

/**
 * The checkpoint with its files named in `dir`'s scratch folder: a relative
 * `--out` is written as given, and the attempt that resumes may run from another folder.
 */
function inFolder(checkpoint: Checkpoint, dir: string): Checkpoint {
  const here = (file: OutputFile): OutputFile => ({ ...file, uri: scratchUri(dir, basenameUri(file.uri)) });
  return {
    ...checkpoint,
    parts: checkpoint.parts.map(here),
    errors: { ...checkpoint.errors, segments: checkpoint.errors.segments.map(here) },
  };
}

/** Where `embedRecordsToParts` writes, and what it stamps on the parts. */
export interface PartsTarget {
  /** Folder the part names are relative to. */
  readonly outputDir: string;
  /** The input file: schema metadata `source.uri`. */
  readonly sourceUri: string;
  /** Where the rejected records go (the scratch folder's errors file, or a shard's partial errors file). */
  readonly errorsUri: string;
  /** Schema metadata `created_at`, the same in every part. */
  readonly createdAt: Date;
  /** Part file names. @default partFileName (`part-00000.parquet`, ...) */
  readonly fileName?: PartWriterOptions['fileName'];
  /** An earlier output lending its vectors (incremental reindex). @default none */
  readonly previous?: PreviousOutput;
  /** Vectors an earlier attempt of this run already wrote: texts found there count as duplicates. @default none */
  readonly done?: PreviousOutput;
  /** `performance.now()` when the job started, for progress. @default when this is called */
  readonly startedMs?: number;
  /** Where the reader is, for the checkpoint's cursor. @default none (no cursor) */
  readonly position?: ReadPosition;
  /** The checkpoint this attempt resumes: its parts, errors and counters come first. @default none */
  readonly resume?: CheckpointProgress;
  /** About how many records the input holds, judged from a cursor (for the interruption message). @default none */
  readonly estimateRecords?: (cursor: Cursor) => number;
  /** Commits progress as the job goes. @default none */
  readonly checkpoint?: {
    /** Least time between two checkpoints. */
    readonly intervalMs: number;
    readonly save: (progress: CheckpointProgress) => Promise<void>;
  };
}

/** What `embedRecordsToParts` wrote and counted. */
export interface EmbeddedParts {
  /** Counts of the whole job, earlier attempts included. */
  readonly rows: UsageReport['rows'];
  /** Vector length: as requested, or learned from the first answer; undefined when nothing was embedded. */
  readonly dimensions: number | undefined;
  /** Part files in row order, as `PartWriter.finish()` returned them. */
  readonly outputs: OutputFile[];
  /** The errors file, always written (empty when nothing was rejected). */
  readonly errors: OutputFile;
  /** This file's share of the requests that carried its rows, earlier attempts included. */
  readonly tokens: TokenStats;
  readonly requests: RequestStats;
}

/** The packer a job uses when its caller shares none: its own, over its own embedder. */
export function packerFor(
  options: Pick<JobOptions, 'batchSize' | 'maxBatchTokens' | 'maxBatchBytes'>,
  ports: Pick<JobPorts, 'embedder' | 'stop'>,
): RequestPacker {
  const { embedder } = ports;
  return new RequestPacker(embedder, {
    // A server that refused larger batches (413) gets batches of the size it took, not pieces of bigger ones.
    limits: () => ({
      maxInputs: Math.min(options.batchSize, embedder.maxInputs ?? options.batchSize),
      maxTokens: options.maxBatchTokens,
      maxBytes: options.maxBatchBytes,
    }),
    stop: ports.stop,
  });
}

/**
 * The pipeline below the output folder, shared by `runJob` (a whole file) and
 * the distributed path's shard worker (a byte range of one). One record's way:
 *
 * 1. the reader (`records`) yields it, with `position` telling where it ended;
 * 2. deduplication and reuse find its vector, or the packer
 *    (`ports.packer`, shared by every file of a command) puts its text in a
 *    request, perhaps beside texts of other files;
 * 3. the in-order router waits for that request and hands the record back in
 *    this file's order;
 * 4. the checkpointing writer puts it into a part (or errors.jsonl), and
 *    every `checkpoint.intervalMs` writes the buffered rows as a part and
 *    the rejects as a segment, then hands the cursor to `checkpoint.save`.
 *
 * Writes nothing but parts (named by `target.fileName`), error segments and
 * the errors file; the caller owns the folder protocol (checkpoint file,
 * manifest, usage).
 *
 * When `ports.stop` fires, or anything fails, it stops reading, keeps the
 * answers that arrive (requests in flight end with `ports.signal`), commits a
 * last checkpoint of what was written, and rethrows (`JobInterruptedError`
 * for a stop). Parts written stay for a resumed run or the caller's cleanup.
 */
export async function embedRecordsToParts(
  records: AsyncIterable<ReadResult>,
  target: PartsTarget,
  options: JobOptions,
  ports: JobPorts,
): Promise<EmbeddedParts> {
  const startedMs = target.startedMs ?? performance.now();
  const { store, model } = ports;
  const { outputDir, sourceUri, previous, done, resume, position } = target;
  const packer = ports.packer ?? packerFor(options, ports);
  const cache = new VectorCache<VectorSource>(DEDUP_ENTRIES_BEFORE_DIMENSIONS);
  const writer = new CheckpointingWriter({
    store,
    outputDir,
    sourceUri,
    errorsUri: target.errorsUri,
    model,
    createdAt: target.createdAt,
    fileName: target.fileName,
    job: options,
    resume,
    position,
    save: target.checkpoint?.save,
    onVector: (hash, source, vector) => {
      if (!(source instanceof Float32Array)) cache.replace(hash, source, vector);
    },
    onDimensions: (dimensions) => cache.resize(dedupEntriesFor(dimensions)),
  });
  const { rows } = writer;
  const router = new InOrderRouter<InputRecord, RejectedRecord>(
    packer,
    writer,
    (entry) => writer.write(entry).then(progress),
    {
      windowSize: Math.max(2, options.concurrency * 2),
      start: resume?.cursor ?? { records: 0, byte: 0, lines: 0 },
    },
  );
  let lastCheckpointMs = performance.now();

  function progress(): void {
    ports.onProgress?.({
      rowsRead: rows.read,
      rowsEmbedded: rows.embedded,
      rowsRejected: rows.rejected,
      tokens: writer.usage.tokens.total,
      retries: writer.usage.requests.retried,
      elapsedMs: performance.now() - startedMs,
    });
  }
  const cursorNow = (): Cursor => ({
    records: rows.read,
    byte: position?.byte ?? 0,
    lines: position?.lines ?? 0,
    seekable: position?.seekable ?? true,
  });
  const commitProgress = async (): Promise<void> => {
    lastCheckpointMs = performance.now();
    await writer.checkpoint(router.drained);
  };
  const maybeCommitProgress = async (): Promise<void> => {
    const hook = target.checkpoint;
    if (hook !== undefined && performance.now() - lastCheckpointMs >= hook.intervalMs) await commitProgress();
  };

  let outputs: OutputFile[];
  let errorsFile: OutputFile;
  try {
    // Records that need no request (duplicates, reused, rejected) still wait in an entry; cap it so memory stays flat.
    const maxRecordsPerEntry = entryCap(options.batchSize);
    const close = async (): Promise<void> => {
      await router.close();
      await maybeCommitProgress();
    };
    for await (const result of records) {
      if (packer.fatal !== undefined) throw packer.fatal;
      if (router.failure !== undefined) throw router.failure;
      ports.signal?.throwIfAborted();
      rows.read++;
      if (!result.ok) {
        router.add({ rejected: result.rejected }, cursorNow());
      } else {
        const record = result.value;
        const hash = contentHash(model, record.text);
        // As an uninterrupted run decides: this job's own vectors, then the earlier output's,
        // then (resumed) the checkpointed parts, which an uninterrupted run had in its cache.
        const cached = cache.get(hash);
        const reused = cached || !previous ? undefined : await previous.lookup(hash);
        const known = cached ?? (reused || !done ? undefined : await done.lookup(hash));
        if (known) router.add({ record, hash, source: known, kind: 'deduplicated' }, cursorNow());
        else if (reused) router.add({ record, hash, source: reused, kind: 'reused' }, cursorNow());
        else cache.set(hash, router.addText(record, hash, record.text, cursorNow()));
      }
      if (router.openTexts >= options.batchSize || router.openRecords >= maxRecordsPerEntry) await close();
      // Checked after the record is placed, so the cursor never skips a record that was read.
      if (ports.stop?.aborted) break;
    }
    if (ports.stop?.aborted) throw new JobInterruptedError(router.drained.records);
    await router.drainAll();
    // No embedded rows: one empty part with the full schema, so `part-*` readers find the columns.
    const dimensions = writer.dimensions ?? expectedDimensions(model);
    outputs =
      (await writer.finishParts()) ??
      (await writeEmptyPart(store, outputDir, {
        format: options.format,
        dimensions,
        model,
        sourceUri,
        keepColumns: options.keepColumns,
        includeText: options.includeText,
        createdAt: target.createdAt,
        fileName: target.fileName,
      }));
    errorsFile = await writer.errors.finish();
  } catch (error) {
    // Let requests in flight settle, keep every answer that came, in order, and commit them.
    try {
      await router.salvage();
      if (!router.poisoned) await commitProgress();
    } catch {
      // The checkpoint is a bonus here; the error that stopped the job is the one to report.
    }
    await writer.errors.abort();
    const drained = router.drained;
    if (ports.stop?.aborted && !isFatalForJob(error)) {
      const estimate = drained.byte > 0 ? target.estimateRecords?.(drained) : undefined;
      throw new JobInterruptedError(drained.records, {
        cause: error instanceof JobInterruptedError || error instanceof JobStoppedError ? undefined : error,
        recordsEstimated: estimate !== undefined && estimate >= drained.records ? estimate : undefined,
      });
    }
    throw error;
  }
  return {
    rows,
    dimensions: writer.dimensions ?? expectedDimensions(model),
    outputs,
    errors: errorsFile,
    tokens: { ...writer.usage.tokens },
    requests: { ...writer.usage.requests, byStatus: { ...writer.usage.requests.byStatus } },
  };
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
