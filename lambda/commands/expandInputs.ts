import path from 'node:path';
import { InputError } from '../errors.ts';
import { isSupportedInput } from '../read/detectFormat.ts';
import type { ObjectStore } from '../store/ObjectStore.ts';
import { isS3Uri, joinUri, parseS3Uri } from '../store/uri.ts';

/** One file to embed and the folder its output goes to. */
export interface PlannedInput {
  readonly sourceUri: string;
  readonly outputDir: string;
}

/** `products.csv.gz` -> `products`: the output folder is named after the file without its format suffixes. */
export function stripInputSuffix(name: string): string {
  return name.replace(/\.gz$/i, '').replace(/\.(csv|jsonl|ndjson)$/i, '');
}

/**
 * Expands the `run` arguments into files: a local file, a local folder or
 * `s3://bucket/prefix/` (every supported file below it), or `s3://bucket/key`.
 * A single file keeps its path below `--out` (`x/y/products.csv` ->
 * `OUT/x/y/products/`); files found below a folder or prefix keep their path
 * relative to it, as the Lambda does for `input/`.
 */
export async function expandInputs(
  inputs: readonly string[],
  out: string,
  store: ObjectStore,
  cwd: string = process.cwd(),
): Promise<PlannedInput[]> {
  const planned: PlannedInput[] = [];
  for (const input of inputs) {
    if (isS3Uri(input) && input.endsWith('/')) {
      let found = 0;
      for await (const object of store.list(input)) {
        if (!isSupportedInput(object.uri)) continue;
        const relative = parseS3Uri(object.uri).key.slice(parseS3Uri(input).key.length);
        planned.push({ sourceUri: object.uri, outputDir: joinUri(out, stripInputSuffix(relative)) });
        found++;
      }
      if (found === 0)
        throw new InputError(`${input}: no .csv, .jsonl or .ndjson files (or .gz of them) below this prefix`);
      continue;
    }
    if (isS3Uri(input)) {
      planned.push({ sourceUri: input, outputDir: joinUri(out, stripInputSuffix(parseS3Uri(input).key)) });
      continue;
    }
    const absolute = path.resolve(cwd, input);
    const info = await store.head(absolute);
    if (info === undefined) {
      // A folder has no head of its own: list it.
      let found = 0;
      for await (const object of store.list(absolute)) {
        if (!isSupportedInput(object.uri)) continue;
        planned.push({
          sourceUri: object.uri,
          outputDir: joinUri(out, stripInputSuffix(path.relative(absolute, object.uri))),
        });
        found++;
      }
      if (found === 0)
        throw new InputError(`${input}: no such file, or a folder with no .csv/.jsonl/.ndjson files`);
      continue;
    }
    planned.push({ sourceUri: absolute, outputDir: localOutputDir(absolute, out, cwd) });
  }
  return planned;
}

/** Output folder of one local file: its path below `cwd` (or its name, when outside) without suffixes, below `out`. */
export function localOutputDir(absolute: string, out: string, cwd: string): string {
  const relative = path.relative(cwd, absolute);
  const inside = relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative);
  return joinUri(out, stripInputSuffix(inside ? relative : path.basename(absolute)));
}
