import { BatchBuilder, maxRecordsPerEntry as entryCap } from './batch/BatchBuilder.ts';
import { DEDUP_ENTRIES_BEFORE_DIMENSIONS, dedupEntriesFor, VectorCache } from './batch/VectorCache.ts';
import type { BatchEmbedder, BatchEmbedding } from './embed/types.ts';
import { InputError, isFatalForJob, JobInterruptedError } from './errors.ts';
import type { JobOptions, JobPorts, JobProgress, JobResult } from './pipelineTypes.ts';
import { findPlan, planBindingOf, STALE_PLAN } from './plan/PlanEstimate.ts';
import { detectFormat } from './read/detectFormat.ts';
import { ReadPosition } from './read/ReadPosition.ts';
import { readRecords } from './read/readRecords.ts';
import { skipRecords } from './read/skipRecords.ts';
import { PreviousOutput } from './reuse/PreviousOutput.ts';
import { basenameUri } from './store/uri.ts';
import {
  emptyRequestStats,
  type InputRecord,
  type OutputFile,
  type ReadResult,
  type RejectedRecord,
  type RequestStats,
  type TokenStats,
} from './types.ts';
import {
  bindingOf,
  type Checkpoint,
  type Cursor,
  readCheckpoint,
  sameBinding,
  writeCheckpoint,
} from './write/Checkpoint.ts';
import { contentHash } from './write/contentHash.ts';
import { ERRORS_FILE, ErrorsWriter } from './write/ErrorsWriter.ts';
import { FolderLock } from './write/FolderLock.ts';
import { commitOutput, discardScratch, prepareOutput } from './write/OutputFolder.ts';
import { outputKeyProblem, PARTIAL_SUFFIX, scratchPartName, scratchUri } from './write/OutputLayout.ts';
import { defaultRowsPerPart, PartWriter, type PartWriterOptions, partFileName } from './write/PartWriter.ts';
import { buildUsageReport, type UsageReport } from './write/UsageReport.ts';
import { expectedDimensions, writeEmptyPart } from './write/writeEmptyPart.ts';

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
  const { format, gzip, delimiter } = detectFormat(sourceUri);

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

    const cursor = checkpoint?.cursor;
    const seek = cursor !== undefined && cursor.records > 0 && !gzip && cursor.seekable !== false;
    const opened = seek
      ? await openFrom(store, sourceUri, cursor.byte, head.bytes)
      : await store.get(sourceUri);
    if (opened.info.etag !== undefined && head.etag !== undefined && opened.info.etag !== head.etag) {
      throw new InputError(`${sourceUri} changed while the job was starting; run it again`);
    }
    const position = new ReadPosition(seek ? cursor.byte : 0);
    let records: AsyncIterable<ReadResult> = readRecords(opened.body, {
      source: sourceUri,
      format,
      gzip,
      textColumn: options.textColumn,
      idColumn: options.idColumn,
      keepColumns: options.keepColumns,
      maxRecordBytes: options.maxRecordBytes,
      csvHeader: seek && checkpoint?.csv_header ? checkpoint.csv_header : undefined,
      recordOffset: seek ? cursor.records : 0,
      lineOffset: seek ? cursor.lines : 0,
      position,
      // Read on with the delimiter the first attempt sniffed at the start: the middle may look otherwise.
      delimiter: checkpoint?.csv_delimiter ?? options.delimiter ?? delimiter,
      encoding: options.encoding,
      requireIdColumn: options.requireIdColumn,
      onNotice: ports.onNotice,
    });
    // A gzip stream cannot be entered in the middle: decompress from the start, pass over what is done.
    if (cursor !== undefined && !seek && cursor.records > 0) records = skipRecords(records, cursor.records);

    const embedded = await embedRecordsToParts(
      records,
      {
        estimateRecords: gzip
          ? undefined
          : (cursor) => Math.round((cursor.records * head.bytes) / cursor.byte),
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
              attempts,
              started_at: startedAt.toISOString(),
              created_at: createdAt.toISOString(),
              updated_at: now().toISOString(),
            });
          },
        },
      },
      options,
      ports,
    );

    const finishedAt = now();
    // Where `plan` ran first for exactly this job, usage.json carries its estimate beside the bill.
    const planned = await findPlan(store, outputDir, planBindingOf(head, model, options, manifest));
    if (planned.found === 'stale') ports.onNotice?.(`${sourceUri}: ${STALE_PLAN}`);
    const report = buildUsageReport({
      source: opened.info.etag === undefined ? { ...opened.info, etag: head.etag } : opened.info,
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

/** The file from byte `start` on (nothing when it ends there). */
async function openFrom(store: JobPorts['store'], uri: string, start: number, bytes: number) {
  if (start >= bytes) {
    const info = await store.head(uri);
    return { info: info ?? { uri, bytes }, body: (async function* () {})() };
  }
  return store.get(uri, { start, end: bytes - 1 });
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

/** What one checkpoint records of the job below the folder protocol. */
export type CheckpointProgress = Pick<
  Checkpoint,
  | 'cursor'
  | 'csv_header'
  | 'csv_delimiter'
  | 'dimensions'
  | 'parts'
  | 'next_part'
  | 'errors'
  | 'rows'
  | 'tokens'
  | 'requests'
>;

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
  /** This job's share of the embedder's counters (it may serve several files), earlier attempts included. */
  readonly tokens: TokenStats;
  readonly requests: RequestStats;
}

/** One request's worth of texts, and what came back. */
interface Unit {
  readonly texts: string[];
  result?: BatchEmbedding;
  /** Reasons of refused inputs, by index. */
  refused?: Map<number, string>;
  failed?: boolean;
  done: Promise<void>;
}

/** Where a record's vector comes from: a slot of a unit, or a vector already known. */
type VectorSource = { readonly unit: Unit; readonly index: number } | Float32Array;

/** A record waiting for its vector, or a record the reader rejected (kept in order with the rest). */
type PendingRecord =
  | {
      readonly record: InputRecord;
      readonly hash: string;
      readonly source: VectorSource;
      /** Where the vector comes from, for the counts. */
      readonly kind: 'new' | 'deduplicated' | 'reused';
    }
  | { readonly rejected: RejectedRecord };

/** Records waiting for one unit, in input order, and where reading stood after the last of them. */
interface Entry {
  readonly unit: Unit;
  readonly records: PendingRecord[];
  end: Cursor;
}

/**
 * The pipeline below the output folder, shared by `runJob` (a whole file) and
 * the distributed path's shard worker (a byte range of one): records ->
 * dedupe -> batch -> embed (bounded, in order) -> part files + errors file.
 *
 * Writes nothing but parts (named by `target.fileName`), error segments and
 * the errors file; the caller owns the folder protocol (checkpoint file,
 * manifest, usage). Every `checkpoint.intervalMs` it writes the buffered rows
 * as a part and the buffered rejects as a segment, then hands the cursor (the
 * last record whose fate is written) to `checkpoint.save`.
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
  const { store, embedder, model } = ports;
  const { outputDir, sourceUri, previous, done, resume, position } = target;
  // The embedder (and its rate limiter) may serve several files; usage counts this call only.
  const before = snapshotCounters(embedder);
  const earlier: Counters = resume
    ? {
        tokens: { ...resume.tokens },
        requests: { ...resume.requests, byStatus: { ...resume.requests.byStatus } },
      }
    : { tokens: { prompt: 0, total: 0 }, requests: emptyRequestStats() };

  const errors = new ErrorsWriter(store, target.errorsUri, { earlier: resume?.errors });
  let parts: PartWriter | undefined;
  let dimensions = options.dimensions ?? resume?.dimensions ?? undefined;
  const cache = new VectorCache<VectorSource>(DEDUP_ENTRIES_BEFORE_DIMENSIONS);
  const rows = resume
    ? { ...resume.rows }
    : { read: 0, embedded: 0, rejected: 0, deduplicated: 0, reused: 0 };

  const newParts = (length: number): PartWriter =>
    new PartWriter(store, outputDir, {
      format: options.format,
      dimensions: length,
      model,
      sourceUri,
      keepColumns: options.keepColumns,
      includeText: options.includeText,
      rowsPerPart: options.rowsPerPart ?? defaultRowsPerPart(length),
      createdAt: target.createdAt,
      fileName: target.fileName,
      earlier: resume ? { parts: resume.parts, nextPart: resume.next_part } : undefined,
    });
  if (resume?.dimensions) parts = newParts(resume.dimensions);

  const window: Entry[] = [];
  const windowSize = Math.max(2, options.concurrency * 2);
  let fatal: unknown;
  let answered = false;
  // Where the last drained record ended: every record up to it is in the writers.
  let drained: Cursor = resume?.cursor ?? { records: 0, byte: 0, lines: 0 };
  let checkpointed = drained.records;
  let lastCheckpointMs = performance.now();

  const progress = (): void => {
    ports.onProgress?.({
      rowsRead: rows.read,
      rowsEmbedded: rows.embedded,
      rowsRejected: rows.rejected,
      tokens: earlier.tokens.total + embedder.tokens.total - before.tokens.total,
      retries: earlier.requests.retried + embedder.requests.retried - before.requests.retried,
      elapsedMs: performance.now() - startedMs,
    });
  };

  const cursorNow = (): Cursor => ({
    records: rows.read,
    byte: position?.byte ?? 0,
    lines: position?.lines ?? 0,
    seekable: position?.seekable ?? true,
  });
  const newEntry = (): Entry => ({ unit: { texts: [], done: Promise.resolve() }, records: [], end: drained });

  const dispatch = (entry: Entry): void => {
    const unit = entry.unit;
    if (unit.texts.length > 0) {
      unit.done = embedder.embedBatch(unit.texts).then(
        (result) => {
          unit.result = result;
          unit.refused = new Map(result.rejected.map((r) => [r.index, r.reason]));
        },
        (error: unknown) => {
          unit.failed = true;
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

  // Set when a drain failed half-way through an entry: some of its rows are in the writers but
  // the cursor is before it, so nothing more may be drained or checkpointed.
  let poisoned = false;
  const drainHead = async (): Promise<void> => {
    // Left at the head until it is written whole: a batch that failed stays there, and
    // the catch path never drains past it (the cursor must not skip its records).
    const entry = window[0];
    if (!entry) return;
    await entry.unit.done;
    if (entry.unit.texts.length > 0) answered = true;
    try {
      for (const pending of entry.records) {
        if ('rejected' in pending) {
          rows.rejected++;
          await errors.add(pending.rejected);
          continue;
        }
        const { vector, reason } = vectorOf(pending.source);
        if (!vector) {
          rows.rejected++;
          await errors.add({
            record: pending.record.record,
            line: pending.record.line,
            id: pending.record.id,
            reason: `record ${pending.record.record}, column "${options.textColumn}": refused by the endpoint: ${reason}`,
          });
          continue;
        }
        // Counted when written, like embedded and rejected, so a checkpoint's counts match its cursor.
        if (pending.kind === 'deduplicated') rows.deduplicated++;
        else if (pending.kind === 'reused') rows.reused++;
        if (!(pending.source instanceof Float32Array)) cache.replace(pending.hash, pending.source, vector);
        if (!parts) {
          dimensions = vector.length;
          cache.resize(dedupEntriesFor(dimensions));
          parts = newParts(dimensions);
        }
        await parts.add({ record: pending.record, contentHash: pending.hash, vector });
        rows.embedded++;
      }
    } catch (error) {
      poisoned = true;
      throw error;
    }
    window.shift();
    drained = entry.end;
    progress();
  };

  /** Writes what is buffered and commits the cursor; a no-op when nothing was drained since. */
  const commitProgress = async (): Promise<void> => {
    const hook = target.checkpoint;
    lastCheckpointMs = performance.now();
    if (hook === undefined || drained.records === checkpointed) return;
    const written = parts ? await parts.flush() : [...(resume?.parts ?? [])];
    const segments = await errors.flush();
    const counters = countersSince(embedder, before, earlier);
    await hook.save({
      cursor: drained,
      csv_header: position?.header ?? resume?.csv_header ?? null,
      csv_delimiter: position?.delimiter ?? resume?.csv_delimiter ?? null,
      dimensions: dimensions ?? null,
      parts: written,
      next_part: parts?.nextPart ?? resume?.next_part ?? 0,
      errors: segments,
      rows: { ...rows, read: drained.records },
      tokens: counters.tokens,
      requests: counters.requests,
    });
    checkpointed = drained.records;
  };
  const maybeCommitProgress = async (): Promise<void> => {
    const hook = target.checkpoint;
    if (hook !== undefined && performance.now() - lastCheckpointMs >= hook.intervalMs) await commitProgress();
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
    // Records that need no request (duplicates, reused, rejected) still wait in an entry; cap it so memory stays flat.
    const maxRecordsPerEntry = entryCap(options.batchSize);
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
      await maybeCommitProgress();
    };
    const push = async (pending: PendingRecord): Promise<void> => {
      entry.records.push(pending);
      entry.end = cursorNow();
      if (entry.records.length >= maxRecordsPerEntry) await flush();
    };

    for await (const result of records) {
      if (fatal !== undefined) throw fatal;
      ports.signal?.throwIfAborted();
      rows.read++;
      if (!result.ok) {
        await push({ rejected: result.rejected });
      } else {
        const record = result.value;
        const hash = contentHash(model, record.text);
        // As an uninterrupted run decides: this job's own vectors, then the earlier output's,
        // then (resumed) the checkpointed parts, which an uninterrupted run had in its cache.
        const cached = cache.get(hash);
        const reused = cached || !previous ? undefined : await previous.lookup(hash);
        const known = cached ?? (reused || !done ? undefined : await done.lookup(hash));
        if (known) {
          await push({ record, hash, source: known, kind: 'deduplicated' });
        } else if (reused) {
          await push({ record, hash, source: reused, kind: 'reused' });
        } else {
          if (!builder.fits(record.text)) await flush();
          const slot = { unit: entry.unit, index: builder.add(record.text) };
          cache.set(hash, slot);
          entry.records.push({ record, hash, source: slot, kind: 'new' });
          entry.end = cursorNow();
          if (builder.size >= maxInputs()) await flush();
        }
      }
      // Checked after the record is placed, so the cursor never skips a record that was read.
      if (ports.stop?.aborted) break;
    }
    // Stopping sends nothing new: the records of the open batch stay after the cursor.
    if (entry.records.length > 0 && ports.stop?.aborted !== true) await flush();
    while (window.length > 0) {
      ports.signal?.throwIfAborted();
      await drainHead();
    }
    if (ports.stop?.aborted) throw new JobInterruptedError(drained.records);
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
    // Let requests in flight settle, keep every answer that came, in order, and commit them.
    await Promise.allSettled(window.map((e) => e.unit.done));
    try {
      if (!poisoned) {
        while (window.length > 0 && window[0]?.unit.failed !== true) await drainHead();
        await commitProgress();
      }
    } catch {
      // The checkpoint is a bonus here; the error that stopped the job is the one to report.
    }
    await errors.abort();
    if (ports.stop?.aborted && !isFatalForJob(error)) {
      const estimate = drained.byte > 0 ? target.estimateRecords?.(drained) : undefined;
      throw new JobInterruptedError(drained.records, {
        cause: error instanceof JobInterruptedError ? undefined : error,
        recordsEstimated: estimate !== undefined && estimate >= drained.records ? estimate : undefined,
      });
    }
    throw error;
  }
  return { rows, dimensions, outputs, errors: errorsFile, ...countersSince(embedder, before, earlier) };
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

/** The embedder's counters since `before`, plus those of earlier attempts. */
function countersSince(embedder: BatchEmbedder, before: Counters, earlier: Counters): Counters {
  const now = snapshotCounters(embedder);
  const byStatus: Record<string, number> = { ...earlier.requests.byStatus };
  for (const [status, count] of Object.entries(now.requests.byStatus)) {
    const delta = count - (before.requests.byStatus[status] ?? 0);
    if (delta > 0) byStatus[status] = (byStatus[status] ?? 0) + delta;
  }
  const since = (key: 'sent' | 'succeeded' | 'retried' | 'throttled' | 'failed'): number =>
    earlier.requests[key] + now.requests[key] - before.requests[key];
  return {
    tokens: {
      prompt: earlier.tokens.prompt + now.tokens.prompt - before.tokens.prompt,
      total: earlier.tokens.total + now.tokens.total - before.tokens.total,
    },
    requests: {
      sent: since('sent'),
      succeeded: since('succeeded'),
      retried: since('retried'),
      throttled: since('throttled'),
      failed: since('failed'),
      byStatus,
    },
  };
}
