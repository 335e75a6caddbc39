/** Section 5 of BENCHMARKS.md: one rate budget for many workers, static split against shared. */
import { formatNumber, formatSpread, spreadOf } from '../stats.ts';
import type { BudgetResult, SectionRecord } from '../types.ts';
import { type Goal, percent, scaled, table, taken, verdict } from './markdown.ts';

/** Most 429s per run the goal allows ("a handful"). */
const HANDFUL = 5;

/** The section, with its own goals table (it has a block of its own in BENCHMARKS.md). */
export function renderBudget(record: SectionRecord<BudgetResult>): string {
  const r = record.result;
  const s = r.server;
  const goals: Goal[] = [];
  const workerCounts = [...new Set(r.runs.map((run) => run.workers))].sort((a, b) => a - b);
  const rows: string[][] = [];
  for (const workers of workerCounts) {
    for (const mode of r.modes) {
      const runs = r.runs.filter((run) => run.workers === workers && run.mode === mode.name);
      if (runs.length === 0) continue;
      const ofCeiling = scaled(
        spreadOf(runs, (run) => run.rowsPerSecond),
        1 / r.ceilingRowsPerSecond,
      );
      const throttled = spreadOf(runs, (run) => run.throttled);
      rows.push([
        String(workers),
        mode.name,
        formatSpread(spreadOf(runs, (run) => run.rowsPerSecond)),
        percent(ofCeiling),
        formatSpread(throttled),
        formatSpread(spreadOf(runs, (run) => run.failedRows)),
        mode.name === 'shared budget'
          ? formatSpread(
              spreadOf(runs, (run) => run.dynamoCalls / Math.max(1, run.requests)),
              2,
            )
          : '—',
      ]);
      if (mode.name === 'shared budget') {
        goals.push({
          goal: `shared budget, ${workers} worker(s): >= 90 % of the ceiling, at most ${HANDFUL} 429s a run`,
          figure: `${percent(ofCeiling)}, ${formatSpread(throttled)} x 429`,
          met: ofCeiling.min >= 0.9 && throttled.max <= HANDFUL,
        });
      }
    }
  }
  return [
    '## 5. One rate budget for many workers',
    '',
    taken(record),
    '',
    `Endpoint: \`serve-local --rps ${s.rps} --burst ${s.burst} --latency-ms ${s.latencyMs}\` in its own process. **Ceiling: ${s.rps} requests/s x ${r.batch} inputs = ${formatNumber(r.ceilingRowsPerSecond)} rows/s.** N \`embed-batch run\` processes start at once, each embedding ${r.batch * r.requestsPerWorker} rows in ${r.requestsPerWorker} requests of ${r.batch} (\`--batch-size ${r.batch}\`). Rows/s is all rows the endpoint embedded over the span from its first arrival to its last, so a worker that starts late (process start-up) or finishes early shows as lost rate, as it would in a deployment. The shared budget is a table in dynalite (in-memory DynamoDB) in the benchmark's process; "DynamoDB calls per request" counts every call it received over the endpoint's requests.`,
    '',
    table(
      ['goal', 'figure (median (min–max))', 'verdict'],
      goals.map((g) => [g.goal, g.figure, verdict(g.met)]),
    ),
    '',
    table(
      ['mode', 'how each worker is limited'],
      r.modes.map((mode) => [mode.name, mode.description]),
    ),
    '',
    table(
      ['workers', 'mode', 'rows/s', 'of ceiling', '429s', 'failed rows', 'DynamoDB calls per request'],
      rows,
    ),
  ].join('\n');
}
