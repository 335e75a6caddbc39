import { readFileSync } from 'node:fs';
import { SERVE_LOCAL_USAGE, serveLocalCommand } from '../serve/serveLocalCommand.ts';
import { DEMO_USAGE, demoCommand } from './demoCommand.ts';
import { closestName, flagError } from './flagError.ts';
import { errorLine, type Io } from './io.ts';
import { MODELS_USAGE, modelsCommand } from './modelsCommand.ts';
import { PLAN_USAGE, planCommand } from './planCommand.ts';
import { REINDEX_USAGE, reindexCommand } from './reindexCommand.ts';
import { RUN_USAGE, runCommand } from './runCommand.ts';
import { SEARCH_USAGE, searchCommand } from './searchCommand.ts';
import { SIMILARITY_USAGE, similarityCommand } from './similarityCommand.ts';

export const USAGE = `Usage: embed-batch <command> [options]

Commands:
  run <input...> [--out DIR|s3://b/p]   embed CSV/JSONL files (local, s3://bucket/key, s3://bucket/prefix/)
  plan <input...> [run's flags]          what run would do and cost: rows, rejects, duplicates, reuse, tokens, requests, time
  reindex <s3://b/input/|DIR> [--out ...] [--force]   embed only new or changed files below a prefix
  models                                 list the endpoint's models
  similarity "text a" "text b"           cosine similarity of two texts
  search <output dir|.parquet> "query" [-k 5] [--json]   top-k rows by cosine, with their kept columns
  serve-local [--port 8080]              offline OpenAI-compatible endpoint, with fault options
  demo                                   run the bundled example offline (what npm start does)

Run \`embed-batch help <command>\` (or \`<command> --help\`) for a command's options; \`--version\` prints the version.`;

/** Each command's own usage, for `help <command>`. */
const COMMAND_USAGE: Readonly<Record<string, string>> = {
  run: RUN_USAGE,
  plan: PLAN_USAGE,
  reindex: REINDEX_USAGE,
  models: MODELS_USAGE,
  similarity: SIMILARITY_USAGE,
  search: SEARCH_USAGE,
  'serve-local': SERVE_LOCAL_USAGE.trimEnd(),
  demo: DEMO_USAGE,
};

/** The package's version, from package.json (the CLI runs from the source tree). */
export function packageVersion(): string {
  const json = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version?: unknown;
  };
  return typeof json.version === 'string' ? json.version : 'unknown';
}

function isParseArgsError(error: unknown): boolean {
  const code = error instanceof Error ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_');
}

/** Runs one command line; returns the exit status. Errors become one line on stderr. */
export async function main(argv: readonly string[], io: Io): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'run':
        return await runCommand(rest, io);
      case 'plan':
        return await planCommand(rest, io);
      case 'reindex':
        return await reindexCommand(rest, io);
      case 'models':
        return await modelsCommand(rest, io);
      case 'similarity':
        return await similarityCommand(rest, io);
      case 'search':
        return await searchCommand(rest, io);
      case 'demo':
        return await demoCommand(rest, io);
      case 'serve-local':
        // Resolves once it listens; the open server keeps the process alive until a signal.
        await serveLocalCommand([...rest]);
        return 0;
      case '--version':
      case '-v':
      case 'version':
        io.stdout(`embed-batch ${packageVersion()}`);
        return 0;
      case 'help':
      case '--help':
      case '-h': {
        const topic = rest[0];
        if (topic === undefined) {
          io.stdout(USAGE);
          return 0;
        }
        const usage = COMMAND_USAGE[topic];
        if (usage === undefined) {
          io.stderr(`embed-batch: no command ${JSON.stringify(topic)}\n${USAGE}`);
          return 1;
        }
        io.stdout(usage);
        return 0;
      }
      case undefined:
        io.stdout(USAGE);
        return 1;
      default: {
        const suggestion = closestName(command, Object.keys(COMMAND_USAGE));
        const hint = suggestion === undefined ? '' : `; did you mean ${suggestion}?`;
        io.stderr(`embed-batch: unknown command ${JSON.stringify(command)}${hint}\n${USAGE}`);
        return 1;
      }
    }
  } catch (error) {
    io.stderr(errorLine(isParseArgsError(error) ? flagError(error, command ?? '', []) : error));
    return 1;
  }
}
