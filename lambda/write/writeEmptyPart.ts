import { OFFLINE_DEFAULT_DIMENSIONS, OFFLINE_MODEL } from '../embed/featureHash.ts';
import { modelFacts } from '../embed/modelFacts.ts';
import type { ObjectStore } from '../store/ObjectStore.ts';
import type { OutputFile } from '../types.ts';
import { PartWriter, type PartWriterOptions } from './PartWriter.ts';

/**
 * The vector length a job's parts would have had, when it is known without
 * asking the endpoint: `--dimensions`, the model's documented size, or the
 * offline embedder's default. Undefined for a model nobody has measured.
 */
export function expectedDimensions(model: string, requested?: number): number | undefined {
  if (requested !== undefined) return requested;
  if (model === OFFLINE_MODEL) return OFFLINE_DEFAULT_DIMENSIONS;
  return modelFacts(model)?.dimensions;
}

/**
 * Writes the one empty part (no rows, the full schema) of an output with no
 * embedded rows, so readers of `part-*` find a file with the right columns.
 * With the dimension unknown (an unknown model that never answered) it writes
 * nothing: probing the endpoint for it would be a paid request that may fail
 * on a file whose real problem is its records.
 */
export async function writeEmptyPart(
  store: ObjectStore,
  dir: string,
  options: Omit<PartWriterOptions, 'emptyPart'>,
): Promise<OutputFile[]> {
  const dimensions = options.dimensions ?? expectedDimensions(options.model);
  if (dimensions === undefined) return [];
  return new PartWriter(store, dir, { ...options, dimensions, emptyPart: true }).finish();
}
