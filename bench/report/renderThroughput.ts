/** Section 1 of BENCHMARKS.md: endpoint-bound throughput, ratios and their goals. */
import { formatNumber, formatSpread, type Spread, spreadOf, summarize } from '../stats.ts';
import type { SectionRecord, ThroughputResult } from '../types.ts';
import { type Goal, MIB, percent, scaled, table, taken } from './markdown.ts';

export function renderThroughput(record: SectionRecord<ThroughputResult>, goals: Goal[]): string {
  const r = record.result;
  const s = r.server;
  const byName = new Map(r.contenders.map((c) => [c.name, c]));
  const rows = r.contenders.map((c) => {
    const rate = spreadOf(c.runs, (run) => run.rowsPerSecond);
    return [
      c.name,
      c.description,
      formatSpread(rate, 0),
      percent(scaled(rate, 1 / r.ceilingRowsPerSecond)),
      formatSpread(spreadOf(c.runs, (run) => run.endpoint.throttled)),
      formatSpread(spreadOf(c.runs, (run) => run.endpoint.tooLarge)),
      formatSpread(spreadOf(c.runs, (run) => run.endpoint.requests)),
      percent(spreadOf(c.runs, (run) => (run.endpoint.requests - 1) / run.endpoint.spanSeconds / s.rps)),
      formatSpread(spreadOf(c.runs, (run) => run.failedRows)),
      formatSpread(
        spreadOf(c.runs, (run) => run.cpuSeconds),
        2,
      ),
      formatSpread(
        scaled(
          spreadOf(c.runs, (run) => run.maxRssBytes),
          1 / MIB,
        ),
      ),
    ];
  });
  const ratio = (a: string, b: string): Spread | undefined => {
    const x = byName.get(a)?.runs;
    const y = byName.get(b)?.runs;
    if (x === undefined || y === undefined || x.length === 0) return undefined;
    return summarize(x.map((run, i) => run.rowsPerSecond / (y[i]?.rowsPerSecond ?? Number.NaN)));
  };
  const tuned = 'embed-batch, tuned';
  const defaults = 'embed-batch, defaults';
  const ratioRows: string[][] = [];
  for (const a of [tuned, defaults]) {
    for (const b of ['LangChain OpenAIEmbeddings', 'sequential loop (openai SDK)']) {
      const value = ratio(a, b);
      if (value !== undefined) ratioRows.push([`${a} / ${b}`, formatSpread(value, 2, 'x')]);
      if (value !== undefined)
        goals.push({
          goal: `${a} ahead of ${b} (same-run ratio > 1)`,
          figure: formatSpread(value, 2, 'x'),
          met: value.median > 1,
        });
    }
  }
  for (const [name, target] of [
    [tuned, 0.9],
    [defaults, 0.7],
  ] as const) {
    const runs = byName.get(name)?.runs ?? [];
    const share = scaled(
      spreadOf(runs, (run) => run.rowsPerSecond),
      1 / r.ceilingRowsPerSecond,
    );
    goals.push({
      goal: `${name}: >= ${target * 100} % of the rate-limit ceiling`,
      figure: percent(share),
      met: share.median >= target,
    });
  }
  const failed = r.contenders
    .filter((c) => c.name.startsWith('embed-batch'))
    .flatMap((c) => c.runs)
    .reduce((sum, run) => sum + run.failedRows, 0);
  goals.push({
    goal: 'embed-batch: zero failed rows against the rate-limited endpoint',
    figure: `${failed} failed`,
    met: failed === 0,
  });

  return [
    '## 1. Endpoint-bound throughput',
    '',
    taken(record),
    '',
    `Endpoint: \`serve-local --rps ${s.rps} --burst ${s.burst} --max-inputs ${s.maxInputs} --latency-ms ${s.latencyMs} --latency-per-input-ms ${s.latencyPerInputMs}\` in its own process (a full batch takes ${s.latencyMs + s.latencyPerInputMs * s.maxInputs} ms). ` +
      `**Ceiling: ${s.rps} requests/s x ${s.maxInputs} inputs = ${formatNumber(r.ceilingRowsPerSecond)} rows/s** (the bucket starts full, so a run can beat it by up to ${s.burst} requests' worth). ` +
      `Every contender embeds the same ${formatNumber(r.rows)} rows (${formatNumber(r.rows / s.maxInputs)} full batches), interleaved round by round; the endpoint's bucket is refilled between contenders. ` +
      "Rows/s is rows over the work time: embed-batch's own `timing.duration_ms` (reading, requests and writing Parquet), the peers' from reading the CSV to the last vector in memory (they write nothing). 429s and 413s are counted by the endpoint; CPU and peak RSS are the client process's own. " +
      '"Request rate while running" is what the endpoint saw between the first and the last arrival (all statuses) over its limit: the client\'s pacing without the fixed costs of one job (start-up, the first batch sent alone, the last answer\'s latency, writing).',
    '',
    table(
      [
        'contender',
        'settings',
        'rows/s',
        'of ceiling',
        '429s',
        '413s',
        'requests',
        'request rate while running, of rps',
        'failed rows',
        'CPU s',
        'peak RSS MiB',
      ],
      rows,
    ),
    '',
    'Ratios of rows/s, run by run in the same round:',
    '',
    table(['ratio', 'median (min–max)'], ratioRows),
  ].join('\n');
}
