/** Section 4 of BENCHMARKS.md: bytes per row by format. */
import { formatNumber } from '../stats.ts';
import type { SectionRecord, SizeResult } from '../types.ts';
import { table, taken } from './markdown.ts';

export function renderSize(record: SectionRecord<SizeResult>): string {
  const rows = record.result.cases.map((c) => [
    String(c.dimensions),
    c.vectors,
    formatNumber(c.rows),
    formatNumber(c.parquetBytes / c.rows),
    formatNumber(c.parquetPlainBytes / c.rows),
    `${formatNumber((1 - c.parquetBytes / c.parquetPlainBytes) * 100, 1)} %`,
    formatNumber(c.arrowBytes / c.rows),
    formatNumber(c.arrowBytes / c.parquetBytes, 2),
    c.embeddingEncodings,
  ]);
  return [
    '## 4. Output size',
    '',
    taken(record),
    '',
    "One part as the job writes it (columns `id`, `text` of 200–400 characters, `content_hash`, `embedding`), bytes per row. Parquet: ZSTD, floats with BYTE_STREAM_SPLIT (the job's setting; the encodings column is what DuckDB reads back from the file). Arrow IPC: the file format, uncompressed (apache-arrow JS writes no compressed IPC). " +
      '`feature-hash` vectors are what serve-local answers: sparse, many exact zeros; `dense` are random unit vectors, which is what real models produce.',
    '',
    table(
      [
        'dims',
        'vectors',
        'rows',
        'Parquet B/row',
        'Parquet without BSS',
        'BSS gain',
        'Arrow IPC B/row',
        'Arrow / Parquet',
        'embedding encodings',
      ],
      rows,
    ),
  ].join('\n');
}
