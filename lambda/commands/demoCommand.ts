import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ConfigError } from '../errors.ts';
import { isS3Uri } from '../store/uri.ts';
import { localOutputDir } from './expandInputs.ts';
import type { Io } from './io.ts';
import { runCommand } from './runCommand.ts';
import { searchCommand } from './searchCommand.ts';
import { similarityCommand } from './similarityCommand.ts';

/** The package's root folder (two up from this file, in the source tree and in dist/ alike). */
const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DEMO_INPUT = path.join(PACKAGE_ROOT, 'fixtures', 'products.csv');

export const DEMO_USAGE = `Usage: embed-batch demo [--out DIR]

Embeds fixtures/products.csv (offline unless EMBEDDINGS_API_KEY or EMBEDDINGS_BASE_URL is set),
then shows a similarity and a search over the output. What \`npm start\` runs.
  --out DIR   output root (default out)`;

/**
 * `embed-batch demo` (what `npm start` runs): embeds the bundled product file,
 * then shows a similarity and a search over what it wrote. With no API key it
 * runs on the offline embedder, so it works on a fresh machine with no network.
 */
export async function demoCommand(argv: readonly string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: { out: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help === true) {
    io.stdout(DEMO_USAGE);
    return 0;
  }
  // `demo DIR` (the older form) still works.
  if (positionals.length > 1 || (positionals.length === 1 && values.out !== undefined)) {
    throw new ConfigError(`Expected at most one output folder\n${DEMO_USAGE}`);
  }
  const out = values.out ?? positionals[0] ?? 'out';
  // The output goes below the caller's folder, as OUT/fixtures/products.csv/ wherever the package
  // sits: run from the package root (so the input keeps its path `fixtures/products.csv`), with
  // --out said relative to that root. From an installed package it would otherwise land in
  // out/node_modules/embed-batch/fixtures/products.csv/.
  const outFromRoot = isS3Uri(out) ? out : path.relative(PACKAGE_ROOT, path.resolve(io.cwd, out)) || '.';
  const status = await runCommand([DEMO_INPUT, '--out', outFromRoot, '--keep-columns', 'title,category'], {
    ...io,
    cwd: PACKAGE_ROOT,
  });
  if (status !== 0) return status;
  const outputDir = localOutputDir(DEMO_INPUT, out, PACKAGE_ROOT);
  io.stdout(`\nOutput: ${outputDir}/ (part-00000.parquet, errors.jsonl, usage.json, manifest.json)`);
  const a = 'stainless steel electric kettle';
  const b = 'electric kettle made of stainless steel';
  io.stdout(`\nembed-batch similarity "${a}" "${b}"`);
  await similarityCommand([a, b], io);
  io.stdout(`\nembed-batch search ${outputDir} "coffee brewing" -k 3`);
  return searchCommand([outputDir, 'coffee brewing', '-k', '3'], io);
}
