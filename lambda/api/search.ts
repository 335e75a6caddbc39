/**
 * The library's `search`: the top-k rows of an embed-batch output by cosine
 * similarity with a query, streamed (see `searchVectors`).
 */
import { createStore } from '../commands/createStore.ts';
import { endpointConfig } from '../commands/endpointConfig.ts';
import { type CreatedEmbedder, createEmbedder } from '../embed/createEmbedder.ts';
import { OFFLINE_MODEL } from '../embed/featureHash.ts';
import { ConfigError, InputError } from '../errors.ts';
import { API_OPTIONS } from '../optionNames.ts';
import { type SearchResult, searchVectors } from '../search/searchVectors.ts';
import type { ObjectStore } from '../store/ObjectStore.ts';
import { joinUri } from '../store/uri.ts';
import { readManifest } from '../write/OutputFolder.ts';
import { envWithKey } from './envWithKey.ts';

export type { SearchHit, SearchResult } from '../search/searchVectors.ts';

/** Options of {@link search}. */
export interface SearchOptions {
  /** How many rows to return. @default 5 */
  readonly k?: number;
  /** Where the output is read from. @default local files, and S3 from the SDK's standard settings */
  readonly store?: ObjectStore;
  /**
   * Embeds the query. Its model must be the one recorded in the output.
   * @default one for the output's model: the offline embedder for `local/feature-hash`, else the endpoint below
   */
  readonly embedder?: CreatedEmbedder;
  /** Endpoint for the query. @default `EMBEDDINGS_BASE_URL`, else IONOS with a key */
  readonly baseUrl?: string;
  /** API key. Never logged or written. @default `EMBEDDINGS_API_KEY` or `IONOS_API_TOKEN` */
  readonly apiKey?: string;
  /** Environment the defaults come from. @default process.env */
  readonly env?: NodeJS.ProcessEnv;
}

/**
 * Embeds `query` with the model recorded in the output and returns the
 * top-k rows by cosine similarity, with their id, text and kept columns.
 * `target` is an output folder (its manifest's parts; the Parquet ones when it
 * has both) or one `.parquet`/`.arrow` part. Memory stays bounded: one row
 * group at a time, a heap of k.
 *
 * @throws {InputError} when `target` is not a complete embed-batch output.
 */
export async function search(
  target: string,
  query: string,
  options: SearchOptions = {},
): Promise<SearchResult> {
  if (query.trim() === '') throw new ConfigError('Expected a query, got an empty string');
  const k = options.k ?? 5;
  if (!Number.isInteger(k) || k < 1)
    throw new ConfigError(`Expected \`k\` to be a positive integer, got ${k}`);
  const env = envWithKey(options);
  const store = options.store ?? createStore(env);
  return searchVectors({
    store,
    parts: await vectorFilesOf(target, store),
    k,
    embedQuery: (model, dimensions) => embedQuery(query, model, dimensions, options, env),
  });
}

/** The part files of an output folder (by its manifest), or the one file named. */
async function vectorFilesOf(target: string, store: ObjectStore): Promise<string[]> {
  if (/\.(parquet|arrow)$/i.test(target)) return [target];
  const manifest = await readManifest(store, target);
  if (!manifest)
    throw new InputError(`${target}: no manifest.json here; not a complete embed-batch output folder`);
  // Both formats hold the same rows. The Parquet parts are a quarter fewer bytes to download, and
  // scan faster than the Arrow ones even from a local disk (BENCHMARKS.md, section 8).
  const of = (extension: string) => manifest.parts.filter((p) => p.uri.endsWith(extension));
  const chosen = of('.parquet').length > 0 ? of('.parquet') : of('.arrow');
  // Parts are listed by URI; a folder that was moved still works by name.
  return chosen.map((p) => joinUri(target, p.uri.slice(p.uri.lastIndexOf('/') + 1)));
}

async function embedQuery(
  query: string,
  model: string,
  dimensions: number,
  options: SearchOptions,
  env: NodeJS.ProcessEnv,
): Promise<Float32Array> {
  let created = options.embedder;
  if (created === undefined) {
    const offline = model === OFFLINE_MODEL;
    const endpoint = offline
      ? { model, offline: true as const }
      : endpointConfig({ baseUrl: options.baseUrl, model }, env, API_OPTIONS);
    created = createEmbedder({ ...endpoint, dimensions, concurrency: 1 });
  } else if (created.transport.model !== model) {
    throw new ConfigError(`The embedder's model ${created.transport.model} is not the output's, ${model}`);
  }
  const { vectors, rejected } = await created.embedder.embedBatch([query]);
  const vector = vectors[0];
  if (!vector) throw new ConfigError(`The endpoint refused the query: ${rejected[0]?.reason ?? 'no vector'}`);
  if (vector.length !== dimensions) {
    throw new ConfigError(
      `The query came back with ${vector.length} dimensions, the output has ${dimensions}`,
    );
  }
  return vector;
}
