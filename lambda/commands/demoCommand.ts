import { fileURLToPath } from 'node:url';
import { localOutputDir } from './expandInputs.ts';
import type { Io } from './io.ts';
import { runCommand } from './runCommand.ts';
import { searchCommand } from './searchCommand.ts';
import { similarityCommand } from './similarityCommand.ts';

const DEMO_INPUT = fileURLToPath(new URL('../../fixtures/products.csv', import.meta.url));

/**
 * `embed-batch demo` (what `npm start` runs): embeds the bundled product file,
 * then shows a similarity and a search over what it wrote. With no API key it
 * runs on the offline embedder, so it works on a fresh machine with no network.
 */
export async function demoCommand(argv: readonly string[], io: Io): Promise<number> {
  const out = argv[0] ?? 'out';
  const status = await runCommand([DEMO_INPUT, '--out', out, '--keep-columns', 'title,category'], io);
  if (status !== 0) return status;
  const outputDir = localOutputDir(DEMO_INPUT, out, io.cwd);
  io.stdout(`\nOutput: ${outputDir}/ (part-00000.parquet, errors.jsonl, usage.json, manifest.json)`);
  const a = 'stainless steel electric kettle';
  const b = 'electric kettle made of stainless steel';
  io.stdout(`\nembed-batch similarity "${a}" "${b}"`);
  await similarityCommand([a, b], io);
  io.stdout(`\nembed-batch search ${outputDir} "coffee brewing" -k 3`);
  return searchCommand([outputDir, 'coffee brewing', '-k', '3'], io);
}
