import { randomBytes } from 'node:crypto';
import { closeSync, createWriteStream, openAsBlob, openSync, read, type Stats } from 'node:fs';
import {
  copyFile,
  type FileHandle,
  link,
  mkdir,
  open,
  readdir,
  readFile,
  rename,
  rm,
  rmdir,
  stat,
  writeFile,
} from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { ConfigError, InputError } from '../errors.ts';
import type { SourceInfo } from '../types.ts';
import type { ByteRange, ObjectStore, OpenedObject } from './ObjectStore.ts';
import { isS3Uri, joinUri } from './uri.ts';

/** Temp files of in-progress writes: `.<name>.tmp-<hex>` beside the target. */
const TEMP_FILE = /^\..+\.tmp-[0-9a-f]{12}$/;

/** How many files `delete` removes at once. */
const DELETE_CONCURRENCY = 16;

/**
 * `ObjectStore` over the local file system, for the command line and tests.
 *
 * - URIs are plain paths (relative to the working folder) or `file://` URLs.
 * - Writes are atomic: the bytes go to a temp file in the target's folder,
 *   which is then renamed over the target, so a reader sees the old file or
 *   the new one, never half of one. Parent folders are created as needed.
 *   Writes are not fsync'ed: atomic visibility is the contract, durability
 *   across a power cut is not needed for local runs.
 * - ETag: `<inode>-<size>-<mtime ns>` in hex. Cheap (one `stat`), stable while
 *   the file is untouched, and different after any rewrite (a rename-over gets
 *   a new inode even with the same size and mtime). It is not derived from the
 *   content, so a copy of the same bytes has a different ETag; callers use it
 *   only to notice change, where a false "changed" merely costs a re-embed.
 */
export class LocalStore implements ObjectStore {
  async get(uri: string, range?: ByteRange): Promise<OpenedObject> {
    const file = toPath(uri);
    if (range !== undefined) validateRange(uri, range);
    let handle: FileHandle;
    try {
      handle = await open(file, 'r');
    } catch (error) {
      throw notReadable(uri, error);
    }
    try {
      // Stat through the open handle, so size and ETag describe exactly the bytes we stream.
      const stats = await handle.stat({ bigint: true });
      if (!stats.isFile()) throw new InputError(`not a file: ${uri}`);
      const info = infoOf(uri, stats);
      const body =
        range === undefined
          ? handle.createReadStream()
          : handle.createReadStream({ start: range.start, end: range.end });
      return { info, body };
    } catch (error) {
      await handle.close();
      throw error instanceof InputError ? error : notReadable(uri, error);
    }
  }

  /**
   * The read is under way when this returns: the file is opened synchronously
   * (a cached open is microseconds), not awaited first. An awaited open ends
   * only at the caller's next turn of the event loop, so a scan that decodes
   * one chunk while the next is read found that read not even started, and
   * waited for it whole: 60-75 ms of a 200 ms search over 19 chunks of 7 MB.
   */
  async readRange(uri: string, start: number, length: number, into?: Uint8Array): Promise<Uint8Array> {
    validateRange(uri, { start, end: start + Math.max(length, 1) - 1 });
    let fd: number;
    try {
      fd = openSync(toPath(uri), 'r');
    } catch (error) {
      throw notReadable(uri, error);
    }
    try {
      const out =
        into !== undefined && into.byteLength >= length
          ? into.subarray(0, length)
          : Buffer.allocUnsafe(length);
      let filled = 0;
      while (filled < length) {
        const bytesRead = await readAt(fd, out, filled, length - filled, start + filled);
        if (bytesRead === 0) break;
        filled += bytesRead;
      }
      return filled === length ? out : out.subarray(0, filled);
    } catch (error) {
      throw notReadable(uri, error);
    } finally {
      closeSync(fd);
    }
  }

  async openBlob(uri: string): Promise<Blob> {
    try {
      return await openAsBlob(toPath(uri));
    } catch (error) {
      throw notReadable(uri, error);
    }
  }

  async head(uri: string): Promise<SourceInfo | undefined> {
    try {
      const stats = await stat(toPath(uri), { bigint: true });
      return stats.isFile() ? infoOf(uri, stats) : undefined;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  /**
   * Every file below a folder, recursively, in S3 key order (byte order of the
   * UTF-8 relative path with `/` separators), so local and S3 runs see inputs
   * in the same order. A prefix naming a file lists that file; a missing
   * prefix lists nothing, as an empty S3 prefix does. Temp files of writes in
   * progress are skipped: they are not objects yet.
   */
  async *list(prefixUri: string): AsyncIterable<SourceInfo> {
    const root = toPath(prefixUri);
    let rootStats: Stats;
    try {
      rootStats = await stat(root);
    } catch (error) {
      if (isNotFound(error)) return;
      throw error;
    }
    if (rootStats.isFile()) {
      const info = await this.head(prefixUri);
      if (info) yield info;
      return;
    }
    const relativePaths = await walk(root);
    relativePaths.sort(compareUtf8);
    for (const relative of relativePaths) {
      const uri = joinUri(prefixUri, relative);
      const info = await this.head(uri);
      // A file removed between the walk and now is simply not listed.
      if (info) yield info;
    }
  }

  async put(uri: string, body: Uint8Array | string): Promise<{ bytes: number }> {
    const bytes = typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength;
    await writeAtomically(toPath(uri), (temp) => writeFile(temp, body));
    return { bytes };
  }

  async putStream(uri: string, body: Readable | AsyncIterable<Uint8Array>): Promise<{ bytes: number }> {
    let bytes = 0;
    await writeAtomically(toPath(uri), (temp) =>
      pipeline(
        body,
        async function* count(source: AsyncIterable<Uint8Array | string>) {
          for await (const chunk of source) {
            bytes += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.byteLength;
            yield chunk;
          }
        },
        createWriteStream(temp),
      ),
    );
    return { bytes };
  }

  async getText(uri: string): Promise<string | undefined> {
    try {
      return await readFile(toPath(uri), 'utf8');
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async copy(fromUri: string, toUri: string): Promise<void> {
    const from = toPath(fromUri);
    try {
      await writeAtomically(toPath(toUri), (temp) => copyFile(from, temp));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new InputError(`no such file: ${from}`, { cause: error });
      }
      throw error;
    }
  }

  async rename(fromUri: string, toUri: string): Promise<void> {
    const from = toPath(fromUri);
    const to = toPath(toUri);
    await mkdir(path.dirname(to), { recursive: true });
    try {
      await rename(from, to);
    } catch (error) {
      if (isNotFound(error)) throw new InputError(`no such file: ${from}`, { cause: error });
      throw error;
    }
    await rmdir(path.dirname(from)).catch(() => undefined);
  }

  async putIfAbsent(uri: string, body: string): Promise<boolean> {
    const file = toPath(uri);
    await mkdir(path.dirname(file), { recursive: true });
    // Written whole to a temp file, then linked in: `link` fails when the target exists, and
    // a reader never sees a half-written file (an exclusive `open` then `write` would show one).
    const temp = path.join(
      path.dirname(file),
      `.${path.basename(file)}.tmp-${randomBytes(6).toString('hex')}`,
    );
    await writeFile(temp, body);
    try {
      await link(temp, file);
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw error;
    } finally {
      await rm(temp, { force: true });
    }
  }

  async putIfMatch(uri: string, body: string, etag: string): Promise<boolean> {
    const file = toPath(uri);
    const current = await this.head(uri);
    if (current?.etag !== etag) return false;
    // Written aside, then renamed over the target: the file is never missing, so no other
    // writer's putIfAbsent can slip in. Between the check and the rename only a writer that
    // judged the same version (a lapsed lease) could race; renewals keep leases from lapsing.
    await writeAtomically(file, (temp) => writeFile(temp, body));
    return true;
  }

  async delete(uris: readonly string[]): Promise<void> {
    for (let i = 0; i < uris.length; i += DELETE_CONCURRENCY) {
      const batch = uris.slice(i, i + DELETE_CONCURRENCY);
      // `force` makes a missing file a no-op, as deleting a missing S3 key is.
      await Promise.all(batch.map((uri) => rm(toPath(uri), { force: true })));
    }
    // On S3 a folder is only a prefix and vanishes with its last object; do the same here.
    const parents = new Set(uris.map((uri) => path.dirname(toPath(uri))));
    await Promise.all([...parents].map((dir) => removeIfEmpty(dir)));
  }
}

/**
 * Removes `dir` when nothing is left in it but temp files: those of writes a
 * killed process left behind (a live write renames its temp file away at
 * once, and only a folder's one writer empties it), which `list` never
 * shows, so nothing else would ever remove them.
 */
async function removeIfEmpty(dir: string): Promise<void> {
  try {
    await rmdir(dir);
    return;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOTEMPTY') return;
  }
  const left = await readdir(dir).catch(() => ['?']);
  if (!left.every((name) => TEMP_FILE.test(name))) return;
  await Promise.all(left.map((name) => rm(path.join(dir, name), { force: true })));
  await rmdir(dir).catch(() => undefined);
}

/** Local path of a URI: a plain path, or a `file://` URL. */
function toPath(uri: string): string {
  if (isS3Uri(uri)) {
    throw new ConfigError(`LocalStore cannot open ${uri}: S3 URIs need an S3 store`);
  }
  if (uri.startsWith('file://')) return fileURLToPath(uri);
  if (uri === '') throw new ConfigError('Expected a file path, got an empty string');
  return uri;
}

function infoOf(uri: string, stats: { size: bigint; ino: bigint; mtimeNs: bigint }): SourceInfo {
  return {
    uri,
    bytes: Number(stats.size),
    etag: `${stats.ino.toString(16)}-${stats.size.toString(16)}-${stats.mtimeNs.toString(16)}`,
  };
}

/** One positioned read, started now (callback `fs.read`, no handle to await). */
function readAt(
  fd: number,
  into: Uint8Array,
  offset: number,
  length: number,
  position: number,
): Promise<number> {
  return new Promise((resolve, reject) => {
    read(fd, into, offset, length, position, (error, bytesRead) =>
      error ? reject(error) : resolve(bytesRead),
    );
  });
}

function validateRange(uri: string, range: ByteRange): void {
  const { start, end } = range;
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start) {
    throw new ConfigError(`Invalid byte range ${start}-${end} for ${uri}`);
  }
}

function isNotFound(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

function notReadable(uri: string, error: unknown): Error {
  if (isNotFound(error)) return new InputError(`no such file: ${uri}`, { cause: error });
  if ((error as NodeJS.ErrnoException | undefined)?.code === 'EISDIR') {
    return new InputError(`not a file: ${uri}`, { cause: error });
  }
  return new InputError(`cannot read ${uri}: ${(error as Error).message}`, { cause: error });
}

/**
 * Writes through a temp file in the target's folder (same file system, so the
 * rename is atomic), then renames it into place; the temp file is removed if
 * anything fails.
 */
async function writeAtomically(target: string, write: (temp: string) => Promise<unknown>): Promise<void> {
  const dir = path.dirname(target);
  await mkdir(dir, { recursive: true });
  const temp = path.join(dir, `.${path.basename(target)}.tmp-${randomBytes(6).toString('hex')}`);
  try {
    await write(temp);
    await rename(temp, target);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

/** Relative paths (with `/` separators) of every file below `root`, unsorted. */
async function walk(root: string): Promise<string[]> {
  const found: string[] = [];
  const pending: string[] = [''];
  while (pending.length > 0) {
    const relativeDir = pending.pop() ?? '';
    const entries = await readdir(path.join(root, relativeDir), { withFileTypes: true });
    for (const entry of entries) {
      const relative = relativeDir === '' ? entry.name : `${relativeDir}/${entry.name}`;
      if (entry.isDirectory()) {
        pending.push(relative);
      } else if (entry.isFile() || entry.isSymbolicLink()) {
        // Symlinks are resolved by the `head` in `list`; ones pointing at folders are not followed.
        if (!TEMP_FILE.test(entry.name)) found.push(relative);
      }
    }
  }
  return found;
}

/** S3 orders keys by their UTF-8 bytes; JavaScript's default sort uses UTF-16 units. */
function compareUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}
