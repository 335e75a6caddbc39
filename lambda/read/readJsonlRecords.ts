import type { ReadResult } from '../types.ts';
import { LineSplitter, type SplitLine } from './LineSplitter.ts';
import { parseJsonlRecord } from './parseJsonlRecord.ts';
import { rejectRecord } from './rejectRecord.ts';
import type { ResolvedReaderOptions } from './resolveReaderOptions.ts';

// JSON's own whitespace; \n never reaches here and a trailing \r is already gone.
function isBlank(line: Buffer): boolean {
  for (let i = 0; i < line.length; i++) {
    const byte = line[i];
    if (byte !== 0x20 && byte !== 0x09 && byte !== 0x0d) return false;
  }
  return true;
}

/**
 * Streams JSONL (also NDJSON) records: one per non-blank line, split at the byte
 * level. Blank and whitespace-only lines are not records but do count as lines.
 */
export async function* readJsonlRecords(
  bytes: AsyncIterable<Uint8Array>,
  options: ResolvedReaderOptions,
): AsyncGenerator<ReadResult> {
  const { maxRecordBytes, lineOffset } = options;
  const splitter = new LineSplitter(maxRecordBytes);
  const { position } = options;
  let line = lineOffset;
  let record = options.recordOffset;
  const ends: number[] = [];

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
    record++;
    return parseJsonlRecord(split, { record, line }, options);
  };

  const each = function* (splits: SplitLine[]): Generator<ReadResult> {
    for (const [n, split] of splits.entries()) {
      const result = toResult(split);
      if (result === undefined) continue;
      position?.advance(ends[n] ?? 0, line);
      yield result;
    }
  };
  for await (const chunk of bytes) {
    ends.length = 0;
    yield* each(splitter.push(chunk, ends));
  }
  ends.length = 0;
  yield* each(splitter.end(ends));
}
