/**
 * Section 2, CPU cost per row: `embed-batch run` against a zero-latency,
 * unlimited endpoint (its own process), at 384 and 1024 dimensions, base64
 * and float answers; then the split by stage (stages/measureStages.ts) and
 * the floor, parquet-wasm writing the same prepared table alone.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LocalEndpoint } from '../endpoint/LocalEndpoint.ts';
import { writeCsvInput } from '../generateInput.ts';
import { measureProcess } from '../measureProcess.ts';
import { runEmbedBatch } from '../runEmbedBatch.ts';
import type { BenchContext, CpuCase, CpuResult, CpuRun, StageCosts } from '../types.ts';

const MODEL = 'local/feature-hash';
const STAGES_SCRIPT = fileURLToPath(new URL('../stages/measureStages.ts', import.meta.url));
const CASES = [
  { dimensions: 384, encoding: 'base64' },
  { dimensions: 384, encoding: 'float' },
  { dimensions: 1024, encoding: 'base64' },
  { dimensions: 1024, encoding: 'float' },
] as const;

/** Runs the section. */
export async function benchCpu(context: BenchContext): Promise<CpuResult> {
  const { options, workDir, log } = context;
  const rows = options.quick ? 10_000 : 40_000;
  const input = path.join(workDir, `cpu-${rows}.csv`);
  await writeCsvInput(input, rows);
  const oneRow = path.join(workDir, 'cpu-1.csv');
  await writeCsvInput(oneRow, 1);

  const startupCpuSeconds: number[] = [];
  const cases: { dimensions: number; encoding: 'base64' | 'float'; runs: CpuRun[]; stages: StageCosts[] }[] =
    CASES.map((c) => ({ ...c, runs: [], stages: [] }));
  let job = 0;
  for (let round = 1; round <= options.runs; round++) {
    for (const entry of cases) {
      // `--floats-only` makes the endpoint ignore the client's base64 request, as some servers do.
      const endpoint = await LocalEndpoint.start({
        dimensions: entry.dimensions,
        floatsOnly: entry.encoding === 'float',
      });
      try {
        if (entry === cases[0]) {
          const startup = await runEmbedBatch({
            cli: options.cli,
            input: oneRow,
            outRoot: path.join(workDir, 'out', `cpu-startup-${round}`),
            baseUrl: endpoint.url,
            model: MODEL,
          });
          startupCpuSeconds.push(startup.measured.cpuSeconds);
        }
        const { measured, usage } = await runEmbedBatch({
          cli: options.cli,
          input,
          outRoot: path.join(workDir, 'out', `cpu-${job++}`),
          baseUrl: endpoint.url,
          model: MODEL,
        });
        const seconds = usage.timing.duration_ms / 1000;
        entry.runs.push({
          rowsPerSecond: usage.rows.embedded / seconds,
          cpuSeconds: measured.cpuSeconds,
          wallSeconds: measured.wallSeconds,
          maxRssBytes: measured.maxRssBytes,
        });
        log(
          `cpu round ${round}/${options.runs}: ${entry.dimensions} dims ${entry.encoding}: ${(usage.rows.embedded / seconds).toFixed(0)} rows/s, ${measured.cpuSeconds.toFixed(2)} CPU s`,
        );
      } finally {
        await endpoint.close();
      }
      const stages = await measureProcess(STAGES_SCRIPT, [input, String(entry.dimensions), entry.encoding]);
      if (stages.exitCode !== 0) throw new Error(`measureStages failed:\n${stages.stderr.slice(-2000)}`);
      entry.stages.push(JSON.parse(stages.stdout.trim().split('\n').pop() ?? '{}') as StageCosts);
    }
  }
  return { startupCpuSeconds, cases: cases.map((c): CpuCase => ({ ...c, rows })) };
}
