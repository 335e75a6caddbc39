import { parseArgs } from 'node:util';
import { type SearchHit, search } from '../api/search.ts';
import { ConfigError } from '../errors.ts';
import { endpointConfig } from './endpointConfig.ts';
import { flagError } from './flagError.ts';
import { type Io, numberFlag } from './io.ts';

export const SEARCH_USAGE = `Usage: embed-batch search <output dir|file.parquet|file.arrow> "query" [-k 5] [--json] [--base-url URL]

Embeds the query with the model recorded in the output, and prints the k rows
closest to it by cosine similarity, with their kept columns. Brute force over
every row, streamed one row group at a time (memory stays flat on any output).
Of an output written as both Parquet and Arrow, the Parquet files are read (fewer
bytes, and faster to scan).
  -k N            rows to print (default 5)
  --json          one JSON object: query, model, rows_scanned, hits [{rank, score, id, text, columns, part, row}]
  --base-url URL  the endpoint that embeds the query (EMBEDDINGS_BASE_URL; the offline model needs none)`;

const FLAGS = {
  k: { type: 'string', short: 'k' },
  'base-url': { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/**
 * `embed-batch search`: embeds the query with the model recorded in the parts
 * and prints the top-k rows by cosine similarity (`searchVectors`).
 */
export async function searchCommand(argv: readonly string[], io: Io): Promise<number> {
  let parsed: ReturnType<typeof parseArgs<{ args: string[]; allowPositionals: true; options: typeof FLAGS }>>;
  try {
    parsed = parseArgs({ args: [...argv], allowPositionals: true, strict: true, options: FLAGS });
  } catch (error) {
    throw flagError(error, 'search', Object.keys(FLAGS));
  }
  const { values, positionals } = parsed;
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

  // A given flag checked as the CLI names it; the library would call it `baseUrl`.
  if (values['base-url'] !== undefined) endpointConfig({ baseUrl: values['base-url'] }, io.env);
  const started = performance.now();
  const result = await search(target, query, { k, baseUrl: values['base-url'], env: io.env });
  const elapsedMs = Math.round(performance.now() - started);
  if (values.json) {
    io.stdout(
      JSON.stringify({
        query,
        model: result.model ?? null,
        dimensions: result.dimensions ?? null,
        rows_scanned: result.rowsScanned,
        elapsed_ms: elapsedMs,
        hits: result.hits.map(jsonHit),
      }),
    );
    return 0;
  }
  if (result.rowsScanned === 0) {
    io.stdout('no rows');
    return 0;
  }
  for (const hit of result.hits) io.stdout(hitLine(hit));
  return 0;
}

function jsonHit(hit: SearchHit): Record<string, unknown> {
  const { id, text, ...kept } = hit.columns;
  return {
    rank: hit.rank,
    score: hit.score,
    id: id ?? null,
    ...(text === undefined ? {} : { text }),
    columns: kept,
    part: hit.uri,
    row: hit.row,
  };
}

/** `1. 0.8123  p-17  category=kitchen  The text, on one line, cut at 100 characters`. */
function hitLine(hit: SearchHit): string {
  const { id, text, ...kept } = hit.columns;
  const keptText = Object.entries(kept)
    .map(([name, value]) => `${name}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
    .join(' ');
  const shown = typeof text === 'string' ? text.replace(/\s+/g, ' ').slice(0, 100) : '';
  return [`${hit.rank}. ${hit.score.toFixed(4)}`, String(id ?? ''), keptText, shown]
    .filter((piece) => piece !== '')
    .join('  ');
}
