/**
 * Section 3, memory: peak RSS of `embed-batch run` at 1024 dimensions as the
 * input grows (10k, 100k, and with `--memory-1m` 1M rows), against a
 * zero-latency endpoint in its own process.
 */
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { LocalEndpoint } from '../endpoint/LocalEndpoint.ts';
import { writeCsvInput } from '../generateInput.ts';
import { runEmbedBatch } from '../runEmbedBatch.ts';
import type { BenchContext, CpuRun, MemoryResult } from '../types.ts';

const MODEL = 'local/feature-hash';
const DIMENSIONS = 1024;

/** Runs the section. */
export async function benchMemory(context: BenchContext): Promise<MemoryResult> {
  const { options, workDir, log } = context;
  const sizes = options.quick ? [10_000, 30_000] : [10_000, 100_000];
  if (options.memory1m) sizes.push(1_000_000);
  const endpoint = await LocalEndpoint.start({ dimensions: DIMENSIONS });
  const cases: { rows: number; dimensions: number; runs: CpuRun[] }[] = [];
  try {
    for (const rows of sizes) {
      const input = path.join(workDir, `memory-${rows}.csv`);
      await writeCsvInput(input, rows);
      const runs: CpuRun[] = [];
      // The 1M-row run takes minutes: once is enough to see whether memory stays flat.
      const count = rows >= 1_000_000 ? 1 : options.runs;
      for (let run = 1; run <= count; run++) {
        const outRoot = path.join(workDir, 'out', `memory-${rows}-${run}`);
        const { measured, usage } = await runEmbedBatch({
          cli: options.cli,
          input,
          outRoot,
          baseUrl: endpoint.url,
          model: MODEL,
        });
        // A million rows at 1024 dimensions is gigabytes of Parquet: drop each output once measured.
        await rm(outRoot, { recursive: true, force: true });
        const seconds = usage.timing.duration_ms / 1000;
        runs.push({
          rowsPerSecond: usage.rows.embedded / seconds,
          cpuSeconds: measured.cpuSeconds,
          wallSeconds: measured.wallSeconds,
          maxRssBytes: measured.maxRssBytes,
        });
        log(
          `memory ${rows} rows, run ${run}/${count}: peak RSS ${(measured.maxRssBytes / 2 ** 20).toFixed(0)} MiB`,
        );
      }
      cases.push({ rows, dimensions: DIMENSIONS, runs });
    }
  } finally {
    await endpoint.close();
  }
  return { cases };
}
