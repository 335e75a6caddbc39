/**
 * `npm run bench:checkpoint`: what checkpoints cost, and what a crash costs.
 *
 * 1. Cost: the CLI embeds one JSONL file against serve-local (a child
 *    process, no rate limit) with checkpoints every 10 s (the default), every
 *    1 s, and off (an interval longer than the run), in interleaved rounds.
 *    CPU and wall time of the job's process, median of the rounds.
 * 2. Loss: the CLI runs against a rate-limited serve-local and is killed with
 *    SIGKILL at a random moment, then run again to the end. The texts sent
 *    twice are the paid work the crash lost; in seconds, that over the rate.
 *
 * Prints Markdown tables for BENCHMARKS.md. Flags: --rows N (cost input),
 * --rounds N, --trials N (crashes), --rps N (loss endpoint).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { LocalEndpoint, tally } from './endpoint/LocalEndpoint.ts';
import { createRandom, generateTexts } from './generateInput.ts';
import { machineInfo } from './machineInfo.ts';
import { measureProcess } from './measureProcess.ts';
import { formatSpread, summarize } from './stats.ts';

const CLI = fileURLToPath(new URL('../lambda/cli.ts', import.meta.url));
const BIN = fileURLToPath(new URL('../bin/embed-batch.js', import.meta.url));

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '200000' },
    rounds: { type: 'string', default: '3' },
    trials: { type: 'string', default: '5' },
    rps: { type: 'string', default: '10' },
  },
});
const rows = Number(values.rows);
const rounds = Number(values.rounds);
const trials = Number(values.trials);
const rps = Number(values.rps);
const log = (line: string): void => {
  process.stderr.write(`bench: ${line}\n`);
};

const work = await mkdtemp(path.join(tmpdir(), 'embed-bench-checkpoint-'));
try {
  const input = path.join(work, 'input.jsonl');
  const texts = generateTexts(rows, 7);
  await writeFile(input, texts.map((text, i) => JSON.stringify({ id: `r-${i + 1}`, text })).join('\n'));

  // 1. Cost, interleaved so that drift on a shared machine hits every setting alike.
  const settings = [
    ['off', '100000000'],
    ['every 10 s (default)', '10'],
    ['every 1 s', '1'],
  ] as const;
  const results = new Map<string, { cpu: number[]; wall: number[] }>();
  const endpoint = await LocalEndpoint.start({ dimensions: 384 });
  try {
    for (let round = 0; round < rounds; round++) {
      for (const [name, seconds] of settings) {
        const out = path.join(work, `out-${round}-${seconds}`);
        const run = await measureProcess(CLI, [
          'run',
          input,
          '--out',
          out,
          '--base-url',
          endpoint.url,
          '--model',
          'local/feature-hash',
          '--checkpoint-seconds',
          seconds,
        ]);
        if (run.exitCode !== 0) throw new Error(`run failed: ${run.stderr}`);
        const entry = results.get(name) ?? { cpu: [], wall: [] };
        entry.cpu.push(run.cpuSeconds);
        entry.wall.push(run.wallSeconds);
        results.set(name, entry);
        log(
          `cost round ${round + 1}/${rounds} ${name}: ${run.cpuSeconds.toFixed(2)} CPU s, ${run.wallSeconds.toFixed(2)} s`,
        );
        await rm(out, { recursive: true, force: true });
      }
    }
  } finally {
    await endpoint.close();
  }

  // 2. Loss: kill -9 at a random moment of a rate-limited run, then finish it.
  const lossRows = Math.round(rps * 100 * 40);
  const lossInput = path.join(work, 'loss.jsonl');
  const lossTexts = generateTexts(lossRows, 11);
  await writeFile(
    lossInput,
    lossTexts.map((text, i) => JSON.stringify({ id: `l-${i + 1}`, text })).join('\n'),
  );
  const unique = new Set(lossTexts).size;
  const random = createRandom(3);
  const losses: { killAt: number; lostTexts: number; lostSeconds: number }[] = [];
  for (let trial = 0; trial < trials; trial++) {
    const server = await LocalEndpoint.start({ dimensions: 384, rps, burst: rps });
    const out = path.join(work, `loss-${trial}`);
    const args = [
      'run',
      lossInput,
      '--out',
      out,
      '--base-url',
      server.url,
      '--model',
      'local/feature-hash',
      '--rps',
      String(rps),
      '--batch-size',
      '100',
    ];
    try {
      const killAt = 5_000 + random() * 25_000;
      const child = spawn(process.execPath, [BIN, ...args], { stdio: 'ignore' });
      const exited = new Promise((resolve) => child.on('close', resolve));
      await new Promise((resolve) => setTimeout(resolve, killAt));
      child.kill('SIGKILL');
      await exited;
      const rerun = spawn(process.execPath, [BIN, ...args], { stdio: 'ignore' });
      const code = await new Promise((resolve) => rerun.on('close', resolve));
      if (code !== 0) throw new Error(`the rerun after the crash exited ${String(code)}`);
      const sent = tally(await server.takeLog()).embeddedInputs;
      const lostTexts = sent - unique;
      losses.push({ killAt, lostTexts, lostSeconds: lostTexts / (rps * 100) });
      log(
        `loss trial ${trial + 1}/${trials}: killed at ${(killAt / 1000).toFixed(1)} s, ${lostTexts} texts sent again`,
      );
    } finally {
      await server.close();
      await rm(out, { recursive: true, force: true });
    }
  }

  const machine = machineInfo();
  const off = results.get('off');
  const lines = [
    `Measured ${new Date().toISOString().slice(0, 10)} on ${machine.cpu} (${machine.cores} cores, ${Math.round(machine.memoryBytes / 2 ** 30)} GiB, Node ${machine.node}), \`npm run bench:checkpoint\`.`,
    '',
    `Cost: ${rows.toLocaleString('en-US')} rows of JSONL, 384 dimensions, serve-local without a rate limit, ${rounds} interleaved rounds, median (min–max).`,
    '',
    '| checkpoints | CPU s | wall s | CPU vs off |',
    '| --- | --- | --- | --- |',
    ...settings.map(([name]) => {
      const r = results.get(name)!;
      const ratio = off ? summarize(r.cpu).median / summarize(off.cpu).median : Number.NaN;
      return `| ${name} | ${formatSpread(summarize(r.cpu), 2)} | ${formatSpread(summarize(r.wall), 2)} | ${ratio.toFixed(3)}× |`;
    }),
    '',
    `Loss: ${lossRows.toLocaleString('en-US')} rows against serve-local at ${rps} requests/s of 100 inputs (${rps * 100} texts/s), checkpoints every 10 s (the default), kill -9 at a random moment between 5 and 30 s, then the same command again.`,
    '',
    '| trial | killed at | texts sent twice | seconds of paid work lost |',
    '| --- | --- | --- | --- |',
    ...losses.map(
      (l, i) =>
        `| ${i + 1} | ${(l.killAt / 1000).toFixed(1)} s | ${l.lostTexts} | ${l.lostSeconds.toFixed(1)} |`,
    ),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
} finally {
  await rm(work, { recursive: true, force: true });
}
