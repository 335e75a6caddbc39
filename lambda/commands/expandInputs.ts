import path from 'node:path';
import { InputError } from '../errors.ts';
import { isSupportedInput } from '../read/detectFormat.ts';
import type { ObjectStore } from '../store/ObjectStore.ts';
import { isS3Uri, joinUri, parseS3Uri } from '../store/uri.ts';
import type { SourceInfo } from '../types.ts';
import { isOutputMarker } from '../write/OutputLayout.ts';

/** One file to embed and the folder its output goes to. */
export interface PlannedInput {
  readonly sourceUri: string;
  readonly outputDir: string;
  /** Its size where a listing or head told it (to judge how many files may run at once). */
  readonly bytes?: number;
}

/** What `expandInputs` found. */
export interface ExpandedInputs {
  readonly planned: PlannedInput[];
  /** Files passed over because they lie in an output folder (or below the output root). */
  readonly skippedOutputs: number;
}

/**
 * Expands the `run` arguments into files: a local file, a local folder or
 * `s3://bucket/prefix/` (every supported file below it), or `s3://bucket/key`.
 * The output folder keeps the input's whole file name, so two sources never
 * share one (`x.csv`, `x.jsonl` and `x.csv.gz` get three): a single file keeps
 * its path below `--out` (`x/y/products.csv` -> `OUT/x/y/products.csv/`),
 * files found below a folder or prefix keep their path relative to it, as the
 * Lambda does for `input/`.
 *
 * Inputs never include outputs: a folder or prefix expands without the output
 * root and without any folder that holds embed-batch output (a manifest,
 * usage report, errors file or scratch folder), counted in `skippedOutputs`.
 *
 * @throws {InputError} when two inputs would share an output folder (naming both),
 *   or an argument names nothing to embed.
 */
export async function expandInputs(
  inputs: readonly string[],
  out: string,
  store: ObjectStore,
  cwd: string = process.cwd(),
): Promise<ExpandedInputs> {
  const planned: PlannedInput[] = [];
  let skippedOutputs = 0;
  // A relative --out is relative to `cwd`; kept relative (to this process's folder) so messages stay short.
  if (!isS3Uri(out) && !path.isAbsolute(out))
    out = path.relative(process.cwd(), path.resolve(cwd, out)) || '.';
  const outRoot = isS3Uri(out) ? joinUri(out, '/') : path.resolve(out);
  const listed = async (prefix: string, relativeOf: (uri: string) => string, what: string) => {
    const found = await listInputs(store, prefix, outRoot, relativeOf);
    skippedOutputs += found.skipped;
    if (found.inputs.length === 0)
      throw new InputError(`${what}: no .csv, .jsonl or .ndjson files (or .gz of them)`);
    for (const object of found.inputs)
      planned.push({
        sourceUri: object.uri,
        outputDir: joinUri(out, relativeOf(object.uri)),
        bytes: object.bytes,
      });
  };

  for (const input of inputs) {
    if (isS3Uri(input) && input.endsWith('/')) {
      const prefixKey = parseS3Uri(input).key;
      await listed(
        input,
        (uri) => parseS3Uri(uri).key.slice(prefixKey.length),
        `${input} (below this prefix)`,
      );
      continue;
    }
    if (isS3Uri(input)) {
      planned.push({ sourceUri: input, outputDir: joinUri(out, parseS3Uri(input).key) });
      continue;
    }
    const absolute = path.resolve(cwd, input);
    const info = await store.head(absolute);
    if (info === undefined) {
      // A folder has no head of its own: list it.
      await listed(
        absolute,
        (uri) => path.relative(absolute, uri),
        `${input}: no such file, or a folder with no supported files`,
      );
      continue;
    }
    planned.push({ sourceUri: absolute, outputDir: localOutputDir(absolute, out, cwd), bytes: info.bytes });
  }
  return { planned: oneWriterPerFolder(planned), skippedOutputs };
}

/** Output folder of one local file: its path below `cwd` (or its name, when outside), below `out`. */
export function localOutputDir(absolute: string, out: string, cwd: string): string {
  const relative = path.relative(cwd, absolute);
  const inside = relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative);
  return joinUri(out, inside ? relative : path.basename(absolute));
}

/** The supported files below `prefix`, without those in output folders or below the output root. */
async function listInputs(
  store: ObjectStore,
  prefix: string,
  outRoot: string,
  relativeOf: (uri: string) => string,
): Promise<{ inputs: SourceInfo[]; skipped: number }> {
  const candidates: SourceInfo[] = [];
  // Folders (relative, with `/`) that hold embed-batch output: nothing below them is input.
  const outputFolders = new Set<string>();
  for await (const object of store.list(prefix)) {
    const relative = relativeOf(object.uri).split(path.sep).join('/');
    const segments = relative.split('/');
    for (let i = 0; i < segments.length; i++) {
      if (isOutputMarker(segments[i] ?? '', i === segments.length - 1))
        outputFolders.add(segments.slice(0, i).join('/'));
    }
    if (isSupportedInput(object.uri)) candidates.push(object);
  }
  const inputs: SourceInfo[] = [];
  let skipped = 0;
  for (const object of candidates) {
    const relative = relativeOf(object.uri).split(path.sep).join('/');
    const underOutput =
      isBelow(object.uri, outRoot) || [...ancestors(relative)].some((folder) => outputFolders.has(folder));
    if (underOutput) skipped++;
    else inputs.push(object);
  }
  return { inputs, skipped };
}

/** Every folder that holds `relative` (`a/b/c.csv` -> `a/b`, `a`, ``). */
function* ancestors(relative: string): Generator<string> {
  const segments = relative.split('/');
  for (let i = segments.length - 1; i >= 0; i--) yield segments.slice(0, i).join('/');
}

function isBelow(uri: string, root: string): boolean {
  if (isS3Uri(root)) return uri.startsWith(root);
  const relative = path.relative(root, uri);
  return relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative);
}

/** The inputs, each once; two inputs that would write one folder are refused before anything is embedded. */
function oneWriterPerFolder(planned: readonly PlannedInput[]): PlannedInput[] {
  const byFolder = new Map<string, string>();
  const unique: PlannedInput[] = [];
  for (const input of planned) {
    const key = input.outputDir.replace(/\/+$/, '');
    if (key === input.sourceUri) {
      throw new InputError(
        `${input.sourceUri}: its output folder would be the file itself (--out is the folder it is in); choose another --out`,
      );
    }
    const other = byFolder.get(key);
    if (other === input.sourceUri) continue;
    if (other !== undefined) {
      throw new InputError(
        `${other} and ${input.sourceUri} would both write ${input.outputDir}; run them with different --out folders`,
      );
    }
    byFolder.set(key, input.sourceUri);
    unique.push(input);
  }
  return unique;
}
