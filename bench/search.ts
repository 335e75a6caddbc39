/**
 * `npm run bench:search`: `embed-batch search` against DuckDB's brute-force
 * cosine over the same part files, in the same run.
 *
 * A corpus of `--rows` rows of `--dimensions` floats (dense random unit
 * vectors, as real models give; `--vectors feature-hash` for the offline
 * embedder's sparse ones) is written once by the real PartWriter in both
 * formats, then seen through two folders: its Parquet parts alone and its
 * Arrow parts alone. Each round runs, each as its own process and in this
 * order: `search` over Parquet, `search` over Arrow, DuckDB with 2 threads and
 * with 1 (`array_cosine_similarity`, ORDER BY score LIMIT k, the same columns),
 * and `--before CLI` (another tree's search) when given. Every process's wall
 * time, CPU and peak RSS are measured; the search time inside the process is
 * `elapsed_ms` of `search --json` and DuckDB's query time (connection made).
 * Every round checks that both found the same rows.
 *
 * A second corpus of `--memory-rows` rows shows that search's peak RSS does
 * not grow with the output.
 *
 * embed-batch runs as the compiled package (`npm run build` first).
 *
 * Prints Markdown for BENCHMARKS.md. Flags: --rows, --dimensions, --rounds,
 * --k, --vectors dense|feature-hash, --memory-rows (0: skip), --before PATH/lambda/cli.ts.
 */
import { execFileSync } from 'node:child_process';
import { link, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Manifest } from '../lambda/write/Manifest.ts';
import { machineInfo } from './machineInfo.ts';
import { type MeasuredRun, measureProcess } from './measureProcess.ts';
import { type CorpusVectors, writeSearchCorpus } from './search/writeSearchCorpus.ts';
import { formatSpread, summarize } from './stats.ts';

/** The compiled CLI, what an installed package runs; built first, from this tree. */
const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DUCKDB = fileURLToPath(new URL('./search/duckdbSearch.ts', import.meta.url));
const QUERY = 'stainless electric kettle with a long spout';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '100000' },
    dimensions: { type: 'string', default: '384' },
    rounds: { type: 'string', default: '5' },
    k: { type: 'string', default: '10' },
    vectors: { type: 'string', default: 'dense' },
    'memory-rows': { type: 'string', default: '400000' },
    before: { type: 'string' },
  },
});
const rows = Number(values.rows);
const dimensions = Number(values.dimensions);
const rounds = Number(values.rounds);
const k = Number(values.k);
const vectors = values.vectors as CorpusVectors;
const memoryRows = Number(values['memory-rows']);
const before = values.before === undefined ? undefined : path.resolve(values.before);
const log = (line: string): void => {
  process.stderr.write(`bench: ${line}\n`);
};

/** A corpus in both formats, and a folder of each format's parts alone. */
async function corpus(
  dir: string,
  n: number,
): Promise<{ parquet: string; arrow: string; bytes: Record<string, number> }> {
  const started = performance.now();
  await writeSearchCorpus(path.join(dir, 'both'), { rows: n, dimensions, vectors, format: 'both' });
  log(
    `corpus of ${n.toLocaleString('en-US')} rows written in ${((performance.now() - started) / 1000).toFixed(0)} s`,
  );
  const manifest = JSON.parse(await readFile(path.join(dir, 'both', 'manifest.json'), 'utf8')) as Manifest;
  const views = { parquet: path.join(dir, 'parquet'), arrow: path.join(dir, 'arrow') };
  const bytes: Record<string, number> = {};
  for (const format of ['parquet', 'arrow'] as const) {
    await mkdir(views[format], { recursive: true });
    const parts = manifest.parts.filter((p) => p.uri.endsWith(`.${format}`));
    for (const part of parts) await link(part.uri, path.join(views[format], path.basename(part.uri)));
    bytes[format] = parts.reduce((sum, p) => sum + p.bytes, 0);
    await writeFile(
      path.join(views[format], 'manifest.json'),
      JSON.stringify({
        ...manifest,
        format,
        parts: parts.map((p) => ({ ...p, uri: path.join(views[format], path.basename(p.uri)) })),
      }),
    );
  }
  return { ...views, bytes };
}

interface Sample {
  readonly run: MeasuredRun;
  /** Search time inside the process, ms. */
  readonly innerMs: number;
  readonly ids: string[];
}

async function ours(cli: string, dir: string): Promise<Sample> {
  const run = await measureProcess(cli, ['search', dir, QUERY, '-k', String(k), '--json']);
  if (run.exitCode !== 0) throw new Error(`search failed: ${run.stderr}`);
  const json = JSON.parse(run.stdout) as { elapsed_ms: number; hits: { id: string }[] };
  return { run, innerMs: json.elapsed_ms, ids: json.hits.map((h) => h.id) };
}

async function startUp(): Promise<Sample> {
  const run = await measureProcess(CLI, ['--version']);
  return { run, innerMs: Number.NaN, ids: [] };
}

async function oldSearch(cli: string, dir: string): Promise<Sample> {
  const run = await measureProcess(cli, ['search', dir, QUERY, '-k', String(k)]);
  if (run.exitCode !== 0) throw new Error(`the --before search failed: ${run.stderr}`);
  const ids = run.stdout
    .trim()
    .split('\n')
    .map((line) => line.split(/\s+/)[2] ?? '');
  return { run, innerMs: Number.NaN, ids };
}

async function duckdb(dir: string, threads: number): Promise<Sample> {
  const run = await measureProcess(DUCKDB, [
    path.join(dir, 'part-*.parquet'),
    QUERY,
    String(k),
    String(dimensions),
    String(threads),
  ]);
  if (run.exitCode !== 0) throw new Error(`duckdb failed: ${run.stderr}`);
  const json = JSON.parse(run.stdout) as { query_ms: number; ids: string[] };
  return { run, innerMs: json.query_ms, ids: json.ids };
}

const mib = (bytes: number): number => bytes / 2 ** 20;
log('building dist/ (npm run build)');
execFileSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: 'inherit' });
const work = await mkdtemp(path.join(tmpdir(), 'embed-bench-search-'));
try {
  const main = await corpus(path.join(work, 'main'), rows);
  const contenders: [string, () => Promise<Sample>][] = [
    ['embed-batch search, Parquet parts', () => ours(CLI, main.parquet)],
    ['embed-batch search, Arrow parts', () => ours(CLI, main.arrow)],
    ['DuckDB array_cosine_similarity, 2 threads', () => duckdb(main.parquet, 2)],
    ['DuckDB array_cosine_similarity, 1 thread', () => duckdb(main.parquet, 1)],
    ['embed-batch --version (the CLI start-up alone)', startUp],
    ...(before === undefined
      ? []
      : ([
          [
            `search before (${path.relative(process.cwd(), before)}), Parquet parts`,
            () => oldSearch(before, main.parquet),
          ],
        ] as [string, () => Promise<Sample>][])),
  ];
  const samples = new Map<string, Sample[]>(contenders.map(([name]) => [name, []]));
  // One warm-up round (page cache, tsx's transform cache), not counted.
  for (const [, measure] of contenders) await measure();
  for (let round = 0; round < rounds; round++) {
    for (const [name, measure] of contenders) {
      const sample = await measure();
      samples.get(name)?.push(sample);
      log(
        `round ${round + 1}/${rounds} ${name}: ${sample.run.wallSeconds.toFixed(2)} s, inner ${sample.innerMs} ms, ${mib(sample.run.maxRssBytes).toFixed(0)} MiB`,
      );
    }
    const reference = samples.get(contenders[2]?.[0] ?? '')?.at(-1)?.ids ?? [];
    for (const [name] of contenders) {
      const ids = samples.get(name)?.at(-1)?.ids ?? [];
      if (ids.length > 0 && ids.join() !== reference.join())
        log(`round ${round + 1}: ${name} found ${ids.join(' ')}, DuckDB ${reference.join(' ')}`);
    }
  }

  let memory: { rows: number; parquet: MeasuredRun; arrow: MeasuredRun } | undefined;
  if (memoryRows > 0) {
    const big = await corpus(path.join(work, 'big'), memoryRows);
    await ours(CLI, big.parquet);
    memory = {
      rows: memoryRows,
      parquet: (await ours(CLI, big.parquet)).run,
      arrow: (await ours(CLI, big.arrow)).run,
    };
    await rm(path.join(work, 'big'), { recursive: true, force: true });
  }

  const machine = machineInfo();
  const stat = (name: string, pick: (s: Sample) => number) => summarize((samples.get(name) ?? []).map(pick));
  const duck2 = contenders[2]?.[0] ?? '';
  const duck1 = contenders[3]?.[0] ?? '';
  const ratio = (name: string, reference: string, pick: (s: Sample) => number) => {
    const mine = samples.get(name) ?? [];
    const theirs = samples.get(reference) ?? [];
    return summarize(mine.map((s, i) => pick(theirs[i] as Sample) / pick(s)));
  };
  const lines = [
    `Measured ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC on ${machine.cpu} (${machine.cores} cores, ${Math.round(machine.memoryBytes / 2 ** 30)} GiB, Node ${machine.node}), load average ${machine.loadAverage.map((l) => l.toFixed(1)).join(' ')} at the end, \`npm run bench:search -- --rows ${rows} --rounds ${rounds}${before === undefined ? '' : ' --before ...'}\`.`,
    '',
    `Corpus: ${rows.toLocaleString('en-US')} rows x ${dimensions} floats (${vectors === 'dense' ? 'dense random unit vectors, as a real model gives' : "the offline embedder's sparse vectors"}), written by embed-batch's PartWriter in both formats: ${Math.round(mib(main.bytes.parquet ?? 0))} MiB of Parquet (ZSTD, byte-stream-split), ${Math.round(mib(main.bytes.arrow ?? 0))} MiB of Arrow, ${Math.ceil(rows / Math.floor((32 * 2 ** 20) / (dimensions * 4)))} parts. Top ${k}, the same query; every process its own, under the same tsx loader (embed-batch as the compiled \`dist/cli.js\`, DuckDB from its TypeScript script), ${rounds} interleaved rounds after a warm-up, median (min–max). "Search time" is inside the process: \`search --json\`'s \`elapsed_ms\` (open the parts, embed the query, scan, read the winners' columns) and DuckDB's query (connection already made).`,
    '',
    '| contender | search time, ms | process wall, s | process CPU, s | peak RSS, MiB |',
    '| --- | --- | --- | --- | --- |',
    ...contenders.map(
      ([name]) =>
        `| ${name} | ${formatSpread(stat(name, (s) => s.innerMs))} | ${formatSpread(
          stat(name, (s) => s.run.wallSeconds),
          2,
        )} | ${formatSpread(
          stat(name, (s) => s.run.cpuSeconds),
          2,
        )} | ${formatSpread(stat(name, (s) => mib(s.run.maxRssBytes)))} |`,
    ),
    '',
    'Same-round ratios (DuckDB time / ours: above 1 means search is faster):',
    '',
    '| ours | against | search time | process wall |',
    '| --- | --- | --- | --- |',
    ...[contenders[0]?.[0] ?? '', contenders[1]?.[0] ?? ''].flatMap((name) =>
      [duck2, duck1].map(
        (reference) =>
          `| ${name} | ${reference} | ${formatSpread(
            ratio(name, reference, (s) => s.innerMs),
            2,
            'x',
          )} | ${formatSpread(
            ratio(name, reference, (s) => s.run.wallSeconds),
            2,
            'x',
          )} |`,
      ),
    ),
    ...(memory === undefined
      ? []
      : [
          '',
          `Memory: peak RSS of one \`search\` process over ${rows.toLocaleString('en-US')} rows (above) and over ${memory.rows.toLocaleString('en-US')} rows (${(memory.rows / rows).toFixed(0)}x): Parquet ${Math.round(mib(stat(contenders[0]?.[0] ?? '', (s) => s.run.maxRssBytes).median))} -> ${Math.round(mib(memory.parquet.maxRssBytes))} MiB, Arrow ${Math.round(mib(stat(contenders[1]?.[0] ?? '', (s) => s.run.maxRssBytes).median))} -> ${Math.round(mib(memory.arrow.maxRssBytes))} MiB (search time ${memory.parquet.wallSeconds.toFixed(2)} s and ${memory.arrow.wallSeconds.toFixed(2)} s of process wall).`,
        ]),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
} finally {
  await rm(work, { recursive: true, force: true });
}
