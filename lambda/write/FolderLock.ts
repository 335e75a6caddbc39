import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { OutputBusyError } from '../errors.ts';
import type { ObjectStore } from '../store/ObjectStore.ts';
import { isS3Uri } from '../store/uri.ts';
import { scratchUri } from './OutputLayout.ts';

/** `_scratch/lock.json`: who writes the folder, until when. */
export interface LockRecord {
  readonly owner: string;
  readonly pid: number;
  readonly host: string;
  /** What holds it, for the message another run prints (`embed-batch run`, a Lambda request id, ...). */
  readonly holder: string;
  readonly since: string;
  /** The lease lapses here unless renewed: a holder that died stops holding. */
  readonly expires_at: string;
}

/** Options of `FolderLock.acquire`. */
export interface FolderLockOptions {
  /** How long the lease lasts without renewal; it is renewed every third of it. @default 60_000 */
  readonly ttlMs?: number;
  /** Who asks, for messages. @default `pid <pid> on <host>` */
  readonly holder?: string;
  /** @default () => new Date() */
  readonly now?: () => Date;
}

const DEFAULT_TTL_MS = 60_000;
const LOCK_FILE = 'lock.json';

/** URI of an output folder's lock. */
export function lockUri(dir: string): string {
  return scratchUri(dir, LOCK_FILE);
}

/**
 * One writer per output folder: a lease in `<dir>/_scratch/lock.json`,
 * created only where none exists (S3 `If-None-Match: *`, an exclusive create
 * locally) and renewed in the background while the run lives (`If-Match`
 * on the lease's ETag, so a renewal never overwrites a lease someone else
 * took over). A lease that lapsed, or locally one whose process is gone, is
 * taken over the same conditional way, so of two runs that find it stale only
 * one gets it.
 */
export class FolderLock {
  readonly #store: ObjectStore;
  readonly #uri: string;
  readonly #ttlMs: number;
  readonly #now: () => Date;
  #record: LockRecord;
  #etag: string;
  #timer: NodeJS.Timeout | undefined;
  #lost: Error | undefined;
  #renewing: Promise<void> = Promise.resolve();

  private constructor(
    store: ObjectStore,
    uri: string,
    record: LockRecord,
    etag: string,
    options: FolderLockOptions,
  ) {
    this.#store = store;
    this.#uri = uri;
    this.#record = record;
    this.#etag = etag;
    this.#ttlMs = options.ttlMs ?? DEFAULT_TTL_MS;
    this.#now = options.now ?? (() => new Date());
    this.#timer = setInterval(() => {
      this.#renewing = this.#renew();
    }, this.#ttlMs / 3);
    // A lease must never keep a process alive on its own.
    this.#timer.unref();
  }

  /**
   * Takes the folder's lease, or fails at once naming the live holder.
   *
   * @throws {OutputBusyError} when a live run holds the folder.
   */
  static async acquire(
    store: ObjectStore,
    dir: string,
    options: FolderLockOptions = {},
  ): Promise<FolderLock> {
    const uri = lockUri(dir);
    const now = options.now ?? (() => new Date());
    const ttlMs = options.ttlMs ?? DEFAULT_TTL_MS;
    const record = (): LockRecord => ({
      owner: randomBytes(8).toString('hex'),
      pid: process.pid,
      host: os.hostname(),
      holder: options.holder ?? `pid ${process.pid} on ${os.hostname()}`,
      since: now().toISOString(),
      expires_at: new Date(now().getTime() + ttlMs).toISOString(),
    });
    for (let attempt = 0; attempt < 3; attempt++) {
      const mine = record();
      if (await store.putIfAbsent(uri, JSON.stringify(mine)))
        return FolderLock.#held(store, uri, mine, options);
      const found = await store.head(uri);
      const current = parseLock(await store.getText(uri));
      if (found === undefined || current === undefined) continue;
      if (!isStale(current, dir, now())) {
        throw new OutputBusyError(
          `${dir} is being written by another run (${current.holder}, since ${current.since}); wait for it to finish, or, if it died, until its lease lapses at ${current.expires_at}`,
        );
      }
      // Stale: replace exactly the version we judged, so only one of several takers wins.
      if (found.etag !== undefined && (await store.putIfMatch(uri, JSON.stringify(mine), found.etag)))
        return FolderLock.#held(store, uri, mine, options);
    }
    throw new OutputBusyError(`${dir}: could not take the output folder's lock (${uri}) after 3 tries`);
  }

  static async #held(store: ObjectStore, uri: string, record: LockRecord, options: FolderLockOptions) {
    const info = await store.head(uri);
    return new FolderLock(store, uri, record, info?.etag ?? '', options);
  }

  /** Why the lease was lost (another run took it over), or undefined while it is held. */
  get lost(): Error | undefined {
    return this.#lost;
  }

  /** Throws when the lease was lost: nothing may be committed then. */
  async assertHeld(): Promise<void> {
    await this.#renewing;
    const current = parseLock(await this.#store.getText(this.#uri));
    if (current?.owner !== this.#record.owner) {
      this.#lost ??= new OutputBusyError(
        `lost the lock of ${this.#uri} to ${current === undefined ? 'nobody (it was removed)' : current.holder}; nothing was committed`,
      );
    }
    if (this.#lost !== undefined) throw this.#lost;
  }

  /** Stops renewing and removes the lease, if it is still ours. */
  async release(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#renewing;
    const current = parseLock(await this.#store.getText(this.#uri).catch(() => undefined));
    if (current?.owner === this.#record.owner) await this.#store.delete([this.#uri]);
  }

  async #renew(): Promise<void> {
    if (this.#lost !== undefined || this.#timer === undefined) return;
    const renewed = {
      ...this.#record,
      expires_at: new Date(this.#now().getTime() + this.#ttlMs).toISOString(),
    };
    try {
      if (await this.#store.putIfMatch(this.#uri, JSON.stringify(renewed), this.#etag)) {
        this.#record = renewed;
        this.#etag = (await this.#store.head(this.#uri))?.etag ?? this.#etag;
      } else {
        this.#lost = new OutputBusyError(`lost the lock of ${this.#uri}: another run took it over`);
      }
    } catch {
      // A passing storage fault: the next renewal tries again, well before the lease lapses.
    }
  }
}

function parseLock(text: string | undefined): LockRecord | undefined {
  if (text === undefined) return undefined;
  try {
    const value = JSON.parse(text) as Partial<LockRecord>;
    return typeof value.owner === 'string' && typeof value.expires_at === 'string'
      ? (value as LockRecord)
      : undefined;
  } catch {
    // Unreadable: a lease nobody can renew is as good as lapsed.
    return {
      owner: '',
      pid: 0,
      host: '',
      holder: 'unknown',
      since: '',
      expires_at: new Date(0).toISOString(),
    };
  }
}

/** A lease that lapsed, or a local one whose process is gone (pids mean nothing across Lambda sandboxes). */
function isStale(record: LockRecord, dir: string, now: Date): boolean {
  if (Date.parse(record.expires_at) <= now.getTime()) return true;
  if (isS3Uri(dir) || record.host !== os.hostname()) return false;
  if (record.pid === process.pid) return false;
  try {
    process.kill(record.pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
