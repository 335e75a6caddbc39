import { ConfigError } from '../errors.ts';
import { isS3Uri } from '../store/uri.ts';
import { staleReason } from '../write/isOutputCurrent.ts';
import { readManifest } from '../write/OutputFolder.ts';
import { expandInputs, type PlannedInput } from './expandInputs.ts';
import type { Io } from './io.ts';
import {
  announceOffline,
  announceSkipped,
  checkOutputFolder,
  exitStatusOf,
  JOB_FLAGS_USAGE,
  runPlanned,
  setUpJob,
} from './runCommand.ts';
import { StopOnSignals } from './StopOnSignals.ts';

export const REINDEX_USAGE = `Usage: embed-batch reindex <s3://bucket/input/ | folder> [--out s3://bucket/output/ | DIR] [--force] [options]

Embeds only the stale sources below the prefix: new files, files changed since their output
(source ETag), outputs made with another model, format or dimensions. Unchanged rows of a
changed file reuse their earlier vectors. --out defaults to the sibling output/ of an input/ prefix.
  --force                 re-embed every source, up to date or not (implies --full)
${JOB_FLAGS_USAGE}`;

/** `embed-batch reindex`: brings every output below a prefix up to date. Returns the exit status. */
export async function reindexCommand(argv: readonly string[], io: Io): Promise<number> {
  const signals = new StopOnSignals();
  try {
    return await reindex(argv, io, signals);
  } finally {
    signals.dispose();
  }
}

async function reindex(argv: readonly string[], io: Io, signals: StopOnSignals): Promise<number> {
  const setup = setUpJob(argv, io, { force: { type: 'boolean' } }, 'reindex', signals);
  if (setup.help) {
    io.stdout(REINDEX_USAGE);
    return 0;
  }
  const [prefix, ...rest] = setup.inputs;
  if (prefix === undefined || rest.length > 0)
    throw new ConfigError(`Expected exactly one prefix\n${REINDEX_USAGE}`);
  const force = setup.extra.force === true;
  const source = isS3Uri(prefix) && !prefix.endsWith('/') ? `${prefix}/` : prefix;
  // `input` and `input/` are the same folder; only the default output needs to see the slash.
  const out = setup.out ?? defaultOutput(source.endsWith('/') ? source : `${source}/`);
  const options = force ? { ...setup.options, full: true } : setup.options;
  await checkOutputFolder(out, io.cwd);
  announceOffline(setup, io);

  const stale: PlannedInput[] = [];
  let upToDate = 0;
  const expanded = await expandInputs([source], out, setup.store, io.cwd);
  announceSkipped(expanded.skippedOutputs, io);
  for (const planned of expanded.planned) {
    const [manifest, info] = await Promise.all([
      readManifest(setup.store, planned.outputDir),
      setup.store.head(planned.sourceUri),
    ]);
    const reason = force
      ? 'forced'
      : staleReason(manifest, {
          sourceUri: planned.sourceUri,
          etag: info?.etag,
          model: setup.endpoint.model,
          format: options.format,
          dimensions: options.dimensions,
        });
    if (reason === undefined) {
      upToDate++;
      io.stdout(`up to date: ${planned.sourceUri}`);
    } else {
      io.stdout(`stale (${reason}): ${planned.sourceUri}`);
      stale.push(planned);
    }
  }
  const outcome = await runPlanned(stale, { ...setup, options }, io);
  const { failed } = outcome;
  if (outcome.interrupted === undefined)
    io.stdout(`reindex: ${upToDate} up to date, ${stale.length - failed} processed, ${failed} failed`);
  return exitStatusOf(outcome);
}

/** `s3://b/input/` -> `s3://b/output/`, as the stack lays them out; anything else needs `--out`. */
function defaultOutput(prefix: string): string {
  const match = /^(.*\/)?input\/$/.exec(prefix);
  if (!match)
    throw new ConfigError(
      `Expected \`--out\`: ${prefix} does not end in input/, so there is no default output/ beside it`,
    );
  return `${match[1] ?? ''}output/`;
}
