/**
 * Section 1, endpoint-bound throughput: every contender embeds the same rows
 * against the same rate-limited `serve-local` (its own process), interleaved
 * round by round, so ratios compare runs made under the same machine noise.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ClientReport } from '../clients/types.ts';
import { type EndpointTally, LocalEndpoint, tally } from '../endpoint/LocalEndpoint.ts';
import { writeCsvInput } from '../generateInput.ts';
import { measureProcess } from '../measureProcess.ts';
import { runEmbedBatch } from '../runEmbedBatch.ts';
import type { BenchContext, ContenderRun, ThroughputResult } from '../types.ts';

const MODEL = 'local/feature-hash';

/** The endpoint: IONOS-like rate, TEI-like max inputs, latency that grows with the batch. */
export const THROUGHPUT_SERVER = {
  rps: 10,
  burst: 10,
  maxInputs: 64,
  latencyMs: 100,
  latencyPerInputMs: 5,
} as const;

interface Contender {
  readonly name: string;
  readonly description: string;
  run(input: string, baseUrl: string, outRoot: string): Promise<Omit<ContenderRun, 'endpoint'>>;
}

function embedBatchContender(
  context: BenchContext,
  name: string,
  description: string,
  flags: string[],
): Contender {
  return {
    name,
    description,
    async run(input, baseUrl, outRoot) {
      const { measured, usage } = await runEmbedBatch({
        cli: context.options.cli,
        input,
        outRoot,
        baseUrl,
        model: MODEL,
        flags,
      });
      const seconds = usage.timing.duration_ms / 1000;
      return {
        rows: usage.rows.read,
        embedded: usage.rows.embedded,
        failedRows: usage.rows.read - usage.rows.embedded,
        seconds,
        rowsPerSecond: usage.rows.embedded / seconds,
        cpuSeconds: measured.cpuSeconds,
        maxRssBytes: measured.maxRssBytes,
      };
    },
  };
}

function peerContender(name: string, description: string, script: string): Contender {
  return {
    name,
    description,
    async run(input, baseUrl) {
      const measured = await measureProcess(script, [
        input,
        baseUrl,
        MODEL,
        String(THROUGHPUT_SERVER.maxInputs),
      ]);
      const last = measured.stdout.trim().split('\n').pop() ?? '';
      let report: ClientReport;
      try {
        report = JSON.parse(last) as ClientReport;
      } catch {
        throw new Error(
          `${name} printed no report (exit ${measured.exitCode}):\n${measured.stderr.slice(-2000)}`,
        );
      }
      return {
        rows: report.rows,
        embedded: report.embedded,
        failedRows: report.failed,
        seconds: report.seconds,
        rowsPerSecond: report.embedded / report.seconds,
        cpuSeconds: measured.cpuSeconds,
        maxRssBytes: measured.maxRssBytes,
      };
    },
  };
}

function endpointCounts(counts: EndpointTally): ContenderRun['endpoint'] {
  return {
    requests: counts.requests,
    ok: counts.byStatus['200'] ?? 0,
    throttled: counts.byStatus['429'] ?? 0,
    tooLarge: counts.byStatus['413'] ?? 0,
    other:
      counts.requests -
      (counts.byStatus['200'] ?? 0) -
      (counts.byStatus['429'] ?? 0) -
      (counts.byStatus['413'] ?? 0),
    spanSeconds: counts.spanMs / 1000,
  };
}

/** Runs the section; every contender once per round, in the same order. */
export async function benchThroughput(context: BenchContext): Promise<ThroughputResult> {
  const { options, workDir, log } = context;
  const rows = options.quick ? 1_920 : 6_400;
  const input = path.join(workDir, `throughput-${rows}.csv`);
  await writeCsvInput(input, rows);
  const s = THROUGHPUT_SERVER;
  const peers = fileURLToPath(new URL('../clients/', import.meta.url));
  const contenders: Contender[] = [
    embedBatchContender(
      context,
      'embed-batch, tuned',
      `\`--batch-size ${s.maxInputs} --rps ${s.rps} --burst ${s.burst}\` (the server's limits)`,
      ['--batch-size', String(s.maxInputs), '--rps', String(s.rps), '--burst', String(s.burst)],
    ),
    embedBatchContender(
      context,
      'embed-batch, defaults',
      'no flags (batch 256 or the token cap, concurrency 8, adapts to 429)',
      [],
    ),
    peerContender(
      'LangChain OpenAIEmbeddings',
      `@langchain/openai 1.5.8 defaults (maxConcurrency 2, 6 retries), \`batchSize: ${s.maxInputs}\``,
      path.join(peers, 'langchainClient.ts'),
    ),
    peerContender(
      'sequential loop (openai SDK)',
      `one request at a time, ${s.maxInputs} inputs each, openai 6.49 defaults (base64, 2 retries)`,
      path.join(peers, 'sequentialClient.ts'),
    ),
  ];

  const endpoint = await LocalEndpoint.start({ ...s });
  const runs = new Map<string, ContenderRun[]>(contenders.map((c) => [c.name, []]));
  try {
    for (let round = 1; round <= options.runs; round++) {
      for (const contender of contenders) {
        await endpoint.takeLog();
        // A full bucket for everyone: wait out what the previous contender used.
        await new Promise((resolve) => setTimeout(resolve, (1000 * s.burst) / s.rps + 200));
        await endpoint.takeLog();
        const outRoot = path.join(workDir, 'out', `throughput-${round}-${contenders.indexOf(contender)}`);
        const result = await contender.run(input, endpoint.url, outRoot);
        const counts = endpointCounts(tally(await endpoint.takeLog()));
        runs.get(contender.name)?.push({ ...result, endpoint: counts });
        log(
          `throughput round ${round}/${options.runs}: ${contender.name}: ${result.rowsPerSecond.toFixed(0)} rows/s, ${counts.throttled} x 429, ${counts.tooLarge} x 413, ${result.failedRows} failed rows`,
        );
      }
    }
  } finally {
    await endpoint.close();
  }
  return {
    server: { ...s },
    rows,
    ceilingRowsPerSecond: s.rps * s.maxInputs,
    contenders: contenders.map((c) => ({
      name: c.name,
      description: c.description,
      runs: runs.get(c.name) ?? [],
    })),
  };
}
