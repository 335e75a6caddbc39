import { parseArgs } from 'node:util';
import { createEmbedder } from '../embed/createEmbedder.ts';
import { cosineSimilarity, OFFLINE_MODEL } from '../embed/featureHash.ts';
import { ConfigError, InputError } from '../errors.ts';
import { joinUri } from '../store/uri.ts';
import { readManifest } from '../write/OutputFolder.ts';
import { readVectorFile, type VectorFile } from '../write/readVectorFile.ts';
import { createStore } from './createStore.ts';
import { endpointConfig } from './endpointConfig.ts';
import { type Io, numberFlag } from './io.ts';

export const SEARCH_USAGE =
  'Usage: embed-batch search <output dir|file.parquet|file.arrow> "query" [-k 5] [--base-url URL]';

interface Hit {
  readonly score: number;
  readonly id: string;
  readonly text?: string;
}

/**
 * `embed-batch search`: embeds the query with the model recorded in the file
 * and prints the top-k rows by cosine similarity. Reads one part at a time.
 */
export async function searchCommand(argv: readonly string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      k: { type: 'string', short: 'k' },
      'base-url': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    io.stdout(SEARCH_USAGE);
    return 0;
  }
  const [target, query, ...rest] = positionals;
  if (target === undefined || query === undefined || rest.length > 0 || query.trim() === '') {
    throw new ConfigError(`Expected an output folder or file and a query\n${SEARCH_USAGE}`);
  }
  const k = numberFlag(values.k, '-k') ?? 5;
  if (!Number.isInteger(k) || k < 1)
    throw new ConfigError(`Expected \`-k\` to be a positive integer, got ${k}`);

  const store = createStore(io.env);
  const files = await vectorFilesOf(target, store);
  let queryVector: Float32Array | undefined;
  const hits: Hit[] = [];
  for (const uri of files) {
    const file: VectorFile = await readVectorFile(store, uri);
    queryVector ??= await embedQuery(query, file, values['base-url'], io);
    for (let row = 0; row < file.rows; row++) {
      const score = cosineSimilarity(queryVector, file.embedding(row));
      if (hits.length < k || score > (hits[hits.length - 1]?.score ?? -Infinity)) {
        hits.push({ score, id: file.id(row), text: file.text(row) });
        hits.sort((a, b) => b.score - a.score);
        if (hits.length > k) hits.pop();
      }
    }
  }
  for (const [rank, hit] of hits.entries()) {
    const text = hit.text === undefined ? '' : `  ${hit.text.replace(/\s+/g, ' ').slice(0, 100)}`;
    io.stdout(`${rank + 1}. ${hit.score.toFixed(4)}  ${hit.id}${text}`);
  }
  return 0;
}

async function vectorFilesOf(target: string, store: ReturnType<typeof createStore>): Promise<string[]> {
  if (/\.(parquet|arrow)$/i.test(target)) return [target];
  const manifest = await readManifest(store, target);
  if (!manifest)
    throw new InputError(`${target}: no manifest.json here; not a complete embed-batch output folder`);
  const parquet = manifest.parts.filter((p) => p.uri.endsWith('.parquet'));
  const chosen = parquet.length > 0 ? parquet : manifest.parts;
  // Parts are listed by URI; a folder that was moved still works by name.
  return chosen.map((p) => joinUri(target, p.uri.slice(p.uri.lastIndexOf('/') + 1)));
}

async function embedQuery(
  query: string,
  file: VectorFile,
  baseUrl: string | undefined,
  io: Io,
): Promise<Float32Array> {
  const model = file.model;
  const offline = model === OFFLINE_MODEL;
  const endpoint = offline ? { model, offline: true as const } : endpointConfig({ baseUrl, model }, io.env);
  const { embedder } = createEmbedder({ ...endpoint, dimensions: file.dimensions, concurrency: 1 });
  const { vectors, rejected } = await embedder.embedBatch([query]);
  const vector = vectors[0];
  if (!vector) throw new ConfigError(`The endpoint refused the query: ${rejected[0]?.reason ?? 'no vector'}`);
  if (vector.length !== file.dimensions) {
    throw new ConfigError(
      `The query came back with ${vector.length} dimensions, the file has ${file.dimensions}`,
    );
  }
  return vector;
}
