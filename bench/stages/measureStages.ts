/**
 * Child process: the CPU cost of each stage of the pipeline, one stage at a
 * time on the same rows, in one thread (parquet-wasm runs on it too), so the
 * end-to-end figure can be split and compared with the floor: parquet-wasm
 * writing the same prepared table alone.
 *
 * The endpoint's work (rendering answers) is done here too but not counted.
 * Prints one JSON line: StageCosts in CPU seconds per 100k rows.
 *
 * Usage: measureStages.ts <input.csv> <dimensions> <base64|float>
 */
import { createReadStream } from 'node:fs';
import { tableToIPC } from 'apache-arrow';
import { BatchBuilder } from '../../lambda/batch/BatchBuilder.ts';
import { bodyText } from '../../lambda/embed/bodyText.ts';
import { decodeEmbeddings } from '../../lambda/embed/decodeEmbeddings.ts';
import { readRecords } from '../../lambda/read/readRecords.ts';
import { resolveJobOptions } from '../../lambda/resolveJobOptions.ts';
import { renderEmbeddings } from '../../lambda/serve/renderEmbeddings.ts';
import type { EmbeddedRow, InputRecord } from '../../lambda/types.ts';
import { buildEmbeddingTable, type EmbeddingTableLayout } from '../../lambda/write/buildEmbeddingTable.ts';
import { contentHash } from '../../lambda/write/contentHash.ts';
import { defaultRowGroupRows, defaultRowsPerPart } from '../../lambda/write/PartWriter.ts';
import { encodeParquet } from '../../lambda/write/parquetWasm.ts';
import type { StageCosts } from '../types.ts';

const MODEL = 'local/feature-hash';
const [input, dimensionsText, encodingText] = process.argv.slice(2);
if (
  input === undefined ||
  dimensionsText === undefined ||
  (encodingText !== 'base64' && encodingText !== 'float')
) {
  throw new Error('Usage: measureStages.ts <input.csv> <dimensions> <base64|float>');
}
const dimensions = Number(dimensionsText);
const encoding: 'base64' | 'float' = encodingText;

const spent: Record<keyof StageCosts, number> = {
  read: 0,
  hash: 0,
  request: 0,
  parse: 0,
  decode: 0,
  arrow: 0,
  ipc: 0,
  parquet: 0,
};

/** Runs `work`, charging its CPU time (user + system, µs) to `stage`. */
function timed<T>(stage: keyof StageCosts, work: () => T): T {
  const before = process.cpuUsage();
  const result = work();
  const used = process.cpuUsage(before);
  spent[stage] += used.user + used.system;
  return result;
}

// Read: the whole CSV through the job's reader (async, so timed around the loop).
const records: InputRecord[] = [];
const readStart = process.cpuUsage();
for await (const result of readRecords(createReadStream(input), {
  source: input,
  format: 'csv',
  gzip: false,
})) {
  if (result.ok) records.push(result.value);
}
const readUsed = process.cpuUsage(readStart);
spent.read = readUsed.user + readUsed.system;

const hashes = timed('hash', () => records.map((record) => contentHash(MODEL, record.text)));

const layout: EmbeddingTableLayout = {
  model: MODEL,
  dimensions,
  sourceUri: input,
  createdAt: new Date(),
  includeText: true,
  keepColumns: [],
};
const rowsPerPart = defaultRowsPerPart(dimensions);
const rowGroupRows = Math.min(defaultRowGroupRows(dimensions), rowsPerPart);
let part: EmbeddedRow[] = [];
const scratch = new Float32Array(rowsPerPart * dimensions);

function writePart(): void {
  // One vector array for every part, as PartWriter keeps one for Parquet.
  const table = timed('arrow', () => buildEmbeddingTable(part, layout, scratch));
  part = [];
  const ipc = timed('ipc', () => tableToIPC(table, 'stream'));
  timed('parquet', () =>
    encodeParquet(ipc, {
      rowGroupRows,
      metadata: table.schema.metadata,
      utf8Columns: table.schema.fields.filter((f) => f.name !== 'embedding').map((f) => f.name),
      dictionaryColumns: [],
      statisticsColumns: ['id'],
      byteStreamSplit: true,
    }),
  );
}

// Batches as the job makes them (same limits), one request body and one answer each.
const options = resolveJobOptions({ model: MODEL, baseUrl: 'http://127.0.0.1/v1' });
const limits = {
  maxInputs: options.batchSize,
  maxTokens: options.maxBatchTokens,
  maxBytes: options.maxBatchBytes,
};
let next = 0;
while (next < records.length) {
  const builder = new BatchBuilder(limits);
  const first = next;
  while (next < records.length && builder.fits((records[next] as InputRecord).text)) {
    builder.add((records[next] as InputRecord).text);
    next++;
  }
  const texts = builder.take();
  timed('request', () => JSON.stringify({ model: MODEL, input: texts, encoding_format: encoding }));
  // The endpoint's part, not counted: the answer as bytes on the wire.
  const wire = Buffer.from(
    renderEmbeddings({
      inputs: texts,
      model: MODEL,
      dimensions,
      encoding,
      reverseOrder: false,
      promptTokens: 1,
    }).body,
  );
  const body = timed('parse', () => JSON.parse(bodyText(wire)) as unknown);
  const { vectors } = timed('decode', () => decodeEmbeddings(body, { count: texts.length, dimensions }));
  for (let i = 0; i < texts.length; i++) {
    part.push({
      record: records[first + i] as InputRecord,
      contentHash: hashes[first + i] as string,
      vector: vectors[i] as Float32Array,
    });
    if (part.length >= rowsPerPart) writePart();
  }
}
if (part.length > 0) writePart();

const per100k = 100_000 / records.length / 1e6;
const costs = Object.fromEntries(
  Object.entries(spent).map(([stage, micros]) => [stage, micros * per100k]),
) as unknown as StageCosts;
process.stdout.write(`${JSON.stringify(costs)}\n`);
