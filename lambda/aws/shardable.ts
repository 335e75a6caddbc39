import type { JobOptions } from '../pipelineTypes.ts';
import { detectFormat } from '../read/detectFormat.ts';
import { sniffCsvDelimiter } from '../read/sniffCsvDelimiter.ts';
import type { ObjectStore } from '../store/ObjectStore.ts';

/** Bytes read to judge a file: the header and the first rows. */
const SAMPLE_BYTES = 64 * 1024;

/**
 * Whether the distributed path can read this object, or why not. It cuts
 * plain UTF-8 with commas (or JSONL) at record boundaries; a gzip stream, a
 * UTF-16 file or another CSV delimiter would be cut wrongly, so those are
 * embedded inline, where a job short of time continues in a new invocation.
 * So is every file of a job set to read another encoding or delimiter
 * (`EMBED_ENCODING`, `EMBED_DELIMITER`): the shards would not read it as set.
 */
export async function shardable(
  store: ObjectStore,
  uri: string,
  bytes: number,
  reading: Pick<JobOptions, 'delimiter' | 'encoding'> = {},
): Promise<{ readonly ok: true } | { readonly ok: false; readonly reason: string }> {
  const { format, gzip } = detectFormat(uri);
  if (gzip) return { ok: false, reason: 'gzip cannot be read from the middle' };
  if (reading.encoding !== undefined && reading.encoding !== 'utf-8')
    return { ok: false, reason: `read as ${reading.encoding} (EMBED_ENCODING)` };
  if (format === 'csv' && reading.delimiter !== undefined && reading.delimiter !== ',')
    return { ok: false, reason: `${JSON.stringify(reading.delimiter)}-separated (EMBED_DELIMITER)` };
  const opened = await store.get(uri, { start: 0, end: Math.min(bytes, SAMPLE_BYTES) - 1 });
  const chunks: Uint8Array[] = [];
  for await (const chunk of opened.body) chunks.push(chunk);
  const sample = Buffer.concat(chunks);
  if ((sample[0] === 0xff && sample[1] === 0xfe) || (sample[0] === 0xfe && sample[1] === 0xff))
    return { ok: false, reason: 'UTF-16' };
  if (format === 'jsonl' || reading.delimiter === ',') return { ok: true };
  const delimiter = sniffCsvDelimiter(sample, bytes <= SAMPLE_BYTES);
  return delimiter === ',' ? { ok: true } : { ok: false, reason: `${JSON.stringify(delimiter)}-separated` };
}
