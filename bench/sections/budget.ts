/**
 * Section 5, one rate budget for many workers: 1, 2, 4 and 8 `embed-batch
 * run` processes at once against one rate-limited `serve-local`, each
 * limited by a static split of the rate (today's deployment) or drawing on
 * one shared budget in a local DynamoDB (dynalite), in the same round.
 */
import path from 'node:path';
import { startLocalDynamo } from '../../test/helpers/dynamoServer.ts';
import { LocalEndpoint, tally } from '../endpoint/LocalEndpoint.ts';
import { writeCsvInput } from '../generateInput.ts';
import { runEmbedBatch } from '../runEmbedBatch.ts';
import type { BenchContext, BudgetResult, BudgetRun } from '../types.ts';

const MODEL = 'local/feature-hash';

/** The endpoint: IONOS-like limits, small latency. */
export const BUDGET_SERVER = { rps: 10, burst: 10, latencyMs: 50 } as const;
/** Inputs per request, and requests each worker sends. */
const BATCH = 8;
const REQUESTS_PER_WORKER = 16;
/** Workers at once, and the deployment size the static split divides by in the `rps / 8` mode. */
const WORKERS = [1, 2, 4, 8] as const;
const MAX_WORKERS = 8;
const TABLE = 'embed-batch-bench-budget';

/** How each worker is limited. */
export const BUDGET_MODES = [
  { name: 'static rps / N', description: 'each worker `--rps R/N` (a split by the workers running)' },
  {
    name: `static rps / ${MAX_WORKERS}`,
    description: `each worker \`--rps R/${MAX_WORKERS}\` (today's deployment: \`rateBudgetRps / maxConcurrency\`, maxConcurrency ${MAX_WORKERS})`,
  },
  { name: 'shared budget', description: 'each worker `--rps R --rate-table T` (one budget in DynamoDB)' },
] as const;

function flagsFor(mode: (typeof BUDGET_MODES)[number]['name'], workers: number): string[] {
  const rps = BUDGET_SERVER.rps;
  if (mode === 'shared budget') return ['--rps', String(rps), '--rate-table', TABLE];
  const share = mode === 'static rps / N' ? rps / workers : rps / MAX_WORKERS;
  return ['--rps', String(share)];
}

/** Runs the section: every mode at every worker count once per round. */
export async function benchBudget(context: BenchContext): Promise<BudgetResult> {
  const { options, workDir, log } = context;
  const s = BUDGET_SERVER;
  const rowsPerWorker = BATCH * REQUESTS_PER_WORKER;
  const input = path.join(workDir, `budget-${rowsPerWorker}.csv`);
  await writeCsvInput(input, rowsPerWorker);
  const endpoint = await LocalEndpoint.start({ ...s });
  const dynamo = await startLocalDynamo();
  const runs: BudgetRun[] = [];
  try {
    for (let round = 1; round <= options.runs; round++) {
      for (const workers of WORKERS) {
        for (const mode of BUDGET_MODES) {
          // At N = 8 both static splits are the same.
          if (mode.name === `static rps / ${MAX_WORKERS}` && workers === MAX_WORKERS) continue;
          // A full bucket for everyone: wait out what the previous run used.
          await new Promise((resolve) => setTimeout(resolve, (1000 * s.burst) / s.rps + 200));
          await endpoint.takeLog();
          const callsBefore = dynamo.calls();
          const results = await Promise.all(
            Array.from({ length: workers }, (_, i) =>
              runEmbedBatch({
                cli: options.cli,
                input,
                outRoot: path.join(
                  workDir,
                  'out',
                  `budget-${round}-${workers}-${mode.name.replace(/\W+/g, '-')}-${i}`,
                ),
                baseUrl: endpoint.url,
                model: MODEL,
                flags: ['--batch-size', String(BATCH), ...flagsFor(mode.name, workers)],
                env: dynamo.env,
              }),
            ),
          );
          const counts = tally(await endpoint.takeLog());
          const ok = counts.byStatus['200'] ?? 0;
          const run: BudgetRun = {
            mode: mode.name,
            workers,
            round,
            requests: counts.requests,
            ok,
            throttled: counts.byStatus['429'] ?? 0,
            spanSeconds: counts.spanMs / 1000,
            // n arrivals span n - 1 intervals: the last request's rows are not counted against the span.
            rowsPerSecond: (counts.embeddedInputs * (ok - 1)) / Math.max(1, ok) / (counts.spanMs / 1000),
            failedRows: results.reduce((sum, r) => sum + r.usage.rows.read - r.usage.rows.embedded, 0),
            dynamoCalls: dynamo.calls() - callsBefore,
          };
          runs.push(run);
          log(
            `budget round ${round}/${options.runs}: ${workers} worker(s), ${mode.name}: ${((100 * run.rowsPerSecond) / (s.rps * BATCH)).toFixed(0)} % of the ceiling, ${run.throttled} x 429, ${run.dynamoCalls} DynamoDB calls`,
          );
        }
      }
    }
  } finally {
    await endpoint.close();
    await dynamo.stop();
  }
  return {
    server: { ...s },
    batch: BATCH,
    requestsPerWorker: REQUESTS_PER_WORKER,
    ceilingRowsPerSecond: s.rps * BATCH,
    modes: BUDGET_MODES.map((mode) => ({ name: mode.name, description: mode.description })),
    runs,
  };
}
