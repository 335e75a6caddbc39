/**
 * `npm run bench:files`: folders of many small files against a paced endpoint.
 *
 * serve-local (a child process) allows 10 requests/s (burst 10) and 64
 * inputs per request, and answers after 100 ms + 5 ms per input. The CLI
 * runs `run DIR --batch-size 64 --rps 10 --burst 10` over
 *
 * 1. 300 files of 40 rows (12,000 rows), and
 * 2. a mixed folder: 2 files of 3,000 rows among 150 files of 40 (12,000 rows),
 *
 * once with this checkout ("after") and once with the checkout given by
 * `--before` ("before": a git ref, checked out into a temporary worktree that
 * borrows this one's node_modules), interleaved in the same run. Each time
 * is also given as a share of the spanning ceiling: total rows / 64 per
 * request / 10 per second, what an endpoint at its rate needs when a
 * request may carry rows of several files.
 *
 * Prints a Markdown table for BENCHMARKS.md. Flags: --before REF (default
 * e28ae92, main before batches spanned files), --rounds N (default 1).
 */
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { LocalEndpoint, tally } from './endpoint/LocalEndpoint.ts';
import { generateTexts } from './generateInput.ts';
import { machineInfo } from './machineInfo.ts';
import { measureProcess } from './measureProcess.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const RPS = 10;
const MAX_INPUTS = 64;

const { values } = parseArgs({
  options: {
    before: { type: 'string', default: 'e28ae92' },
    rounds: { type: 'string', default: '1' },
  },
});
const rounds = Number(values.rounds);
const log = (line: string): void => {
  process.stderr.write(`bench: ${line}\n`);
};

/** Writes `counts.length` CSV files of those many rows below `dir`; returns the total rows. */
async function writeFolder(dir: string, counts: readonly number[], seed: number): Promise<number> {
  await mkdir(dir, { recursive: true });
  const texts = generateTexts(
    counts.reduce((a, b) => a + b, 0),
    seed,
  );
  let next = 0;
  for (const [n, count] of counts.entries()) {
    const rows = texts
      .slice(next, next + count)
      .map((text, i) => `r${next + i},"${text.replaceAll('"', '""')}"`);
    next += count;
    await writeFile(
      path.join(dir, `part-${String(n).padStart(4, '0')}.csv`),
      `id,text\n${rows.join('\n')}\n`,
    );
  }
  return next;
}

const work = await mkdtemp(path.join(tmpdir(), 'embed-bench-files-'));
const beforeDir = path.join(work, 'before');
try {
  execFileSync('git', ['-C', ROOT, 'worktree', 'add', '--detach', beforeDir, values.before], {
    stdio: 'ignore',
  });
  await symlink(path.join(ROOT, 'node_modules'), path.join(beforeDir, 'node_modules'));
  const cases = [
    { name: '300 files x 40 rows', dir: path.join(work, 'small'), counts: Array<number>(300).fill(40) },
    {
      name: 'mixed: 2 x 3,000 rows among 150 x 40',
      dir: path.join(work, 'mixed'),
      counts: [...Array<number>(75).fill(40), 3000, ...Array<number>(75).fill(40), 3000],
    },
  ];
  const results: string[] = [];
  for (const [i, c] of cases.entries()) {
    const rows = await writeFolder(c.dir, c.counts, 20 + i);
    const ceilingSeconds = Math.ceil(rows / MAX_INPUTS) / RPS;
    const times: Record<'before' | 'after', number[]> = { before: [], after: [] };
    const requests: Record<'before' | 'after', number> = { before: 0, after: 0 };
    for (let round = 0; round < rounds; round++) {
      for (const version of ['after', 'before'] as const) {
        const endpoint = await LocalEndpoint.start({
          dimensions: 384,
          rps: RPS,
          burst: RPS,
          maxInputs: MAX_INPUTS,
          latencyMs: 100,
          latencyPerInputMs: 5,
        });
        const out = path.join(work, `out-${version}`);
        try {
          const cli = path.join(version === 'after' ? ROOT : beforeDir, 'lambda/cli.ts');
          const run = await measureProcess(cli, [
            'run',
            c.dir,
            '--out',
            out,
            '--base-url',
            endpoint.url,
            '--model',
            'local/feature-hash',
            '--batch-size',
            String(MAX_INPUTS),
            '--rps',
            String(RPS),
            '--burst',
            String(RPS),
          ]);
          if (run.exitCode !== 0) throw new Error(`${version} run failed: ${run.stderr}`);
          const sent = tally(await endpoint.takeLog());
          if (sent.embeddedInputs < rows)
            throw new Error(`${version}: ${sent.embeddedInputs} of ${rows} rows sent`);
          times[version].push(run.wallSeconds);
          requests[version] = sent.requests;
          log(`${c.name}, ${version}: ${run.wallSeconds.toFixed(1)} s, ${sent.requests} requests`);
        } finally {
          await endpoint.close();
          await rm(out, { recursive: true, force: true });
        }
      }
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;
    const cell = (version: 'before' | 'after') => {
      const seconds = median(times[version]);
      return `${seconds.toFixed(1)} s (${Math.round((ceilingSeconds / seconds) * 100)} %), ${requests[version]} requests`;
    };
    results.push(
      `| ${c.name} | ${rows.toLocaleString('en-US')} | ${ceilingSeconds.toFixed(1)} s (${Math.ceil(rows / MAX_INPUTS)} requests) | ${cell('before')} | ${cell('after')} |`,
    );
  }
  const machine = machineInfo();
  console.log(
    `Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.node}, load ${machine.loadAverage.map((l) => l.toFixed(1)).join(' ')}; ${new Date().toISOString().slice(0, 10)}; before = ${values.before}, median of ${rounds} round(s)\n`,
  );
  console.log('| folder | rows | spanning ceiling | before (share of ceiling) | after (share of ceiling) |');
  console.log('| --- | --- | --- | --- | --- |');
  for (const line of results) console.log(line);
} finally {
  try {
    execFileSync('git', ['-C', ROOT, 'worktree', 'remove', '--force', beforeDir], { stdio: 'ignore' });
  } catch {
    // Not created (no such ref): nothing to remove.
  }
  await rm(work, { recursive: true, force: true });
}
