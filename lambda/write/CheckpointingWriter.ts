/**
 * The writing end of one file's pipeline: rows into part files, rejected
 * records into the errors file, the counts, and the checkpoints that make
 * all of it resumable.
 */
import type { Entry, VectorSource } from '../batch/InOrderRouter.ts';
import type { PackerOwner } from '../batch/RequestPacker.ts';
import type { CallUsage } from '../embed/types.ts';
import type { JobOptions } from '../pipelineTypes.ts';
import type { ReadPosition } from '../read/ReadPosition.ts';
import type { ObjectStore } from '../store/ObjectStore.ts';
import { emptyRequestStats, type InputRecord, type OutputFile, type RejectedRecord } from '../types.ts';
import type { Checkpoint, Cursor } from './Checkpoint.ts';
import { ErrorsWriter } from './ErrorsWriter.ts';
import { defaultRowsPerPart, PartWriter, type PartWriterOptions } from './PartWriter.ts';
import type { UsageReport } from './UsageReport.ts';

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

/** Row counts as they grow. */
export type RowCounts = { -readonly [K in keyof UsageReport['rows']]: UsageReport['rows'][K] };

/** Options of {@link CheckpointingWriter}. */
export interface CheckpointingWriterOptions {
  readonly store: ObjectStore;
  readonly outputDir: string;
  readonly sourceUri: string;
  readonly errorsUri: string;
  readonly model: string;
  readonly createdAt: Date;
  readonly fileName?: PartWriterOptions['fileName'];
  readonly job: JobOptions;
  /** The checkpoint this attempt resumes: its parts, errors and counters come first. */
  readonly resume?: CheckpointProgress;
  /** Where the reader is: the CSV header and delimiter it settled on go into each checkpoint. */
  readonly position?: ReadPosition;
  /** Told each vector as its row is written (the deduplication cache swaps a slot for it). */
  readonly onVector?: (hash: string, source: VectorSource, vector: Float32Array) => void;
  /** Told the vector length with the first vector. */
  readonly onDimensions?: (dimensions: number) => void;
  readonly save?: (progress: CheckpointProgress) => Promise<void>;
}

/**
 * Writes entries as the router hands them over, counting as it writes (so a
 * checkpoint's counts match its cursor), and is charged with its file's
 * share of every request (so usage is per file, also when requests carry
 * rows of several files). `checkpoint(cursor)` writes the buffered rows as a
 * part and the buffered rejects as a segment, then saves the cursor.
 */
export class CheckpointingWriter implements PackerOwner {
  /** Counts of the whole job, earlier attempts included. */
  readonly rows: RowCounts;
  /** Tokens and requests of this file, earlier attempts included. */
  readonly usage: CallUsage;
  readonly errors: ErrorsWriter;
  readonly #options: CheckpointingWriterOptions;
  #parts: PartWriter | undefined;
  #dimensions: number | undefined;
  #checkpointed: number;

  constructor(options: CheckpointingWriterOptions) {
    this.#options = options;
    const { resume } = options;
    this.rows = resume
      ? { ...resume.rows }
      : { read: 0, embedded: 0, rejected: 0, deduplicated: 0, reused: 0 };
    this.usage = resume
      ? {
          tokens: { ...resume.tokens },
          requests: { ...resume.requests, byStatus: { ...resume.requests.byStatus } },
        }
      : { tokens: { prompt: 0, total: 0 }, requests: emptyRequestStats() };
    this.errors = new ErrorsWriter(options.store, options.errorsUri, { earlier: resume?.errors });
    this.#dimensions = options.job.dimensions ?? resume?.dimensions ?? undefined;
    this.#checkpointed = resume?.cursor.records ?? 0;
    if (resume?.dimensions) this.#parts = this.#newParts(resume.dimensions);
  }

  /** Vector length: as requested, or learned from the first answer; undefined while none came. */
  get dimensions(): number | undefined {
    return this.#dimensions;
  }

  /** Whether a part writer exists (a vector was written, or a resumed run knew the dimensions). */
  get hasParts(): boolean {
    return this.#parts !== undefined;
  }

  charge(usage: CallUsage): void {
    const mine = this.usage;
    mine.tokens.prompt += usage.tokens.prompt;
    mine.tokens.total += usage.tokens.total;
    for (const key of ['sent', 'succeeded', 'retried', 'throttled', 'failed'] as const)
      mine.requests[key] += usage.requests[key];
    for (const [status, n] of Object.entries(usage.requests.byStatus))
      mine.requests.byStatus[status] = (mine.requests.byStatus[status] ?? 0) + n;
  }

  /** Writes one entry's records, in order: rows into parts, rejects (the reader's or the endpoint's) into errors. */
  async write(entry: Entry<InputRecord, RejectedRecord>): Promise<void> {
    const { rows } = this;
    for (const pending of entry.records) {
      if ('rejected' in pending) {
        rows.rejected++;
        await this.errors.add(pending.rejected);
        continue;
      }
      const { source, record } = pending;
      const { vector, reason } =
        source instanceof Float32Array
          ? { vector: source, reason: undefined }
          : source.request.vectorAt(source.index);
      if (!vector) {
        rows.rejected++;
        await this.errors.add({
          record: record.record,
          line: record.line,
          id: record.id,
          reason: `record ${record.record}, column "${this.#options.job.textColumn}": refused by the endpoint: ${reason}`,
        });
        continue;
      }
      if (pending.kind === 'deduplicated') rows.deduplicated++;
      else if (pending.kind === 'reused') rows.reused++;
      this.#options.onVector?.(pending.hash, source, vector);
      if (!this.#parts) {
        this.#dimensions = vector.length;
        this.#options.onDimensions?.(vector.length);
        this.#parts = this.#newParts(vector.length);
      }
      await this.#parts.add({ record, contentHash: pending.hash, vector });
      rows.embedded++;
    }
  }

  /** Writes what is buffered and saves `cursor`; a no-op when nothing was written since the last one. */
  async checkpoint(cursor: Cursor): Promise<void> {
    const { save, resume, position } = this.#options;
    if (save === undefined || cursor.records === this.#checkpointed) return;
    const written = this.#parts ? await this.#parts.flush() : [...(resume?.parts ?? [])];
    const segments = await this.errors.flush();
    await save({
      cursor,
      csv_header: position?.header ?? resume?.csv_header ?? null,
      csv_delimiter: position?.delimiter ?? resume?.csv_delimiter ?? null,
      dimensions: this.#dimensions ?? null,
      parts: written,
      next_part: this.#parts?.nextPart ?? resume?.next_part ?? 0,
      errors: segments,
      rows: { ...this.rows, read: cursor.records },
      tokens: { ...this.usage.tokens },
      requests: { ...this.usage.requests, byStatus: { ...this.usage.requests.byStatus } },
    });
    this.#checkpointed = cursor.records;
  }

  /** Writes the last part; undefined when no part writer exists (nothing embedded). */
  async finishParts(): Promise<OutputFile[] | undefined> {
    return this.#parts?.finish();
  }

  #newParts(length: number): PartWriter {
    const { store, outputDir, job, model, sourceUri, createdAt, fileName, resume } = this.#options;
    return new PartWriter(store, outputDir, {
      format: job.format,
      dimensions: length,
      model,
      sourceUri,
      keepColumns: job.keepColumns,
      includeText: job.includeText,
      rowsPerPart: job.rowsPerPart ?? defaultRowsPerPart(length),
      createdAt,
      fileName,
      earlier: resume ? { parts: resume.parts, nextPart: resume.next_part } : undefined,
    });
  }
}
