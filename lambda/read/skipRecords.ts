import type { ReadResult } from '../types.ts';

/**
 * Drops the first `count` records: those an earlier attempt already did, for
 * a stream that cannot be entered in the middle (gzip). Costs reading them,
 * never a request.
 */
export async function* skipRecords(
  records: AsyncIterable<ReadResult>,
  count: number,
): AsyncGenerator<ReadResult> {
  let seen = 0;
  for await (const result of records) {
    if (seen++ < count) continue;
    yield result;
  }
}
