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

/** `.csv`, `.jsonl`, `.ndjson`, each optionally `.gz`. */
const INPUT_SUFFIX = /\.(csv|jsonl|ndjson)(\.gz)?$/i;

/**
 * Maps an input key to its output folder: `input/a/b/x.csv` ->
 * `s3://<bucket>/output/a/b/x.csv/` (the input prefix replaced by the output
 * prefix, the whole file name kept, so `x.csv`, `x.jsonl` and `x.csv.gz` get
 * three folders; a trailing `/`).
 *
 * Anything under the output prefix is refused first, whatever else it
 * matches, so the job's own writes can never trigger it again.
 */
export function outputDirFor(bucket: string, key: string, layout: KeyLayout): OutputTarget {
  if (key.startsWith(layout.outputPrefix)) return { skip: `under OUTPUT_PREFIX ${layout.outputPrefix}` };
  if (!key.startsWith(layout.inputPrefix)) return { skip: `outside INPUT_PREFIX ${layout.inputPrefix}` };
  if (!isSupportedInput(key)) return { skip: 'not a .csv, .jsonl or .ndjson file (or .gz of one)' };
  const name = key.slice(layout.inputPrefix.length);
  // `input/a/.csv` is a name that is only a suffix: a hidden file, not an export.
  const stem = name.replace(INPUT_SUFFIX, '');
  if (stem === '' || stem.endsWith('/')) return { skip: 'the file name is only a suffix' };
  return { outputDir: `s3://${bucket}/${layout.outputPrefix}${name}/` };
}
