import { LocalStore } from '../../lambda/store/LocalStore.ts';

/** Local files that count what a reader asks of them: ranged reads (and how many at once) and Blobs opened. */
export class RecordingStore extends LocalStore {
  /** Every ranged read, in the order asked. */
  readonly reads: { start: number; length: number }[] = [];
  /** Ranged reads under way now, and the most seen at once (set it to 0 to start counting again). */
  reading = 0;
  mostAtOnce = 0;
  /** Blobs opened (parquet-wasm reads through one). */
  blobs = 0;

  override async openBlob(uri: string): Promise<Blob> {
    this.blobs++;
    return super.openBlob(uri);
  }

  override async readRange(
    uri: string,
    start: number,
    length: number,
    into?: Uint8Array,
  ): Promise<Uint8Array> {
    this.reads.push({ start, length });
    this.reading++;
    this.mostAtOnce = Math.max(this.mostAtOnce, this.reading);
    try {
      return await super.readRange(uri, start, length, into);
    } finally {
      this.reading--;
    }
  }
}
