import { ResilientEmbedder } from '../embed/ResilientEmbedder.ts';
import { ConfigError, EmbedBatchError } from '../errors.ts';
import type { MaxRejected } from '../pipelineTypes.ts';
import { estimateSeconds, type RunRate, type TimeBound, type TimeEstimate } from '../plan/estimateSeconds.ts';
import { planUri, type UsageEstimate, writePlan } from '../plan/PlanEstimate.ts';
import { type FileCounts, planFile } from '../plan/planFile.ts';
import { costOf, type Price, priceFor } from '../plan/priceTable.ts';
import { type Packing, RequestCounter, RUN_PACKING } from '../plan/RequestCounter.ts';
import { exceedsMaxRejected } from '../resolveJobOptions.ts';
import { expandInputs } from './expandInputs.ts';
import { errorLine, type Io, numberFlag } from './io.ts';
import { renderPlanTable } from './renderPlanTable.ts';
import { announceSkipped, checkOutputFolder, JOB_FLAGS_USAGE, setUpJob } from './runCommand.ts';

/** What one request is assumed to take when `--latency-ms` does not say. */
export const DEFAULT_LATENCY_MS = 1_000;

export const PLAN_USAGE = `Usage: embed-batch plan <input...> [--out DIR|s3://bucket/prefix/] [options]

Reads the inputs as \`run\` would, without embedding anything, and reports per file and in
total: rows, rejected, duplicates, rows reusable from the existing output, texts to embed,
estimated tokens, requests, the time at the configured rate and the cost. Give it the flags
the run will get. The estimate of each file is stored in its output folder
(_scratch/plan.json), and the next run of the same file with the same settings carries it
into usage.json as \`estimate\`, beside what was billed.
Exit status: 0 when the run would succeed; 1 when a file would fail (unreadable, a missing
column, every record rejected, over --max-rejected).
  --json                          one JSON object instead of the table
  --price-per-million-tokens P    price to cost the tokens at (no built-in price is known for
                                  IONOS's embedding models: see the README)
  --latency-ms N                  what one request is assumed to take, for the concurrency
                                  bound (default ${DEFAULT_LATENCY_MS})
  --no-save                       store no estimate for the next run
${JOB_FLAGS_USAGE}`;

const PLAN_FLAGS = {
  json: { type: 'boolean' },
  'price-per-million-tokens': { type: 'string' },
  'latency-ms': { type: 'string' },
  'no-save': { type: 'boolean' },
} as const;

/** One file's line of the plan. */
export interface FilePlan {
  readonly source: string;
  readonly output: string;
  readonly counts?: FileCounts;
  readonly requests: number;
  readonly time?: TimeEstimate;
  readonly cost?: number;
  /** Why the run would fail this file. */
  readonly error?: string;
  /** Where its estimate was stored for the run. */
  readonly saved?: string;
}

/** The whole plan, as `--json` prints it (snake_case there). */
export interface CommandPlan {
  readonly model: string;
  readonly endpoint: string;
  readonly offline: boolean;
  readonly rate: RunRate;
  readonly batch: { readonly size: number; readonly maxTokens: number; readonly maxBytes: number };
  /** How requests were counted: spanning files, or one file at a time (`--files-at-once 1`). */
  readonly packing: Packing;
  readonly price?: Price;
  readonly files: readonly FilePlan[];
  readonly total: {
    readonly rows: number;
    readonly rejected: number;
    readonly duplicates: number;
    readonly reused: number;
    readonly toEmbed: number;
    readonly tokens: number;
    readonly requests: number;
    readonly time?: TimeEstimate;
    readonly cost?: number;
  };
}

/** `embed-batch plan`: what a run would do and cost, without embedding. Returns the exit status. */
export async function planCommand(argv: readonly string[], io: Io): Promise<number> {
  const setup = setUpJob(argv, io, PLAN_FLAGS, 'plan');
  if (setup.help) {
    io.stdout(PLAN_USAGE);
    return 0;
  }
  if (setup.inputs.length === 0) throw new ConfigError(`Expected at least one input file\n${PLAN_USAGE}`);
  const priceFlag = numberFlag(
    setup.extra['price-per-million-tokens'] as string | undefined,
    '--price-per-million-tokens',
  );
  if (priceFlag !== undefined && priceFlag < 0) {
    throw new ConfigError(`Expected \`--price-per-million-tokens\` to be 0 or more, got ${priceFlag}`);
  }
  const latencyMs =
    numberFlag(setup.extra['latency-ms'] as string | undefined, '--latency-ms') ?? DEFAULT_LATENCY_MS;
  if (!(latencyMs > 0))
    throw new ConfigError(`Expected \`--latency-ms\` to be a positive number, got ${latencyMs}`);
  const out = setup.out ?? 'out';
  await checkOutputFolder(out, io.cwd);
  const { planned, skippedOutputs } = await expandInputs(setup.inputs, out, setup.store, io.cwd);
  announceSkipped(skippedOutputs, io);

  const { options, endpoint, store } = setup;
  // The rate the run's limiter would hold to: flags, or IONOS's default for its base URL.
  const limiter = setup.embedder instanceof ResilientEmbedder ? setup.embedder.limiter : undefined;
  const rate: RunRate = {
    rps: limiter?.rps,
    burst: limiter?.burst,
    tpm: limiter?.tpm,
    concurrency: options.concurrency,
    latencyMs,
  };
  const price = priceFor(endpoint.model, priceFlag, endpoint.offline);
  // One file at a time, each file's last request goes alone; otherwise requests span files.
  const packing = setup.filesAtOnce === 1 ? 'per-file' : RUN_PACKING;
  const packer = new RequestCounter(
    { maxInputs: options.batchSize, maxTokens: options.maxBatchTokens, maxBytes: options.maxBatchBytes },
    options.batchSize,
    Math.max(2, options.concurrency * 2),
    packing,
  );

  const counted: { source: string; output: string; counts?: FileCounts; error?: string }[] = [];
  for (const [file, { sourceUri, outputDir }] of planned.entries()) {
    try {
      const counts = await planFile(sourceUri, outputDir, options, {
        store,
        model: endpoint.model,
        packer,
        file,
        onNotice: (message) => io.stderr(`embed-batch: ${message}`),
      });
      counted.push({ source: sourceUri, output: outputDir, counts, error: unmet(counts, options) });
    } catch (error) {
      if (!(error instanceof EmbedBatchError)) throw error;
      counted.push({
        source: sourceUri,
        output: outputDir,
        error: errorLine(error, sourceUri).replace(/^embed-batch: error: /, ''),
      });
    }
  }
  packer.finish();

  const madeAt = new Date().toISOString();
  const files: FilePlan[] = [];
  for (const [file, entry] of counted.entries()) {
    const requests = packer.requestsOf(file);
    if (entry.counts === undefined) {
      files.push({ source: entry.source, output: entry.output, requests, error: entry.error });
      continue;
    }
    const time = endpoint.offline ? undefined : estimateSeconds(requests, entry.counts.tokens, rate);
    const cost = price === undefined ? undefined : costOf(entry.counts.tokens, price);
    let saved: string | undefined;
    if (setup.extra['no-save'] !== true && entry.error === undefined) {
      const estimate: UsageEstimate = {
        rows: entry.counts.rows,
        rejected: entry.counts.rejected,
        duplicates: entry.counts.duplicates,
        reused: entry.counts.reused,
        tokens: entry.counts.tokens,
        requests,
        seconds: time === undefined ? null : round(time.seconds, 1),
        ...(cost === undefined || price === undefined
          ? {}
          : { cost, price_per_million_tokens: price.perMillionTokens }),
        made_at: madeAt,
      };
      try {
        await writePlan(store, entry.output, { version: 1, binding: entry.counts.binding, estimate });
        saved = planUri(entry.output);
      } catch (error) {
        io.stderr(
          `embed-batch: could not store the estimate for the run (${errorLine(error, entry.output)}); its usage.json will not carry it`,
        );
      }
    }
    files.push({
      source: entry.source,
      output: entry.output,
      counts: entry.counts,
      requests,
      time,
      cost,
      error: entry.error,
      saved,
    });
  }

  const sum = (pick: (c: FileCounts) => number): number =>
    files.reduce((total, f) => total + (f.counts === undefined ? 0 : pick(f.counts)), 0);
  const total = {
    rows: sum((c) => c.rows),
    rejected: sum((c) => c.rejected),
    duplicates: sum((c) => c.duplicates),
    reused: sum((c) => c.reused),
    toEmbed: sum((c) => c.toEmbed),
    tokens: sum((c) => c.tokens),
    requests: packer.total,
  };
  const plan: CommandPlan = {
    model: endpoint.model,
    endpoint: endpoint.baseUrl ?? 'offline',
    offline: endpoint.offline,
    rate,
    batch: { size: options.batchSize, maxTokens: options.maxBatchTokens, maxBytes: options.maxBatchBytes },
    packing,
    price,
    files,
    total: {
      ...total,
      time: endpoint.offline ? undefined : totalTime(files, total, rate, packing),
      cost: price === undefined ? undefined : costOf(total.tokens, price),
    },
  };
  if (setup.extra.json === true) io.stdout(JSON.stringify(planJson(plan), null, 2));
  else for (const line of renderPlanTable(plan, io.cwd)) io.stdout(line);
  for (const f of files)
    if (f.error !== undefined) io.stderr(`embed-batch: ${f.source}: the run would fail: ${f.error}`);
  return files.some((f) => f.error !== undefined) ? 1 : 0;
}

/**
 * The command's time: one stream of requests when batches span files;
 * with `--files-at-once 1`, files one after another (each its own first
 * request and last answer).
 */
function totalTime(
  files: readonly FilePlan[],
  total: { requests: number; tokens: number },
  rate: RunRate,
  packing: Packing,
): TimeEstimate {
  if (packing === 'across-files') return estimateSeconds(total.requests, total.tokens, rate);
  const bounds: Partial<Record<TimeBound, number>> = {};
  const seconds = new Map<TimeBound, number>();
  let all = 0;
  for (const f of files) {
    if (f.time === undefined) continue;
    all += f.time.seconds;
    if (f.time.bound !== undefined)
      seconds.set(f.time.bound, (seconds.get(f.time.bound) ?? 0) + f.time.seconds);
    for (const [name, value] of Object.entries(f.time.bounds) as [TimeBound, number][]) {
      bounds[name] = (bounds[name] ?? 0) + value;
    }
  }
  // The bound that set the pace for most of the time.
  let bound: TimeBound | undefined;
  for (const [name, value] of seconds)
    if (bound === undefined || value > (seconds.get(bound) ?? 0)) bound = name;
  return { seconds: all, bound, bounds };
}

/** Why a file that reads fine would still fail its run (every record rejected, over --max-rejected). */
function unmet(counts: FileCounts, options: { readonly maxRejected?: MaxRejected }): string | undefined {
  if (counts.rows > 0 && counts.rejected === counts.rows) {
    return `every record would be rejected (${counts.rejected} of ${counts.rows})`;
  }
  return exceedsMaxRejected(options.maxRejected, { read: counts.rows, rejected: counts.rejected });
}

function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

function timeJson(time: TimeEstimate | undefined): Record<string, unknown> {
  if (time === undefined) return { seconds: null, bound: null };
  return {
    seconds: round(time.seconds, 1),
    bound: time.bound ?? null,
    bounds: Object.fromEntries(Object.entries(time.bounds).map(([name, value]) => [name, round(value, 1)])),
  };
}

/** The plan as `--json` prints it. */
function planJson(plan: CommandPlan): Record<string, unknown> {
  return {
    model: plan.model,
    endpoint: plan.endpoint,
    packing: plan.packing,
    settings: {
      batch_size: plan.batch.size,
      max_batch_tokens: plan.batch.maxTokens,
      max_batch_bytes: plan.batch.maxBytes,
      concurrency: plan.rate.concurrency,
      rps: plan.rate.rps ?? null,
      burst: plan.rate.burst ?? null,
      tpm: plan.rate.tpm ?? null,
      latency_ms: plan.rate.latencyMs,
    },
    price:
      plan.price === undefined
        ? null
        : { per_million_tokens: plan.price.perMillionTokens, source: plan.price.source },
    files: plan.files.map((f) => ({
      source: f.source,
      output: f.output,
      ...(f.counts === undefined
        ? {}
        : {
            rows: f.counts.rows,
            rejected: f.counts.rejected,
            duplicates: f.counts.duplicates,
            reused: f.counts.reused,
            to_embed: f.counts.toEmbed,
            tokens: f.counts.tokens,
            requests: f.requests,
            ...timeJson(f.time),
            cost: f.cost ?? null,
          }),
      error: f.error ?? null,
      saved: f.saved ?? null,
    })),
    total: {
      files: plan.files.length,
      rows: plan.total.rows,
      rejected: plan.total.rejected,
      duplicates: plan.total.duplicates,
      reused: plan.total.reused,
      to_embed: plan.total.toEmbed,
      tokens: plan.total.tokens,
      requests: plan.total.requests,
      ...timeJson(plan.total.time),
      cost: plan.total.cost ?? null,
    },
  };
}
