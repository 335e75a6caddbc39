/** Section 3 of BENCHMARKS.md: peak RSS by input size, and the memory goals. */
import { formatNumber, formatSpread, spreadOf, summarize } from '../stats.ts';
import type { MemoryResult, SectionRecord } from '../types.ts';
import { type Goal, MIB, scaled, table, taken } from './markdown.ts';

/** A Lambda function with 1,769 MB has one full vCPU; the job must fit with room to spare. */
export const LAMBDA_MEMORY_MB = 1_769;
/** "Room to spare": at most this share of the Lambda's memory. */
const LAMBDA_SHARE = 0.75;

export function renderMemory(record: SectionRecord<MemoryResult>, goals: Goal[]): string {
  const r = record.result;
  const rss = (rows: number) => r.cases.find((c) => c.rows === rows);
  const rows = r.cases.map((c) => {
    const peak = scaled(
      spreadOf(c.runs, (run) => run.maxRssBytes),
      1 / MIB,
    );
    return [
      formatNumber(c.rows),
      String(c.dimensions),
      formatSpread(peak),
      `${formatNumber((peak.median / LAMBDA_MEMORY_MB) * 100)} %`,
      formatSpread(spreadOf(c.runs, (run) => run.rowsPerSecond)),
      formatSpread(
        spreadOf(c.runs, (run) => run.wallSeconds),
        1,
      ),
    ];
  });
  const base = rss(100_000);
  const million = rss(1_000_000);
  if (base !== undefined && million !== undefined) {
    const ratio =
      summarize(million.runs.map((run) => run.maxRssBytes)).median /
      summarize(base.runs.map((run) => run.maxRssBytes)).median;
    goals.push({
      goal: 'peak RSS flat from 100k to 1M rows (<= 1.3x)',
      figure: `${formatNumber(ratio, 2)}x`,
      met: ratio <= 1.3,
    });
  } else {
    goals.push({
      goal: 'peak RSS flat from 100k to 1M rows (<= 1.3x)',
      figure: 'run with `--memory-1m`',
      met: undefined,
    });
  }
  const largest = Math.max(...r.cases.flatMap((c) => c.runs.map((run) => run.maxRssBytes))) / MIB;
  goals.push({
    goal: `peak RSS within ${formatNumber(LAMBDA_SHARE * 100)} % of a ${formatNumber(LAMBDA_MEMORY_MB)} MB Lambda`,
    figure: `${formatNumber(largest)} MiB max`,
    met: largest <= LAMBDA_SHARE * LAMBDA_MEMORY_MB,
  });
  return [
    '## 3. Memory',
    '',
    taken(record),
    '',
    "`embed-batch run` with default flags at 1024 dimensions (parts of 8,192 rows) against `serve-local` with no latency, in its own process. Peak RSS is the client's getrusage maxrss. The 1M-row run is made once, with `--memory-1m`.",
    '',
    table(
      ['rows', 'dims', 'peak RSS MiB', `of ${formatNumber(LAMBDA_MEMORY_MB)} MB`, 'rows/s', 'wall s'],
      rows,
    ),
  ].join('\n');
}
