import path from 'node:path';
import type { ObjectStore } from '../store/ObjectStore.ts';
import { basenameUri, isS3Uri, joinUri } from '../store/uri.ts';
import type { OutputFile, OutputFormat } from '../types.ts';
import { ERRORS_FILE } from './ErrorsWriter.ts';
import { lockUri } from './FolderLock.ts';
import { buildManifest, type Manifest, parseManifest } from './Manifest.ts';
import { committedUri, PART_FILE_PATTERN, scratchPrefix, scratchUri } from './OutputLayout.ts';
import type { UsageReport } from './UsageReport.ts';

/** The file `plan` stores its estimate in, in the scratch folder (see plan/PlanEstimate.ts). */
export const PLAN_FILE = 'plan.json';

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
 * Readies an output folder for a run that holds its lock (`FolderLock`):
 * finishes a commit that a crash interrupted (so its output is complete and
 * can lend its vectors), and removes what older versions of this tool left
 * (`_previous-*` staging copies). The earlier output itself is not touched: it
 * stays complete and readable until the new run commits.
 *
 * @returns The folder's manifest, or undefined when it has no complete output.
 */
export async function prepareOutput(store: ObjectStore, dir: string): Promise<Manifest | undefined> {
  const pending = parseCommit(await store.getText(commitUri(dir)));
  if (pending !== undefined) await applyCommit(store, dir, pending);
  const legacy: string[] = [];
  for await (const object of store.list(folderPrefix(dir))) {
    if (relativeName(folderPrefix(dir), object.uri)?.startsWith('_previous-')) legacy.push(object.uri);
  }
  if (legacy.length > 0) await store.delete(legacy);
  return readManifest(store, dir);
}

/**
 * Deletes the scratch folder's contents (a discarded checkpoint and its
 * parts), keeping the lock and the stored plan (`plan.json`: the run that
 * starts over still reports its estimate; the commit removes it).
 */
export async function discardScratch(store: ObjectStore, dir: string): Promise<void> {
  const keep = new Set([lockUri(dir), scratchUri(dir, PLAN_FILE)]);
  const doomed: string[] = [];
  for await (const object of store.list(scratchPrefix(dir)))
    if (!keep.has(object.uri)) doomed.push(object.uri);
  if (doomed.length > 0) await store.delete(doomed);
}

/** What `commitOutput` records. */
export interface CommitOutputInput {
  /** The finished usage report (its `outputs` are rewritten to the committed names). */
  readonly usage: UsageReport;
  /** Part files in order, as `PartWriter.finish()` returned them (in the scratch folder, or already in place). */
  readonly parts: readonly OutputFile[];
  /** The errors file, as `ErrorsWriter.finish()` returned it. */
  readonly errors: { readonly uri: string; readonly rows: number };
  readonly format: OutputFormat;
  /** Manifest `created_at`. @default now */
  readonly createdAt?: Date;
}

/** `_scratch/commit.json`: a decided commit, replayed to the end by whoever finds it. */
interface CommitRecord {
  readonly version: 1;
  readonly moves: readonly { readonly from: string; readonly to: string }[];
  readonly usage: UsageReport;
  readonly manifest: Manifest;
}

/**
 * Completes an output folder. Once `_scratch/commit.json` is written the
 * commit is decided, and is carried to the end by this call or, after a
 * crash, by the next run's `prepareOutput`:
 *
 * 1. deletes the earlier `manifest.json`;
 * 2. deletes part files (directly in the folder) that the new manifest does not list;
 * 3. moves the new parts and errors file from the scratch folder into place;
 * 4. writes `usage.json`, then `manifest.json`, last;
 * 5. empties the scratch folder (the lock stays for its holder to release).
 *
 * A folder that has a manifest therefore holds exactly the parts it lists,
 * even for readers that glob `**\/*.parquet`: a crash between 1 and 4 leaves
 * a folder without a manifest, visibly incomplete, until the commit is replayed.
 *
 * @returns The manifest's URI and the usage report as written (outputs under their committed names).
 */
export async function commitOutput(
  store: ObjectStore,
  dir: string,
  input: CommitOutputInput,
): Promise<{ readonly manifestUri: string; readonly usage: UsageReport }> {
  const moves: { from: string; to: string }[] = [];
  const place = (uri: string, to = committedUri(dir, uri)): string => {
    if (uri !== to) moves.push({ from: uri, to });
    return to;
  };
  const parts = input.parts.map((part) => ({ ...part, uri: place(part.uri) }));
  const errors = { uri: place(input.errors.uri, joinUri(dir, ERRORS_FILE)), rows: input.errors.rows };
  const usage: UsageReport = { ...input.usage, outputs: parts };
  const manifest = buildManifest({
    source: { uri: usage.source.uri, etag: usage.source.etag, bytes: usage.source.bytes },
    model: usage.model,
    dimensions: usage.dimensions,
    format: input.format,
    parts,
    errors,
    usage: usageUri(dir),
    createdAt: input.createdAt ?? new Date(),
  });
  const record: CommitRecord = { version: 1, moves, usage, manifest };
  await store.put(commitUri(dir), `${JSON.stringify(record)}\n`);
  await applyCommit(store, dir, record);
  return { manifestUri: manifestUri(dir), usage };
}

/** Carries a decided commit to the end; safe to run again from any point. */
async function applyCommit(store: ObjectStore, dir: string, record: CommitRecord): Promise<void> {
  await store.delete([manifestUri(dir)]);
  const stale = await staleParts(store, dir, record.manifest.parts);
  if (stale.length > 0) await store.delete(stale);
  for (const { from, to } of record.moves) {
    // Already moved by an earlier, interrupted replay when the source is gone.
    if ((await store.head(from)) !== undefined) await store.rename(from, to);
  }
  await store.put(usageUri(dir), `${JSON.stringify(record.usage, null, 2)}\n`);
  await store.put(manifestUri(dir), `${JSON.stringify(record.manifest, null, 2)}\n`);
  // The commit record goes last: until then a crash replays the commit.
  const keep = new Set([lockUri(dir), commitUri(dir)]);
  const doomed: string[] = [];
  for await (const object of store.list(scratchPrefix(dir)))
    if (!keep.has(object.uri)) doomed.push(object.uri);
  if (doomed.length > 0) await store.delete(doomed);
  await store.delete([commitUri(dir)]);
}

function commitUri(dir: string): string {
  return scratchUri(dir, 'commit.json');
}

function parseCommit(text: string | undefined): CommitRecord | undefined {
  if (text === undefined) return undefined;
  try {
    const value = JSON.parse(text) as Partial<CommitRecord>;
    return value.version === 1 && Array.isArray(value.moves) && value.manifest && value.usage
      ? (value as CommitRecord)
      : undefined;
  } catch {
    // Half-written cannot happen (puts are atomic); anything else is not ours to replay.
    return undefined;
  }
}

/** The folder as a listing prefix: on S3 it must end in `/`, or `out/x.csv` would also list `out/x.csv.gz/...`. */
function folderPrefix(dir: string): string {
  return isS3Uri(dir) ? joinUri(dir, '/') : dir;
}

/** Part files directly in `dir` that are not among `keep` (compared by file name). */
export async function staleParts(
  store: ObjectStore,
  dir: string,
  keep: readonly OutputFile[],
): Promise<string[]> {
  const kept = new Set(keep.map((part) => basenameUri(part.uri)));
  const prefix = folderPrefix(dir);
  const stale: string[] = [];
  for await (const object of store.list(prefix)) {
    const name = childName(prefix, object.uri);
    if (name !== undefined && PART_FILE_PATTERN.test(name) && !kept.has(name)) stale.push(object.uri);
  }
  return stale;
}

/** The path of `uri` below folder `dir` (with `/`), or undefined when elsewhere. */
function relativeName(dir: string, uri: string): string | undefined {
  if (isS3Uri(dir)) return uri.startsWith(dir) ? uri.slice(dir.length) : undefined;
  const rest = path.relative(dir, uri);
  return rest === '' || rest.startsWith('..') || path.isAbsolute(rest)
    ? undefined
    : rest.split(path.sep).join('/');
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
