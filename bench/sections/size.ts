/**
 * Section 4, output size: bytes per row of one part (id, text, content_hash,
 * embedding) as Parquet (ZSTD, byte-stream-split floats, as the job writes
 * it), as Parquet without byte-stream-split, and as Arrow IPC; for the
 * feature-hash vectors serve-local answers and for dense unit vectors like a
 * real model's. The encodings actually written are read back with DuckDB.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { tableToIPC } from 'apache-arrow';
import { featureHashEmbed } from '../../lambda/embed/featureHash.ts';
import type { EmbeddedRow } from '../../lambda/types.ts';
import { buildEmbeddingTable } from '../../lambda/write/buildEmbeddingTable.ts';
import { contentHash } from '../../lambda/write/contentHash.ts';
import { defaultRowGroupRows, defaultRowsPerPart } from '../../lambda/write/PartWriter.ts';
import { encodeParquet } from '../../lambda/write/parquetWasm.ts';
import { createRandom, generateTexts } from '../generateInput.ts';
import type { BenchContext, SizeCase, SizeResult } from '../types.ts';

const MODEL = 'local/feature-hash';

/** A unit vector of normal-ish components: what real embedding models produce, roughly. */
function denseVector(random: () => number, dimensions: number): Float32Array {
  const vector = new Float32Array(dimensions);
  let norm = 0;
  for (let i = 0; i < dimensions; i++) {
    // Sum of three uniforms: close enough to a normal distribution for sizes.
    const value = random() + random() + random() - 1.5;
    vector[i] = value;
    norm += value * value;
  }
  norm = Math.sqrt(norm);
  for (let i = 0; i < dimensions; i++) vector[i] = (vector[i] as number) / norm;
  return vector;
}

async function embeddingEncodings(file: string): Promise<string> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    const reader = await connection.runAndReadAll(
      `SELECT DISTINCT encodings FROM parquet_metadata('${file.replaceAll("'", "''")}') WHERE path_in_schema LIKE 'embedding%'`,
    );
    return reader
      .getRowObjectsJS()
      .map((row) => String(row.encodings))
      .join('; ');
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

/** Runs the section (in process: sizes do not depend on noise, one run is enough). */
export async function benchSize(context: BenchContext): Promise<SizeResult> {
  const { workDir, log } = context;
  const cases: SizeCase[] = [];
  for (const dimensions of [384, 1024]) {
    const rows = defaultRowsPerPart(dimensions);
    const texts = generateTexts(rows, 7);
    for (const vectors of ['feature-hash', 'dense'] as const) {
      const random = createRandom(dimensions);
      const embedded: EmbeddedRow[] = texts.map((text, i) => ({
        record: { record: i + 1, id: `r${i + 1}`, text, keep: {} },
        contentHash: contentHash(MODEL, text),
        vector: vectors === 'dense' ? denseVector(random, dimensions) : featureHashEmbed(text, dimensions),
      }));
      const layout = {
        model: MODEL,
        dimensions,
        sourceUri: 'bench',
        createdAt: new Date(),
        includeText: true,
        keepColumns: [],
      };
      const table = buildEmbeddingTable(embedded, layout);
      const ipc = tableToIPC(table, 'stream');
      const encode = (byteStreamSplit: boolean) =>
        encodeParquet(ipc, {
          rowGroupRows: Math.min(defaultRowGroupRows(dimensions), rows),
          metadata: table.schema.metadata,
          utf8Columns: table.schema.fields.filter((f) => f.name !== 'embedding').map((f) => f.name),
          dictionaryColumns: [],
          statisticsColumns: ['id'],
          byteStreamSplit,
        });
      const parquet = encode(true);
      const plain = encode(false);
      const file = path.join(workDir, `size-${dimensions}-${vectors}.parquet`);
      await writeFile(file, parquet);
      const result: SizeCase = {
        dimensions,
        vectors,
        rows,
        parquetBytes: parquet.byteLength,
        parquetPlainBytes: plain.byteLength,
        arrowBytes: tableToIPC(table, 'file').byteLength,
        embeddingEncodings: await embeddingEncodings(file),
      };
      cases.push(result);
      log(
        `size ${dimensions} dims ${vectors}: parquet ${(result.parquetBytes / rows).toFixed(0)} B/row, without byte-stream-split ${(result.parquetPlainBytes / rows).toFixed(0)}, arrow ${(result.arrowBytes / rows).toFixed(0)}`,
      );
    }
  }
  return { cases };
}
