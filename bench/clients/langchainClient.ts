/**
 * Peer: LangChain's `OpenAIEmbeddings` (@langchain/openai 1.5.x) at its
 * defaults (maxConcurrency 2, AsyncCaller's 6 retries, the SDK's base64),
 * with `batchSize` set to the server's maximum inputs per request.
 *
 * Usage: langchainClient.ts <input.csv> <baseUrl> <model> <batchSize>
 */
import { OpenAIEmbeddings } from '@langchain/openai';
import { readTexts } from './readTexts.ts';
import type { ClientReport } from './types.ts';
import { parseClientArgs } from './types.ts';

const args = parseClientArgs(process.argv.slice(2));
const started = performance.now();
const texts = await readTexts(args.input);
const embeddings = new OpenAIEmbeddings({
  model: args.model,
  apiKey: 'bench',
  configuration: { baseURL: args.baseUrl },
  batchSize: args.batchSize,
});
let vectors: number[][] = [];
let failure: unknown;
try {
  vectors = await embeddings.embedDocuments(texts);
} catch (error) {
  // embedDocuments is all or nothing: one batch that runs out of retries fails every row.
  failure = error;
}
const report: ClientReport = {
  rows: texts.length,
  embedded: vectors.length,
  failed: texts.length - vectors.length,
  dimensions: vectors[0]?.length ?? 0,
  seconds: (performance.now() - started) / 1000,
};
if (failure !== undefined) process.stderr.write(`langchain: ${String(failure)}\n`);
process.stdout.write(`${JSON.stringify(report)}\n`);
