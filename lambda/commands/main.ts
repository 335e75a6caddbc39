import { serveLocalCommand } from '../serve/serveLocalCommand.ts';
import { demoCommand } from './demoCommand.ts';
import { errorLine, type Io } from './io.ts';
import { modelsCommand } from './modelsCommand.ts';
import { reindexCommand } from './reindexCommand.ts';
import { runCommand } from './runCommand.ts';
import { searchCommand } from './searchCommand.ts';
import { similarityCommand } from './similarityCommand.ts';

export const USAGE = `Usage: embed-batch <command> [options]

Commands:
  run <input...> [--out DIR|s3://b/p]   embed CSV/JSONL files (local, s3://bucket/key, s3://bucket/prefix/)
  reindex <s3://b/input/|DIR> [--out ...] [--force]   embed only new or changed files below a prefix
  models                                 list the endpoint's models
  similarity "text a" "text b"           cosine similarity of two texts
  search <output dir|.parquet> "query" [-k 5]   top-k rows by cosine
  serve-local [--port 8080]              offline OpenAI-compatible endpoint, with fault options
  demo                                   run the bundled example offline (what npm start does)

Run \`embed-batch <command> --help\` for a command's options.`;

/** Runs one command line; returns the exit status. Errors become one line on stderr. */
export async function main(argv: readonly string[], io: Io): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'run':
        return await runCommand(rest, io);
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
        await serveLocalCommand([...rest]);
        return 0;
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        io.stdout(USAGE);
        return command === undefined ? 1 : 0;
      default:
        io.stderr(`embed-batch: unknown command ${JSON.stringify(command)}\n${USAGE}`);
        return 1;
    }
  } catch (error) {
    io.stderr(errorLine(error));
    return 1;
  }
}
