/**
 * The DuckDB contender of `npm run bench:search`, run as its own process:
 * brute-force cosine top-k over Parquet parts with DuckDB's
 * `array_cosine_similarity`, returning the same columns `search` returns.
 *
 *   tsx bench/search/duckdbSearch.ts '<dir>/part-*.parquet' "query" K DIMENSIONS THREADS
 *
 * Prints one JSON line: setup_ms (instance and connection), query_ms, ids, scores.
 */
import { DuckDBInstance } from '@duckdb/node-api';
import { featureHashEmbed } from '../../lambda/embed/featureHash.ts';

const [glob, query, k, dimensions, threads] = process.argv.slice(2);
if (glob === undefined || query === undefined)
  throw new Error('Usage: duckdbSearch.ts GLOB QUERY K DIMENSIONS THREADS');
const d = Number(dimensions ?? 384);
const started = performance.now();
const instance = await DuckDBInstance.create(':memory:', { threads: String(threads ?? 2) });
const connection = await instance.connect();
const ready = performance.now();
// The query embedded exactly as `search` embeds it for the offline model.
const vector = Array.from(featureHashEmbed(query, d)).join(',');
const reader = await connection.runAndReadAll(
  `select id, text, category, array_cosine_similarity(embedding::FLOAT[${d}], [${vector}]::FLOAT[${d}]) as score
   from read_parquet('${glob.replaceAll("'", "''")}')
   order by score desc limit ${Number(k ?? 10)}`,
);
const rows = reader.getRowObjectsJS() as { id: string; score: number }[];
const done = performance.now();
connection.closeSync();
instance.closeSync();
process.stdout.write(
  `${JSON.stringify({
    setup_ms: Math.round(ready - started),
    query_ms: Math.round(done - ready),
    ids: rows.map((r) => String(r.id)),
    scores: rows.map((r) => Number(r.score)),
  })}\n`,
);
