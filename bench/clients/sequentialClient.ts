/**
 * Peer: the seed guide's approach, one request at a time. Batches of the
 * server's maximum inputs are sent strictly one after another with the
 * `openai` SDK at its defaults (base64 on the wire, 2 retries of its own).
 *
 * Usage: sequentialClient.ts <input.csv> <baseUrl> <model> <batchSize>
 */
import OpenAI from 'openai';
import { readTexts } from './readTexts.ts';
import type { ClientReport } from './types.ts';
import { parseClientArgs } from './types.ts';

const args = parseClientArgs(process.argv.slice(2));
const started = performance.now();
const texts = await readTexts(args.input);
const client = new OpenAI({ apiKey: 'bench', baseURL: args.baseUrl });
const vectors: number[][] = [];
let failed = 0;
for (let start = 0; start < texts.length; start += args.batchSize) {
  const batch = texts.slice(start, start + args.batchSize);
  try {
    const response = await client.embeddings.create({ model: args.model, input: batch });
    for (const item of response.data) vectors.push(item.embedding);
  } catch (error) {
    failed += batch.length;
    process.stderr.write(`sequential: batch at ${start}: ${String(error)}\n`);
  }
}
const report: ClientReport = {
  rows: texts.length,
  embedded: vectors.length,
  failed,
  dimensions: vectors[0]?.length ?? 0,
  seconds: (performance.now() - started) / 1000,
};
process.stdout.write(`${JSON.stringify(report)}\n`);
