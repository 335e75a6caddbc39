import { basenameUri, joinUri } from '../store/uri.ts';

/**
 * Where a run keeps what is not yet committed: its parts, error segments,
 * checkpoint and lock. Underscore-prefixed, as Hive, Spark and DuckDB's
 * partitioned readers skip such folders, and its parts end in `.partial`, so
 * not even a `**\/*.parquet` glob over the folder counts them twice.
 */
export const SCRATCH_DIR = '_scratch';

/** Suffix of an uncommitted part or file in the scratch folder. */
export const PARTIAL_SUFFIX = '.partial';

/** `<dir>/_scratch/<name>`. */
export function scratchUri(dir: string, name: string): string {
  return joinUri(dir, SCRATCH_DIR, name);
}

/** `<dir>/_scratch/` (with the trailing `/` an S3 prefix needs). */
export function scratchPrefix(dir: string): string {
  return joinUri(dir, `${SCRATCH_DIR}/`);
}

/** Part names in the scratch folder: the final name plus `.partial`. */
export function scratchPartName(finalName: (index: number, extension: 'parquet' | 'arrow') => string) {
  return (index: number, extension: 'parquet' | 'arrow'): string =>
    `${SCRATCH_DIR}/${finalName(index, extension)}${PARTIAL_SUFFIX}`;
}

/** Where a scratch file lands on commit: `<dir>/<name without .partial>`. */
export function committedUri(dir: string, scratch: string): string {
  const name = basenameUri(scratch);
  return joinUri(dir, name.endsWith(PARTIAL_SUFFIX) ? name.slice(0, -PARTIAL_SUFFIX.length) : name);
}

/** Files and folders only embed-batch output has: a folder holding one is an output, never an input. */
const OUTPUT_FILES = new Set(['manifest.json', 'usage.json']);
const OUTPUT_FOLDERS = /^(_scratch|_shards|_previous-[0-9a-f]+)$/;

/** Whether a path segment marks its folder as embed-batch output (`isFile`: the last segment, a file name). */
export function isOutputMarker(segment: string, isFile: boolean): boolean {
  return isFile ? OUTPUT_FILES.has(segment) : OUTPUT_FOLDERS.test(segment);
}

/** S3's limit on a key, in UTF-8 bytes. */
export const MAX_S3_KEY_BYTES = 1024;
/** The longest name a run writes below its output folder. */
const LONGEST_OUTPUT_NAME = `${SCRATCH_DIR}/errors.jsonl${PARTIAL_SUFFIX}.seg-00000`;

/**
 * The reason an S3 output folder cannot hold a run's files (a key over S3's
 * 1,024 bytes), or undefined when it can (and for local folders).
 */
export function outputKeyProblem(dir: string): string | undefined {
  if (!dir.startsWith('s3://')) return undefined;
  const key = `${dir.replace(/^s3:\/\/[^/]+\/?/, '').replace(/\/?$/, '/')}${LONGEST_OUTPUT_NAME}`;
  const bytes = Buffer.byteLength(key);
  return bytes > MAX_S3_KEY_BYTES
    ? `the output folder ${dir} needs S3 keys of ${bytes} bytes (such as ${LONGEST_OUTPUT_NAME} in it), over S3's limit of ${MAX_S3_KEY_BYTES}; use a shorter input path or output prefix`
    : undefined;
}

/**
 * File names a `PartWriter` produces (and `commitOutput` may clean up):
 * `part-00000.parquet`, or `part-00003-00000.parquet` for part 0 of shard 3
 * of a distributed run.
 */
export const PART_FILE_PATTERN = /^part-\d{5,}(?:-\d{5,})?\.(parquet|arrow)$/;
