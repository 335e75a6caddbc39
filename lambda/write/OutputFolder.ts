import path from 'node:path';
import type { ObjectStore } from '../store/ObjectStore.ts';
import { basenameUri, isS3Uri, joinUri } from '../store/uri.ts';
import type { OutputFile, OutputFormat } from '../types.ts';
import { buildManifest, type Manifest, parseManifest } from './Manifest.ts';
import { PART_FILE_PATTERN } from './PartWriter.ts';
import type { UsageReport } from './UsageReport.ts';

/** Written last; its presence means the folder is complete. */
export const MANIFEST_FILE = 'manifest.json';
/** The usage report, written just before the manifest. */
export const USAGE_FILE = 'usage.json';

/** URI of `manifest.json` in an output folder. */
export function manifestUri(dir: string): string {
  return joinUri(dir, MANIFEST_FILE);
}

/** URI of `usage.json` in an output folder. */
export function usageUri(dir: string): string {
  return joinUri(dir, USAGE_FILE);
}

/** The manifest of an output folder, or undefined when the folder is not complete (or not ours). */
export async function readManifest(store: ObjectStore, dir: string): Promise<Manifest | undefined> {
  return parseManifest(await store.getText(manifestUri(dir)));
}

/**
 * Opens an output folder for a new run: deletes `manifest.json` before
 * anything else is written, so a run that crashes half-way can never leave a
 * folder that looks complete (with new parts under an old manifest).
 *
 * Earlier parts are left alone here (an incremental reindex may still read
 * them); `commitOutput` removes those the new manifest does not list.
 *
 * @returns The previous run's manifest, read before deleting it, or undefined.
 */
export async function beginOutput(store: ObjectStore, dir: string): Promise<Manifest | undefined> {
  const previous = await readManifest(store, dir);
  await store.delete([manifestUri(dir)]);
  return previous;
}

/** What `commitOutput` records. */
export interface CommitOutputInput {
  /** The finished usage report (its `outputs` should equal `parts`). */
  readonly usage: UsageReport;
  /** Part files in order, as `PartWriter.finish()` returned them. */
  readonly parts: readonly OutputFile[];
  /** The errors file, as `ErrorsWriter.finish()` returned it. */
  readonly errors: { readonly uri: string; readonly rows: number };
  readonly format: OutputFormat;
  /** Manifest `created_at`. @default now */
  readonly createdAt?: Date;
}

/**
 * Completes an output folder, in this order:
 *
 * 1. writes `usage.json`;
 * 2. deletes part files (`part-*.parquet|arrow`, directly in the folder) that
 *    the new manifest does not list: leftovers of an earlier, longer run;
 * 3. writes `manifest.json`, last.
 *
 * Stale parts go before the manifest, not after, so a folder that has a
 * manifest holds exactly the parts it lists even for readers that glob
 * `part-*.parquet`; a crash in between leaves a folder without a manifest,
 * i.e. visibly incomplete.
 *
 * @returns The manifest's URI.
 */
export async function commitOutput(
  store: ObjectStore,
  dir: string,
  input: CommitOutputInput,
): Promise<string> {
  const usage = usageUri(dir);
  await store.put(usage, `${JSON.stringify(input.usage, null, 2)}\n`);

  const manifest = buildManifest({
    source: { uri: input.usage.source.uri, etag: input.usage.source.etag, bytes: input.usage.source.bytes },
    model: input.usage.model,
    dimensions: input.usage.dimensions,
    format: input.format,
    parts: input.parts,
    errors: input.errors,
    usage,
    createdAt: input.createdAt ?? new Date(),
  });
  const stale = await staleParts(store, dir, manifest.parts);
  if (stale.length > 0) await store.delete(stale);

  const uri = manifestUri(dir);
  await store.put(uri, `${JSON.stringify(manifest, null, 2)}\n`);
  return uri;
}

/** Part files directly in `dir` that are not among `keep` (compared by file name). */
export async function staleParts(
  store: ObjectStore,
  dir: string,
  keep: readonly OutputFile[],
): Promise<string[]> {
  const kept = new Set(keep.map((part) => basenameUri(part.uri)));
  // On S3 the prefix must end in `/`, or `out/products` would also list `out/products-2/...`.
  const prefix = isS3Uri(dir) ? joinUri(dir, '/') : dir;
  const stale: string[] = [];
  for await (const object of store.list(prefix)) {
    const name = childName(prefix, object.uri);
    if (name !== undefined && PART_FILE_PATTERN.test(name) && !kept.has(name)) stale.push(object.uri);
  }
  return stale;
}

/** The file name of `uri` when it lies directly in folder `dir`; undefined when deeper or elsewhere. */
function childName(dir: string, uri: string): string | undefined {
  if (isS3Uri(dir)) {
    if (!uri.startsWith(dir)) return undefined;
    const rest = uri.slice(dir.length);
    return rest.includes('/') ? undefined : rest;
  }
  const rest = path.relative(dir, uri);
  return rest === '' || rest.startsWith('..') || rest.includes(path.sep) || rest.includes('/')
    ? undefined
    : rest;
}
