import type { ReadResult } from '../types.ts';
import { FIELD_CHECK_BYTES, JsonlFieldCheck } from './JsonlFieldCheck.ts';
import { LineSplitter, type SplitLine } from './LineSplitter.ts';
import { parseJsonlRecord } from './parseJsonlRecord.ts';
import { rejectRecord } from './rejectRecord.ts';
import type { ResolvedReaderOptions } from './resolveReaderOptions.ts';
import { type InputEncoding, invalidBytesReason } from './transcodeToUtf8.ts';

// JSON's own whitespace; \n never reaches here and a trailing \r is already gone.
function isBlank(line: Buffer): boolean {
  for (let i = 0; i < line.length; i++) {
    const byte = line[i];
    if (byte !== 0x20 && byte !== 0x09 && byte !== 0x0d) return false;
  }
  return true;
}

/**
 * Streams JSONL (also NDJSON) records from UTF-8 bytes: one per non-blank line,
 * split at the byte level. Blank and whitespace-only lines are not records but
 * do count as lines.
 *
 * The first records are held back until `JsonlFieldCheck` has seen enough of
 * them (or 16 MiB of them): a needed field none of them has fails the file
 * before any record is yielded. A byte-range shard after the first skips the check (the first shard made it).
 *
 * @param encoding What the bytes were before they became UTF-8, for the reasons of rejected records.
 * @throws {InputError} for a field no record of the first batch has.
 */
export async function* readJsonlRecords(
  bytes: AsyncIterable<Uint8Array>,
  options: ResolvedReaderOptions,
  encoding: InputEncoding = 'utf-8',
): AsyncGenerator<ReadResult> {
  const { maxRecordBytes, lineOffset } = options;
  const invalid = invalidBytesReason(encoding);
  const splitter = new LineSplitter(maxRecordBytes);
  const { position } = options;
  let line = lineOffset;
  let record = options.recordOffset;
  const ends: number[] = [];
  let check: JsonlFieldCheck | undefined =
    options.recordOffset === 0 && lineOffset === 0 ? new JsonlFieldCheck(options) : undefined;
  /** A result with where it ends (offset past it, lines through it), for the reader's position. */
  type Placed = { readonly result: ReadResult; readonly end: number; readonly lines: number };
  let held: Placed[] = [];
  let heldBytes = 0;

  const toResult = (split: SplitLine): ReadResult | undefined => {
    line++;
    if (typeof split === 'number') {
      record++;
      return rejectRecord(
        { record, line },
        `${split} bytes, over the limit of ${maxRecordBytes} (maxRecordBytes)`,
      );
    }
    if (isBlank(split)) return undefined;
    if (check !== undefined) heldBytes += split.length;
    record++;
    return parseJsonlRecord(split, { record, line }, options, invalid, check);
  };

  /** The results to yield now: none while the check is still looking, then everything held. */
  const release = (placed: Placed): Placed[] => {
    if (check === undefined) return [placed];
    held.push(placed);
    if (!check.decided && heldBytes < FIELD_CHECK_BYTES) return [];
    check.check(false);
    check = undefined;
    const out = held;
    held = [];
    return out;
  };

  const emit = function* (placed: readonly Placed[]): Generator<ReadResult> {
    for (const { result, end, lines } of placed) {
      position?.advance(end, lines);
      yield result;
    }
  };
  const each = function* (splits: SplitLine[]): Generator<ReadResult> {
    for (const [n, split] of splits.entries()) {
      const result = toResult(split);
      if (result !== undefined) yield* emit(release({ result, end: ends[n] ?? 0, lines: line }));
    }
  };
  for await (const chunk of bytes) {
    ends.length = 0;
    yield* each(splitter.push(chunk, ends));
  }
  ends.length = 0;
  yield* each(splitter.end(ends));
  check?.check(true);
  yield* emit(held);
}
