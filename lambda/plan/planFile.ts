import { DEDUP_ENTRIES_BEFORE_DIMENSIONS, dedupEntriesFor, VectorCache } from '../batch/VectorCache.ts';
import { estimateTokens } from '../embed/modelFacts.ts';
import { InputError } from '../errors.ts';
import type { JobOptions } from '../pipelineTypes.ts';
import { openRecordSource } from '../read/openRecordSource.ts';
import { resolveKeptColumns } from '../resolveKeptColumns.ts';
import { PreviousOutput } from '../reuse/PreviousOutput.ts';
import type { ObjectStore } from '../store/ObjectStore.ts';
import { contentHash } from '../write/contentHash.ts';
import { readManifest } from '../write/OutputFolder.ts';
import { expectedDimensions } from '../write/writeEmptyPart.ts';
import { type PlanBinding, planBindingOf } from './PlanEstimate.ts';
import type { RequestCounter } from './RequestCounter.ts';

/** What reading one input file without embedding it found. */
export interface FileCounts {
  /** Records read (rows.read of the run). */
  readonly rows: number;
  readonly rejected: number;
  /** Rows whose text an earlier row of the file sends (rows.deduplicated). */
  readonly duplicates: number;
  /** Rows whose vector the earlier output in the folder lends (rows.reused). */
  readonly reused: number;
  /** Texts that need a request. */
  readonly toEmbed: number;
  /** Estimated tokens of those texts (the run's own estimator: the server's count is at most this). */
  readonly tokens: number;
  /** What the run will bind its checkpoint and the plan to. */
  readonly binding: PlanBinding;
}

/** What `planFile` needs. */
export interface PlanFilePorts {
  readonly store: ObjectStore;
  readonly model: string;
  /** Counts this file's requests (it may be shared with other files). */
  readonly packer: RequestCounter;
  /** This file's index in the command, for the packer. */
  readonly file: number;
  readonly onNotice?: (message: string) => void;
}

/**
 * Reads one input as `runJob` would, sending nothing: the same reader and
 * record checks (so the same rejects), the same content hashes, the same
 * dedup rule (a bounded cache of texts already sent, sized as the run sizes
 * it) and the same reuse lookup in the earlier output of the folder. Nothing
 * is written and no lock is taken: the folder may be in use.
 *
 * Requests are counted by `ports.packer`, which packs as the run does.
 *
 * @throws {InputError} when the file is missing or cannot be read (the run would fail the same way).
 */
export async function planFile(
  sourceUri: string,
  outputDir: string,
  options: JobOptions,
  ports: PlanFilePorts,
): Promise<FileCounts> {
  const { store, model, packer, file } = ports;
  const head = await store.head(sourceUri);
  if (head === undefined) throw new InputError(`no such file or object: ${sourceUri}`);
  const manifest = await readManifest(store, outputDir);
  const previous = options.full
    ? undefined
    : await PreviousOutput.open(store, outputDir, manifest, { model, dimensions: options.dimensions });
  try {
    // Read as the run reads: the same reader options, kept fields typed as the run types them.
    const keepColumns = await resolveKeptColumns(store, sourceUri, options, {
      head,
      onNotice: ports.onNotice,
    });
    const { records } = await openRecordSource(
      store,
      sourceUri,
      head,
      { ...options, keepColumns },
      undefined,
      ports.onNotice,
    );
    // The run resizes its cache once the first answer tells the vector length; known lengths are used from the start.
    const dimensions = expectedDimensions(model, options.dimensions);
    const sent = new VectorCache<true>(
      dimensions === undefined ? DEDUP_ENTRIES_BEFORE_DIMENSIONS : dedupEntriesFor(dimensions),
    );
    let rows = 0;
    let rejected = 0;
    let duplicates = 0;
    let reused = 0;
    let toEmbed = 0;
    let tokens = 0;
    for await (const result of records) {
      rows++;
      if (!result.ok) {
        rejected++;
        packer.addOther(file);
        continue;
      }
      const text = result.value.text;
      const hash = contentHash(model, text);
      // In the run's order: this job's own texts first, then the earlier output.
      if (sent.get(hash) !== undefined) {
        duplicates++;
        packer.addOther(file);
      } else if (previous !== undefined && (await previous.lookup(hash)) !== undefined) {
        reused++;
        packer.addOther(file);
      } else {
        sent.set(hash, true);
        toEmbed++;
        tokens += estimateTokens(text);
        packer.addText(file, text);
      }
    }
    packer.endFile(file);
    return {
      rows,
      rejected,
      duplicates,
      reused,
      toEmbed,
      tokens,
      binding: planBindingOf(head, model, options, manifest),
    };
  } finally {
    await previous?.dispose();
  }
}
