import { isSupportedInput } from '../read/detectFormat.ts';

/** The key prefixes that decide what is input and where output goes. */
export interface KeyLayout {
  /** Ends in `/`, or '' for the whole bucket. */
  readonly inputPrefix: string;
  /** Ends in `/`, never ''. */
  readonly outputPrefix: string;
}

/** Where an object's output goes, or why the object is no work of ours. */
export type OutputTarget =
  | { readonly outputDir: string; readonly skip?: undefined }
  | { readonly outputDir?: undefined; readonly skip: string };

/** `.csv`, `.jsonl`, `.ndjson`, each optionally `.gz`: the suffix dropped from the output folder's name. */
const INPUT_SUFFIX = /\.(csv|jsonl|ndjson)(\.gz)?$/i;

/**
 * Maps an input key to its output folder: `input/a/b/x.csv` ->
 * `s3://<bucket>/output/a/b/x/` (the input prefix replaced by the output
 * prefix, the suffix dropped, a trailing `/`).
 *
 * Anything under the output prefix is refused first, whatever else it
 * matches, so the job's own writes can never trigger it again.
 */
export function outputDirFor(bucket: string, key: string, layout: KeyLayout): OutputTarget {
  if (key.startsWith(layout.outputPrefix)) return { skip: `under OUTPUT_PREFIX ${layout.outputPrefix}` };
  if (!key.startsWith(layout.inputPrefix)) return { skip: `outside INPUT_PREFIX ${layout.inputPrefix}` };
  if (!isSupportedInput(key)) return { skip: 'not a .csv, .jsonl or .ndjson file (or .gz of one)' };
  const name = key.slice(layout.inputPrefix.length).replace(INPUT_SUFFIX, '');
  // `input/a/.csv` has no name left; its folder would be the parent's, shared with its siblings.
  if (name === '' || name.endsWith('/')) return { skip: 'the file name is only a suffix' };
  return { outputDir: `s3://${bucket}/${layout.outputPrefix}${name}/` };
}
