/**
 * `npm run bench:startup`: how long `embed-batch` takes to start, and where the time goes.
 *
 * 1. Commands: `--help`, `--version`, `similarity` (offline), `search` over a
 *    40-row output and `run` of a 3-row CSV (each into a fresh folder), as
 *    wall time of the whole process, from spawn to exit. Each is run by
 *    - `node dist/cli.js`: the compiled package, what `npx embed-batch` runs
 *      once installed (built first unless `--no-build`);
 *    - `node bin/embed-batch.js`: this tree's source through tsx, what the
 *      tests and `npm run embed-batch` run;
 *    - with `--before DIR`: `node DIR/bin/embed-batch.js`, another tree's
 *      launcher (a checkout of the commit before this work), for a same-run before/after;
 *    - with `--variant 'LABEL=FILE'` (repeatable): `node FILE`, any other entry
 *      point, e.g. the commit before this work compiled with tsconfig.build.json;
 *    and `node -e 0`, the floor no Node program beats. Rounds interleave the
 *    variants, so drift on a shared machine hits them alike.
 * 2. Imports: each heavy dependency imported alone in a fresh process,
 *    less `node -e 0`: what a command pays for loading it.
 *
 * Prints Markdown for BENCHMARKS.md (section 10). Flags: --runs N (default
 * 15), --before DIR, --variant LABEL=FILE, --node PATH (another Node binary
 * for every child), --no-build.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { machineInfo } from './machineInfo.ts';
import { formatNumber, formatSpread, type Spread, summarize } from './stats.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DIST_CLI = path.join(ROOT, 'dist', 'cli.js');
const SOURCE_LAUNCHER = path.join(ROOT, 'bin', 'embed-batch.js');
const DEMO_INPUT = path.join(ROOT, 'fixtures', 'products.csv');

/** The `--help` goal of issue #17, in seconds (median). */
const HELP_GOAL_SECONDS = 0.3;

/** Dependencies whose loading a command may pay for. */
const HEAVY_IMPORTS = [
  'apache-arrow',
  'parquet-wasm',
  '@aws-sdk/client-s3',
  '@aws-sdk/lib-storage',
  '@aws-sdk/client-dynamodb',
  'csv-parse',
  'p-retry',
] as const;

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '15' },
    before: { type: 'string' },
    variant: { type: 'string', multiple: true, default: [] },
    node: { type: 'string' },
    'no-build': { type: 'boolean', default: false },
  },
});
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1) throw new Error(`Expected \`--runs\` to be a positive integer`);
const nodeBinary = values.node ?? process.execPath;
const log = (line: string): void => {
  process.stderr.write(`bench: ${line}\n`);
};

/** Environment with no endpoint settings: every command runs on the offline embedder. */
const env: NodeJS.ProcessEnv = { ...process.env };
for (const name of ['EMBEDDINGS_BASE_URL', 'EMBEDDINGS_API_KEY', 'IONOS_API_TOKEN', 'EMBEDDINGS_MODEL'])
  delete env[name];

/** Runs `command args` to its end; the wall seconds from spawn to exit. Rejects on a non-zero exit. */
async function timeProcess(command: string, args: readonly string[], cwd: string): Promise<number> {
  const started = performance.now();
  const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const code = await new Promise<number>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (status) => resolve(status ?? 1));
  });
  const seconds = (performance.now() - started) / 1000;
  if (code !== 0) throw new Error(`${command} ${args.join(' ')} exited ${code}:\n${stderr}`);
  return seconds;
}

interface Variant {
  readonly label: string;
  /** The Node arguments that start the CLI (before the command's own). */
  readonly entry: readonly string[];
}

const variants: Variant[] = [
  { label: 'dist (`node dist/cli.js`)', entry: [DIST_CLI] },
  { label: 'source through tsx (`node bin/embed-batch.js`)', entry: [SOURCE_LAUNCHER] },
];
if (values.before !== undefined) {
  const before = path.resolve(values.before);
  variants.push({
    label: `before: ${path.basename(before)} through tsx`,
    entry: [path.join(before, 'bin', 'embed-batch.js')],
  });
}
for (const spec of values.variant) {
  const at = spec.indexOf('=');
  if (at <= 0) throw new Error(`Expected \`--variant\` as LABEL=FILE, got ${JSON.stringify(spec)}`);
  variants.push({ label: spec.slice(0, at), entry: [path.resolve(spec.slice(at + 1))] });
}

const work = await mkdtemp(path.join(tmpdir(), 'embed-bench-startup-'));
try {
  if (!values['no-build']) {
    log('npm run build');
    await timeProcess('npm', ['run', '--silent', 'build'], ROOT);
  }
  const tiny = path.join(work, 'tiny.csv');
  await writeFile(tiny, 'id,text\n1,stainless steel kettle\n2,ceramic coffee dripper\n3,bamboo board\n');
  // One output to search: the demo's 40 rows.
  await timeProcess(nodeBinary, [DIST_CLI, 'run', DEMO_INPUT, '--out', 'searched'], work);
  const searched = path.join(work, 'searched', 'products.csv');
  let fresh = 0;

  const commands: { readonly label: string; readonly args: () => string[] }[] = [
    { label: '`--help`', args: () => ['--help'] },
    { label: '`--version`', args: () => ['--version'] },
    { label: '`similarity a b` (offline)', args: () => ['similarity', 'kettle', 'electric kettle'] },
    { label: '`search` (40 rows, local)', args: () => ['search', searched, 'coffee', '-k', '3'] },
    // A fresh output folder each time, so no run reuses an earlier one's vectors.
    { label: '`run` (3-row CSV, local)', args: () => ['run', tiny, '--out', `out-${++fresh}`] },
  ];

  const floor: number[] = [];
  const times = new Map<string, number[]>();
  const key = (command: string, variant: string) => `${command}\u0000${variant}`;
  for (let round = 1; round <= runs; round++) {
    log(`round ${round}/${runs}`);
    floor.push(await timeProcess(nodeBinary, ['-e', '0'], work));
    for (const command of commands) {
      for (const variant of variants) {
        const seconds = await timeProcess(nodeBinary, [...variant.entry, ...command.args()], work);
        const list = times.get(key(command.label, variant.label)) ?? [];
        list.push(seconds);
        times.set(key(command.label, variant.label), list);
      }
    }
  }

  log('imports');
  const importFloor: number[] = [];
  const imports = new Map<string, number[]>();
  for (let round = 1; round <= runs; round++) {
    importFloor.push(await timeProcess(nodeBinary, ['-e', '0'], ROOT));
    for (const specifier of HEAVY_IMPORTS) {
      const seconds = await timeProcess(
        nodeBinary,
        ['--input-type=module', '-e', `await import(${JSON.stringify(specifier)})`],
        ROOT,
      );
      imports.set(specifier, [...(imports.get(specifier) ?? []), seconds]);
    }
  }

  // Report.
  const machine = machineInfo();
  const nodeVersion = (await captureVersion(nodeBinary)) ?? machine.node;
  const spread = (command: string, variant: string): Spread =>
    summarize(times.get(key(command, variant)) ?? []);
  const lines: string[] = [];
  lines.push(
    `Measured ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC on ${machine.cpu} ` +
      `(${machine.cores} cores, ${Math.round(machine.memoryBytes / 2 ** 30)} GiB, Node ${nodeVersion}), ` +
      `load average ${machine.loadAverage.map((l) => l.toFixed(1)).join(' ')} at the end, ` +
      `${runs} interleaved rounds, \`npm run bench:startup${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}\`.`,
  );
  lines.push('');
  lines.push(
    `Wall seconds from spawn to exit, median (min–max). \`node -e 0\`: ${formatSpread(summarize(floor), 3)}.`,
  );
  lines.push('');
  lines.push(`| command | ${variants.map((v) => v.label).join(' | ')} |`);
  lines.push(`| --- | ${variants.map(() => '---').join(' | ')} |`);
  for (const command of commands) {
    const cells = variants.map((variant) => formatSpread(spread(command.label, variant.label), 3));
    lines.push(`| ${command.label} | ${cells.join(' | ')} |`);
  }
  lines.push('');
  const distHelp = spread('`--help`', variants[0]!.label);
  const verdict = distHelp.median <= HELP_GOAL_SECONDS ? '**met**' : '**missed**';
  lines.push(
    `Goal: \`embed-batch --help\` at most ${HELP_GOAL_SECONDS} s median: ${formatNumber(distHelp.median, 3)} s, ${verdict}.`,
  );
  for (const other of variants.slice(1)) {
    const ratio = spread('`--help`', other.label).median / distHelp.median;
    lines.push(`\`--help\`, ${other.label} / dist: ${formatNumber(ratio, 1)}×.`);
  }
  lines.push('');
  const floorMedian = summarize(importFloor).median;
  lines.push('What importing each dependency alone adds to `node -e 0` (median of the runs, seconds):');
  lines.push('');
  lines.push('| import | seconds |');
  lines.push('| --- | --- |');
  for (const specifier of HEAVY_IMPORTS) {
    const added = summarize(imports.get(specifier) ?? []).median - floorMedian;
    lines.push(`| \`${specifier}\` | ${formatNumber(added, 3)} |`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
} finally {
  await rm(work, { recursive: true, force: true });
}

/** `node --version` of the binary the children run. */
async function captureVersion(binary: string): Promise<string | undefined> {
  const child = spawn(binary, ['--version'], { stdio: ['ignore', 'pipe', 'ignore'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
  });
  const code = await new Promise<number>((resolve) => child.on('close', (status) => resolve(status ?? 1)));
  return code === 0 ? out.trim() : undefined;
}
