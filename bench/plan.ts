/**
 * `npm run bench:plan`: `embed-batch plan` against what the run then does, on
 * the benchmark inputs (bench/generateInput.ts, as `npm run bench` makes them):
 *
 * 1. the throughput input (6,400 rows) against the throughput endpoint
 *    (serve-local: 10 requests/s, burst 10, 64 inputs per request, 100 ms +
 *    5 ms per input), with the tuned flags (the server's limits) and with no
 *    flags (the run then meets the server's 64-input cap, which plan cannot know);
 * 2. 100,000 rows of the same generator against a faster endpoint (20/s, 128 inputs);
 * 3. the same 100,000 rows again after 2 % of them changed (reuse);
 * 4. a messy JSONL export (duplicates, bad JSON, empty and missing texts).
 *
 * Each case: `plan --json`, then `run` with the same flags (which carries the
 * estimate into usage.json), both measured as processes. Prints Markdown.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LocalServerOptions } from '../lambda/serve/types.ts';
import type { UsageReport } from '../lambda/write/UsageReport.ts';
import { LocalEndpoint } from './endpoint/LocalEndpoint.ts';
import { TextGenerator, writeCsvInput } from './generateInput.ts';
import { machineInfo } from './machineInfo.ts';
import { type MeasuredRun, measureProcess } from './measureProcess.ts';
import { THROUGHPUT_SERVER } from './sections/throughput.ts';

const CLI = fileURLToPath(new URL('../lambda/cli.ts', import.meta.url));
const MODEL = 'local/feature-hash';
const log = (line: string): void => {
  process.stderr.write(`bench: ${line}\n`);
};

interface Case {
  readonly name: string;
  readonly input: string;
  readonly server: LocalServerOptions;
  /** Flags of both commands. */
  readonly flags: readonly string[];
  /** What one request takes at this endpoint (plan's --latency-ms). */
  readonly latencyMs: number;
}

interface Outcome {
  readonly name: string;
  readonly flags: readonly string[];
  readonly latencyMs: number;
  readonly plan: MeasuredRun;
  readonly run: MeasuredRun;
  readonly estimate: Record<string, number | null>;
  readonly usage: UsageReport;
}

/** The full batch's latency of a serve-local with per-input latency, for --latency-ms. */
function batchLatency(server: LocalServerOptions, inputs: number): number {
  return (server.latencyMs ?? 0) + (server.latencyPerInputMs ?? 0) * inputs;
}

async function measure(work: string, c: Case): Promise<Outcome> {
  const endpoint = await LocalEndpoint.start(c.server);
  try {
    const env = {
      EMBEDDINGS_BASE_URL: '',
      EMBEDDINGS_API_KEY: '',
      IONOS_API_TOKEN: '',
      EMBEDDINGS_MODEL: '',
    };
    const common = [
      '--out',
      path.join(work, 'out'),
      '--base-url',
      endpoint.url,
      '--model',
      MODEL,
      ...c.flags,
    ];
    const plan = await measureProcess(
      CLI,
      ['plan', c.input, ...common, '--latency-ms', String(c.latencyMs), '--json'],
      { env, cwd: work },
    );
    if (plan.exitCode !== 0) throw new Error(`plan failed: ${plan.stderr}`);
    const run = await measureProcess(CLI, ['run', c.input, ...common], { env, cwd: work });
    if (run.exitCode !== 0) throw new Error(`run failed: ${run.stderr}`);
    const file = (JSON.parse(plan.stdout) as { files: Record<string, number | null>[] }).files[0] ?? {};
    const usage = JSON.parse(
      await readFile(path.join(work, 'out', path.basename(c.input), 'usage.json'), 'utf8'),
    ) as UsageReport;
    if (usage.estimate === undefined) throw new Error(`${c.name}: usage.json carries no estimate`);
    log(`${c.name}: plan ${plan.wallSeconds.toFixed(1)} s, run ${run.wallSeconds.toFixed(1)} s`);
    return { name: c.name, flags: c.flags, latencyMs: c.latencyMs, plan, run, estimate: file, usage };
  } finally {
    await endpoint.close();
  }
}

/** The messy export: 20,000 rows, every 10th text a repeat, and a few broken records. */
async function writeMessy(file: string): Promise<void> {
  const texts = new TextGenerator(7);
  const lines: string[] = [];
  const seen: string[] = [];
  for (let i = 1; i <= 20_000; i++) {
    if (i % 500 === 0) lines.push('{"id": "broken", "text": ');
    else if (i % 700 === 0) lines.push(JSON.stringify({ id: `m${i}`, text: '' }));
    else if (i % 900 === 0) lines.push(JSON.stringify({ id: `m${i}` }));
    else {
      const text = i % 10 === 0 && seen.length > 0 ? (seen[(i * 7) % seen.length] as string) : texts.next();
      seen.push(text);
      lines.push(JSON.stringify({ id: `m${i}`, text }));
    }
  }
  await writeFile(file, lines.join('\n'));
}

/** Rewrites a bench CSV with every 50th text changed (2 %): words added at its end, inside its quotes if it has them. */
async function editCsv(file: string): Promise<void> {
  const lines = (await readFile(file, 'utf8')).split('\n');
  const edit = (line: string): string =>
    line.endsWith('"') ? `${line.slice(0, -1)} (changed)"` : `${line} (changed)`;
  await writeFile(
    file,
    lines.map((line, i) => (i > 0 && i % 50 === 0 && line !== '' ? edit(line) : line)).join('\n'),
  );
}

const work = await mkdtemp(path.join(tmpdir(), 'embed-bench-plan-'));
try {
  const s = THROUGHPUT_SERVER;
  const throughputInput = path.join(work, 'throughput-6400.csv');
  await writeCsvInput(throughputInput, 6_400);
  const fast: LocalServerOptions = {
    rps: 20,
    burst: 20,
    maxInputs: 128,
    latencyMs: 100,
    latencyPerInputMs: 2,
  };
  const bigInput = path.join(work, 'rows-100000.csv');
  await writeCsvInput(bigInput, 100_000);
  const messyInput = path.join(work, 'messy.jsonl');
  await writeMessy(messyInput);
  const tuned = ['--batch-size', '64', '--rps', '10', '--burst', '10'];
  const bigFlags = ['--batch-size', '128', '--rps', '20', '--burst', '20'];
  const slow = { server: { ...s }, latencyMs: batchLatency(s, 64) };
  const quick = { server: fast, latencyMs: batchLatency(fast, 128) };

  const outcomes: Outcome[] = [];
  const cases: (Case | 'reset' | 'edit')[] = [
    { name: 'throughput input, tuned flags', input: throughputInput, flags: tuned, ...slow },
    'reset',
    { name: 'throughput input, no flags', input: throughputInput, flags: [], ...slow },
    { name: '100,000 rows', input: bigInput, flags: bigFlags, ...quick },
    'edit',
    { name: '100,000 rows, 2 % changed (reuse)', input: bigInput, flags: bigFlags, ...quick },
    { name: 'messy JSONL, 20,000 records', input: messyInput, flags: tuned, ...slow },
  ];
  for (const c of cases) {
    if (c === 'reset') await rm(path.join(work, 'out'), { recursive: true, force: true });
    else if (c === 'edit') await editCsv(bigInput);
    else outcomes.push(await measure(work, c));
  }

  const machine = machineInfo();
  const n = (value: number | null | undefined, digits = 0) =>
    value === null || value === undefined
      ? '—'
      : value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
  const pair = (estimate: number | null | undefined, actual: number, digits = 0) => {
    const same = estimate === actual;
    const ratio = estimate && actual ? ` (${(actual / estimate).toFixed(3)}x)` : '';
    return `${n(estimate, digits)} / ${n(actual, digits)}${same ? '' : ratio}`;
  };
  const lines = [
    `Measured ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC on ${machine.cpu} (${machine.cores} cores, ${Math.round(machine.memoryBytes / 2 ** 30)} GiB, Node ${machine.node}), load average ${machine.loadAverage.map((l) => l.toFixed(1)).join(' ')} at the end, \`npm run bench:plan\`. Each cell: estimate / actual (actual over estimate where they differ). Time: the plan's \`seconds\` against the run's \`timing.duration_ms\`.`,
    '',
    '| case | flags | rows | rejected | duplicates | reused | tokens | requests | seconds | plan took, s | run took, s |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...outcomes.map((o) => {
      const e = o.estimate;
      const u = o.usage;
      return `| ${o.name} | \`${[...o.flags, '--latency-ms', String(o.latencyMs)].join(' ')}\` | ${pair(e.rows, u.rows.read)} | ${pair(e.rejected, u.rows.rejected)} | ${pair(e.duplicates, u.rows.deduplicated)} | ${pair(e.reused, u.rows.reused)} | ${pair(e.tokens, u.tokens.total)} | ${pair(e.requests, u.requests.sent)} | ${pair(e.seconds, u.timing.duration_ms / 1000, 1)} | ${o.plan.wallSeconds.toFixed(1)} | ${o.run.wallSeconds.toFixed(1)} |`;
    }),
    '',
    `Endpoints: the throughput one (\`--rps ${s.rps} --burst ${s.burst} --max-inputs ${s.maxInputs} --latency-ms ${s.latencyMs} --latency-per-input-ms ${s.latencyPerInputMs}\`) and for 100,000 rows \`--rps 20 --burst 20 --max-inputs 128 --latency-ms 100 --latency-per-input-ms 2\`, each in its own process; \`--latency-ms\` was given the endpoint's full-batch latency. Requests answered 413 and then split: ${outcomes.map((o) => `${o.name}: ${o.usage.requests.by_status['413'] ?? 0}`).join('; ')}.`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
} finally {
  await rm(work, { recursive: true, force: true });
}
