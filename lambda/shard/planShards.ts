import { ConfigError } from '../errors.ts';
import type { InputFormat } from '../types.ts';
import { RecordScanner, type ScannedRow } from './RecordScanner.ts';

/**
 * One byte range of the input and where its records sit in the whole file,
 * so record numbers and lines in errors.jsonl stay global.
 */
export interface ShardRange {
  /** 0-based, in file order. */
  readonly index: number;
  /** First byte. */
  readonly start: number;
  /** Last byte, inclusive (as in an HTTP Range). */
  readonly end: number;
  /** Records before the shard: the reader's `recordOffset`. */
  readonly recordOffset: number;
  /** Lines before the shard: the reader's `lineOffset`. */
  readonly lineOffset: number;
  /** Records in the shard, as the reader will number them; null when not counted (gzip). */
  readonly records: number | null;
}

/** The shards of one input, with what every shard's reader needs. */
export interface ShardLayout {
  readonly shards: readonly ShardRange[];
  /**
   * CSV: the header's cells, for the readers of every shard but the first
   * (`csvHeader`); the first shard starts at byte 0 and reads the header itself.
   */
  readonly csvHeader?: readonly string[];
  /** Records in the file; null when not counted (gzip). */
  readonly records: number | null;
  readonly bytes: number;
}

/** Options of `planShards`. */
export interface PlanShardsOptions {
  readonly format: InputFormat;
  /** Used in messages only. */
  readonly source: string;
  /** The reader's `maxRecordBytes` (a long blank JSONL line is a record). */
  readonly maxRecordBytes: number;
  /** A shard ends at the first row boundary at or past this many bytes from its start. */
  readonly shardBytes: number;
  /** A shard also ends once it holds this many records. @default no limit */
  readonly shardRecords?: number;
}

function positiveInteger(name: string, value: unknown): void {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new ConfigError(`Expected \`${name}\` to be a positive integer, got ${String(value)}`);
  }
}

/**
 * Cuts a byte stream into shards at row boundaries, as it streams past.
 *
 * A shard ends before the first row that starts at least `shardBytes` after
 * the shard's start (or once the shard holds `shardRecords` records), except:
 * for CSV never before the header has ended (the first shard reads it, the
 * others get `csvHeader`), and never before a row that starts with a BOM's
 * bytes (a reader strips those at the start of its stream). Boundaries come
 * from `RecordScanner`, so they are where the reader's own rows begin.
 */
export class ShardPlanner {
  readonly #scanner: RecordScanner;
  readonly #format: InputFormat;
  readonly #shardBytes: number;
  readonly #shardRecords: number;
  readonly #shards: ShardRange[] = [];
  #start = 0;
  #recordOffset = 0;
  #lineOffset = 0;
  #afterHeader: boolean;
  #layout: ShardLayout | undefined;

  constructor(options: PlanShardsOptions) {
    positiveInteger('shardBytes', options.shardBytes);
    if (options.shardRecords !== undefined) positiveInteger('shardRecords', options.shardRecords);
    positiveInteger('maxRecordBytes', options.maxRecordBytes);
    this.#format = options.format;
    this.#shardBytes = options.shardBytes;
    this.#shardRecords = options.shardRecords ?? Number.POSITIVE_INFINITY;
    this.#afterHeader = options.format === 'jsonl';
    this.#scanner = new RecordScanner(options);
  }

  push(chunk: Uint8Array): void {
    for (const row of this.#scanner.push(chunk)) this.#consider(row);
  }

  /**
   * Ends the stream and returns the layout. An empty stream has no shards.
   * @throws {InputError} for CSV the reader could not read either (a quote never closed, a header that is not UTF-8).
   */
  end(): ShardLayout {
    if (this.#layout !== undefined) return this.#layout;
    for (const row of this.#scanner.end()) this.#consider(row);
    const bytes = this.#scanner.bytes;
    const records = this.#scanner.records;
    if (bytes > this.#start) {
      this.#shards.push({
        index: this.#shards.length,
        start: this.#start,
        end: bytes - 1,
        recordOffset: this.#recordOffset,
        lineOffset: this.#lineOffset,
        records: records - this.#recordOffset,
      });
    }
    const header = this.#scanner.header;
    this.#layout = {
      shards: this.#shards,
      ...(this.#format === 'csv' && header !== undefined ? { csvHeader: header } : {}),
      records,
      bytes,
    };
    return this.#layout;
  }

  #consider(row: ScannedRow): void {
    const eligible =
      this.#afterHeader &&
      !row.startsWithBom &&
      row.start > this.#start &&
      (row.start - this.#start >= this.#shardBytes ||
        row.recordsBefore - this.#recordOffset >= this.#shardRecords);
    if (row.isHeader) this.#afterHeader = true;
    if (!eligible) return;
    this.#shards.push({
      index: this.#shards.length,
      start: this.#start,
      end: row.start - 1,
      recordOffset: this.#recordOffset,
      lineOffset: this.#lineOffset,
      records: row.recordsBefore - this.#recordOffset,
    });
    this.#start = row.start;
    this.#recordOffset = row.recordsBefore;
    this.#lineOffset = row.linesBefore;
  }
}

/**
 * Plans the shards of a CSV or JSONL stream (not gzip: a compressed stream
 * cannot be read from the middle) in one streaming pass; memory stays flat
 * whatever its size.
 *
 * @throws {ConfigError} for a bad option.
 * @throws {InputError} for CSV that the reader could not read either.
 */
export async function planShards(
  body: AsyncIterable<Uint8Array>,
  options: PlanShardsOptions,
): Promise<ShardLayout> {
  const planner = new ShardPlanner(options);
  for await (const chunk of body) planner.push(chunk);
  return planner.end();
}
