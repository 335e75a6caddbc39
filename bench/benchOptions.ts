/**
 * Options of `npm run bench`, defaults applied and checked in one place.
 *
 *   npm run bench                          every section, 3 runs each (about 10 minutes)
 *   npm run bench -- --only throughput,cpu  some sections (throughput, cpu, memory, size, budget)
 *   npm run bench -- --only budget         the shared rate budget alone (static split vs shared, 1-8 workers)
 *   npm run bench -- --quick               1 run each, smaller inputs (a smoke test, about 2 minutes)
 *   npm run bench -- --memory-1m           also the 1M-row memory run (several minutes more)
 *   npm run bench -- --cli ../other/lambda/cli.ts --label "after fix"   measure another tree
 *   npm run bench -- --report /tmp/B.md --results-dir /tmp/r     leave BENCHMARKS.md and bench/results alone
 *   npm run bench -- --render-only         rewrite BENCHMARKS.md from bench/results/latest.json
 *
 * `--cli` changes the measured `embed-batch run` only; the stage split and the
 * output sizes always measure this tree's modules.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

/** The benchmark sections, in the order they run. */
export const SECTIONS = ['throughput', 'cpu', 'memory', 'size', 'budget'] as const;
export type Section = (typeof SECTIONS)[number];

/** What one `npm run bench` does. */
export interface BenchOptions {
  readonly sections: readonly Section[];
  readonly quick: boolean;
  /** Runs of every measured configuration. */
  readonly runs: number;
  /** Adds the 1M-row memory run. */
  readonly memory1m: boolean;
  /** The `embed-batch` entry point measured (lambda/cli.ts of a tree). */
  readonly cli: string;
  /** Names the measured tree in the report, e.g. "before" or "after fix X". */
  readonly label: string;
  /** Where BENCHMARKS.md goes. */
  readonly reportFile: string;
  /** Where raw JSON results go. */
  readonly resultsDir: string;
  /** Keeps the generated inputs and outputs (printed at the end). */
  readonly keep: boolean;
  /** Measures nothing: rewrites BENCHMARKS.md from the latest results. */
  readonly renderOnly: boolean;
}

const ROOT = path.resolve(fileURLToPath(new URL('..', import.meta.url)));

export const BENCH_USAGE = `Usage: npm run bench -- [--only ${SECTIONS.join(',')}] [--quick] [--runs N] [--memory-1m]
                        [--cli PATH/lambda/cli.ts] [--label TEXT] [--keep]
                        [--report FILE.md] [--results-dir DIR] [--render-only]`;

function positiveInteger(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (!Number.isInteger(number) || number < 1)
    throw new Error(`Expected \`${flag}\` to be a positive integer, got ${value}`);
  return number;
}

/** Parses the command line (after `npm run bench --`). */
export function parseBenchOptions(argv: readonly string[]): BenchOptions & { readonly help: boolean } {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    options: {
      only: { type: 'string' },
      quick: { type: 'boolean' },
      runs: { type: 'string' },
      'memory-1m': { type: 'boolean' },
      cli: { type: 'string' },
      label: { type: 'string' },
      keep: { type: 'boolean' },
      'render-only': { type: 'boolean' },
      report: { type: 'string' },
      'results-dir': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const sections = values.only === undefined ? [...SECTIONS] : values.only.split(',').map((s) => s.trim());
  for (const section of sections) {
    if (!(SECTIONS as readonly string[]).includes(section)) {
      throw new Error(
        `Expected \`--only\` to list sections of ${SECTIONS.join(', ')}, got ${JSON.stringify(section)}`,
      );
    }
  }
  const quick = values.quick ?? false;
  return {
    help: values.help ?? false,
    sections: SECTIONS.filter((section) => sections.includes(section)),
    quick,
    runs: positiveInteger(values.runs, '--runs') ?? (quick ? 1 : 3),
    memory1m: values['memory-1m'] ?? false,
    cli: path.resolve(values.cli ?? path.join(ROOT, 'lambda', 'cli.ts')),
    label: values.label ?? 'this tree',
    reportFile: path.resolve(values.report ?? path.join(ROOT, 'BENCHMARKS.md')),
    resultsDir: path.resolve(values['results-dir'] ?? path.join(ROOT, 'bench', 'results')),
    keep: values.keep ?? false,
    renderOnly: values['render-only'] ?? false,
  };
}
