/**
 * `npm run bench`: runs the benchmark sections, keeps the raw results under
 * bench/results/ and rewrites the generated part of BENCHMARKS.md.
 * See benchOptions.ts for the flags.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BENCH_USAGE, parseBenchOptions, type Section } from './benchOptions.ts';
import { machineInfo } from './machineInfo.ts';
import { renderBudget } from './report/renderBudget.ts';
import { renderReport } from './report/renderReport.ts';
import { benchBudget } from './sections/budget.ts';
import { benchCpu } from './sections/cpu.ts';
import { benchMemory } from './sections/memory.ts';
import { benchSize } from './sections/size.ts';
import { benchThroughput } from './sections/throughput.ts';
import type { BenchContext, LatestResults, SectionRecord } from './types.ts';
import { writeReportFile } from './writeReportFile.ts';

const RUNNERS: Record<Section, (context: BenchContext) => Promise<unknown>> = {
  throughput: benchThroughput,
  cpu: benchCpu,
  memory: benchMemory,
  size: benchSize,
  budget: benchBudget,
};

/** Rewrites the part of the report `section` belongs to: the budget has a block of its own. */
async function writeReport(file: string, latest: LatestResults, section?: Section): Promise<void> {
  if (section === 'budget' || (section === undefined && latest.budget)) {
    if (latest.budget) await writeReportFile(file, renderBudget(latest.budget), 'budget');
    if (section === 'budget') return;
  }
  await writeReportFile(file, renderReport(latest));
}

async function readLatest(file: string): Promise<LatestResults> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as LatestResults;
  } catch {
    return {};
  }
}

const options = parseBenchOptions(process.argv.slice(2));
if (options.help) {
  process.stdout.write(`${BENCH_USAGE}\n`);
  process.exit(0);
}
const log = (line: string): void => {
  process.stderr.write(`bench: ${line}\n`);
};
const args = process.argv.slice(2).map((arg) => (/\s/.test(arg) ? JSON.stringify(arg) : arg));
const command = `npm run bench${args.length > 0 ? ` -- ${args.join(' ')}` : ''}`;
if (options.renderOnly) {
  await writeReport(options.reportFile, await readLatest(path.join(options.resultsDir, 'latest.json')));
  process.exit(0);
}
const workDir = await mkdtemp(path.join(tmpdir(), 'embed-bench-'));
const latestFile = path.join(options.resultsDir, 'latest.json');
await mkdir(options.resultsDir, { recursive: true });
const latest = await readLatest(latestFile);
log(
  `sections ${options.sections.join(', ')}; ${options.runs} run(s) each; measuring ${options.cli}; work dir ${workDir}`,
);

try {
  for (const section of options.sections) {
    const started = performance.now();
    const machine = machineInfo();
    const result = await RUNNERS[section]({ options, workDir, log });
    const record: SectionRecord<unknown> = {
      date: new Date().toISOString(),
      label: options.label,
      command,
      machine,
      runs: section === 'size' ? 1 : options.runs,
      result,
    };
    (latest as Record<string, unknown>)[section] = record;
    const stamp = record.date.replaceAll(':', '-').slice(0, 19);
    await writeFile(
      path.join(options.resultsDir, `${stamp}-${section}.json`),
      `${JSON.stringify(record, null, 2)}\n`,
    );
    await writeFile(latestFile, `${JSON.stringify(latest, null, 2)}\n`);
    await writeReport(options.reportFile, latest, section);
    log(
      `${section} done in ${((performance.now() - started) / 1000).toFixed(0)} s; ${path.basename(options.reportFile)} updated`,
    );
  }
} finally {
  if (options.keep) log(`inputs and outputs kept in ${workDir}`);
  else await rm(workDir, { recursive: true, force: true });
}
