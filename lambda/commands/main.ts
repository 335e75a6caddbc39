import { readFileSync } from 'node:fs';
import { closestName, flagError } from './flagError.ts';
import { errorLine, type Io } from './io.ts';

export const USAGE = `Usage: embed-batch <command> [options]

Commands:
  run <input...> [--out DIR|s3://b/p]   embed CSV/JSONL files (local, s3://bucket/key, s3://bucket/prefix/)
  plan <input...> [run's flags]          what run would do and cost: rows, rejects, duplicates, reuse, tokens, requests, time
  reindex <s3://b/input/|DIR> [--out ...] [--force]   embed only new or changed files below a prefix
  models                                 list the endpoint's models
  similarity "text a" "text b"           cosine similarity of two texts
  search <output dir|.parquet> "query" [-k 5]   top-k rows by cosine
  serve-local [--port 8080]              offline OpenAI-compatible endpoint, with fault options
  demo                                   run the bundled example offline (what npm start does)

Run \`embed-batch help <command>\` (or \`<command> --help\`) for a command's options; \`--version\` prints the version.`;

/** One command: what runs it, and its usage for `help <command>`. */
interface Command {
  readonly run: (argv: readonly string[], io: Io) => Promise<number>;
  readonly usage: string;
}

/**
 * Every command behind a dynamic import, so a start pays only for the command
 * it runs: `--help`, `--version` and a mistyped command load none of them (and
 * so neither apache-arrow, parquet-wasm nor the AWS SDK). BENCHMARKS.md has
 * the start-up figures; test/e2e/startup.test.ts keeps it so.
 */
const COMMANDS: ReadonlyMap<string, () => Promise<Command>> = new Map<string, () => Promise<Command>>([
  [
    'run',
    async () => {
      const { runCommand, RUN_USAGE } = await import('./runCommand.ts');
      return { run: runCommand, usage: RUN_USAGE };
    },
  ],
  [
    'plan',
    async () => {
      const { planCommand, PLAN_USAGE } = await import('./planCommand.ts');
      return { run: planCommand, usage: PLAN_USAGE };
    },
  ],
  [
    'reindex',
    async () => {
      const { reindexCommand, REINDEX_USAGE } = await import('./reindexCommand.ts');
      return { run: reindexCommand, usage: REINDEX_USAGE };
    },
  ],
  [
    'models',
    async () => {
      const { modelsCommand, MODELS_USAGE } = await import('./modelsCommand.ts');
      return { run: modelsCommand, usage: MODELS_USAGE };
    },
  ],
  [
    'similarity',
    async () => {
      const { similarityCommand, SIMILARITY_USAGE } = await import('./similarityCommand.ts');
      return { run: similarityCommand, usage: SIMILARITY_USAGE };
    },
  ],
  [
    'search',
    async () => {
      const { searchCommand, SEARCH_USAGE } = await import('./searchCommand.ts');
      return { run: searchCommand, usage: SEARCH_USAGE };
    },
  ],
  [
    'serve-local',
    async () => {
      const { serveLocalCommand, SERVE_LOCAL_USAGE } = await import('../serve/serveLocalCommand.ts');
      return {
        // Resolves once it listens; the open server keeps the process alive until a signal.
        run: async (argv) => {
          await serveLocalCommand([...argv]);
          return 0;
        },
        usage: SERVE_LOCAL_USAGE.trimEnd(),
      };
    },
  ],
  [
    'demo',
    async () => {
      const { demoCommand, DEMO_USAGE } = await import('./demoCommand.ts');
      return { run: demoCommand, usage: DEMO_USAGE };
    },
  ],
]);

/** The package's version, from package.json (two folders up from this file, in the source tree and in dist/ alike). */
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
        const load = COMMANDS.get(topic);
        if (load === undefined) {
          io.stderr(`embed-batch: no command ${JSON.stringify(topic)}\n${USAGE}`);
          return 1;
        }
        io.stdout((await load()).usage);
        return 0;
      }
      case undefined:
        io.stdout(USAGE);
        return 1;
      default: {
        const load = COMMANDS.get(command);
        if (load !== undefined) return await (await load()).run(rest, io);
        const suggestion = closestName(command, [...COMMANDS.keys()]);
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
