/** Section 2 of BENCHMARKS.md: CPU per row, the stage split, and the floor goal. */
import { formatNumber, formatSpread, type Spread, spreadOf, summarize } from '../stats.ts';
import type { CpuCase, CpuResult, SectionRecord, StageCosts } from '../types.ts';
import { type Goal, MIB, scaled, table, taken } from './markdown.ts';

const STAGE_LABELS: Record<keyof StageCosts, string> = {
  read: 'read CSV',
  hash: 'content hash',
  request: 'request JSON',
  parse: 'answer text + JSON.parse',
  decode: 'decode vectors',
  arrow: 'Arrow table',
  ipc: 'Arrow IPC',
  parquet: 'Parquet (wasm)',
};

function stageSum(costs: StageCosts): number {
  return Object.values(costs).reduce((sum, value) => sum + value, 0);
}

export function renderCpu(record: SectionRecord<CpuResult>, goals: Goal[]): string {
  const r = record.result;
  const startup = summarize(r.startupCpuSeconds);
  const net = (c: CpuCase): Spread =>
    spreadOf(c.runs, (run) => ((run.cpuSeconds - startup.median) * 100_000) / c.rows);
  const floor = (c: CpuCase): Spread => spreadOf(c.stages, (s) => s.ipc + s.parquet);
  // Run by run: the end-to-end run and the stage run of the same round.
  const overFloor = (c: CpuCase): Spread =>
    summarize(
      c.runs.map(
        (run, i) =>
          ((run.cpuSeconds - startup.median) * 100_000) /
          c.rows /
          ((c.stages[i]?.ipc ?? 0) + (c.stages[i]?.parquet ?? 0)),
      ),
    );
  const rows = r.cases.map((c) => [
    String(c.dimensions),
    c.encoding,
    formatSpread(spreadOf(c.runs, (run) => run.rowsPerSecond)),
    formatSpread(
      spreadOf(c.runs, (run) => (run.cpuSeconds * 100_000) / c.rows),
      1,
    ),
    formatSpread(net(c), 1),
    formatSpread(floor(c), 1),
    formatSpread(overFloor(c), 2, 'x'),
    formatSpread(
      scaled(
        spreadOf(c.runs, (run) => run.maxRssBytes),
        1 / MIB,
      ),
    ),
  ]);
  for (const c of r.cases) {
    const ratio = overFloor(c);
    goals.push({
      goal: `pipeline CPU within 1.5x of the Parquet floor (${c.dimensions} dims, ${c.encoding})`,
      figure: formatSpread(ratio, 2, 'x'),
      met: ratio.median <= 1.5,
    });
  }
  const stageKeys = Object.keys(STAGE_LABELS) as (keyof StageCosts)[];
  const stageRows = r.cases.map((c) => [
    `${c.dimensions} ${c.encoding}`,
    ...stageKeys.map((key) =>
      formatSpread(
        spreadOf(c.stages, (s) => s[key]),
        2,
      ),
    ),
    formatSpread(spreadOf(c.stages, stageSum), 2),
    formatSpread(net(c), 1),
  ]);
  const rowsCount = r.cases[0]?.rows ?? 0;
  return [
    '## 2. CPU cost per row',
    '',
    taken(record),
    '',
    `\`embed-batch run\` with default flags on ${formatNumber(rowsCount)} rows against \`serve-local\` with no latency and no limits, in its own process (it shares the 2 cores). ` +
      "`float`: the endpoint runs with `--floats-only`, ignoring the client's base64 request as some servers do. " +
      `CPU is the client process's user + system time; "net" takes off the ${formatNumber(startup.median, 2)} s (${formatNumber(startup.min, 2)}–${formatNumber(startup.max, 2)}) that a one-row job costs (Node + tsx startup, module loading, one request). ` +
      "The floor is parquet-wasm writing the same prepared table alone (Arrow IPC hand-off + `writeParquet`, the job's writer settings).",
    '',
    table(
      [
        'dims',
        'answer',
        'rows/s',
        'CPU s / 100k rows',
        'net CPU s / 100k',
        'floor CPU s / 100k',
        'net / floor',
        'peak RSS MiB',
      ],
      rows,
    ),
    '',
    "Split by stage, CPU seconds per 100k rows, each stage alone in one thread on the same rows (stages/measureStages.ts); the rest of the net figure is HTTP (node:http), the job's own bookkeeping, GC of the whole, and writing files:",
    '',
    table(['case', ...stageKeys.map((key) => STAGE_LABELS[key]), 'stages sum', 'end-to-end net'], stageRows),
  ].join('\n');
}
