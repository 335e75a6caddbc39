import { isUtf8 } from 'node:buffer';
import { InputError } from '../errors.ts';
import type { InputFormat } from '../types.ts';

const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
const TAB = 0x09;
const QUOTE = 0x22;
const COMMA = 0x2c;
const BOM = [0xef, 0xbb, 0xbf] as const;

/** 1 for the bytes that mean nothing special to CSV: anything but a quote, a comma and line breaks. */
const PLAIN = new Uint8Array(256).fill(1);
for (const byte of [QUOTE, COMMA, CR, LF]) PLAIN[byte] = 0;

/** A row (CSV) or line (JSONL) of the object, as the reader will see it. */
export interface ScannedRow {
  /** Byte offset of the row's first byte in the object. */
  readonly start: number;
  /** Records (numbered as the reader numbers them) before this row. */
  readonly recordsBefore: number;
  /** Lines (counted as the reader counts them) before this row. */
  readonly linesBefore: number;
  /**
   * The row begins with the bytes of a UTF-8 BOM. A reader started here would
   * strip them (`transcodeToUtf8` drops a UTF-8 BOM at the start of any stream), so no shard
   * may start at such a row.
   */
  readonly startsWithBom: boolean;
  /** CSV: this row is the header; every later row may start a shard. Always false for JSONL. */
  readonly isHeader: boolean;
}

/** Options of a `RecordScanner`. */
export interface RecordScannerOptions {
  readonly format: InputFormat;
  /** The reader's `maxRecordBytes`: a longer JSONL line is a (rejected) record even when blank. */
  readonly maxRecordBytes: number;
  /** Used in messages only. */
  readonly source: string;
}

/**
 * Finds the row boundaries of a CSV or JSONL byte stream in one streaming
 * pass, and numbers records and lines exactly as `readRecords` does, without
 * parsing fields or JSON.
 *
 * The rules mirror the reader's, and the property tests hold them to it:
 *
 * - a UTF-8 BOM at the very start is not data (`transcodeToUtf8`);
 * - JSONL: a line ends at `\n` (a `\r` before it is dropped); it is a record
 *   unless it holds only spaces, tabs and `\r`, or is over `maxRecordBytes`
 *   (then it is a rejected record even when blank); every `\n` is a line;
 * - CSV, as csv-parse reads it with `relax_quotes` and record delimiters
 *   `\r\n`, `\n`, `\r`: a `"` opens a quoted field only as the field's first
 *   byte; inside one, `""` is a literal quote and `"` closes it when followed
 *   by `,`, a line break or the end, and otherwise (relaxed) turns the field
 *   back into plain text; line breaks end a row only outside quotes. A row of
 *   one field holding nothing but spaces and tabs (an empty line, `""`) is
 *   not a record; the first other row is the header; `\r\n`, `\n` and `\r`
 *   each count as one line, inside quotes too, as the reader counts them.
 *
 * Rows are reported once they have ended (a row's start is only worth
 * knowing together with whether it begins with a BOM).
 */
export class RecordScanner {
  readonly #format: InputFormat;
  readonly #maxRecordBytes: number;
  readonly #source: string;
  /** Offset of the next byte pushed. */
  #offset = 0;
  /** The first bytes, held back until it is clear whether they are a BOM. */
  #head: number[] | undefined = [];

  #records = 0;
  #lines = 0;
  #previousByte = -1;

  // The row in progress.
  #rowStart = 0;
  #rowBytes = 0;
  #rowPrefix: number[] = [];
  #rowRecordsBefore = 0;
  #rowLinesBefore = 0;
  /** Some content byte is neither a space nor a tab. */
  #rowNonBlank = false;
  #rowFields = 1;

  // CSV state.
  #quoting = false;
  /** Inside quotes, a `"` was read; the next byte says what it was. */
  #quoteSeen = false;
  /** Outside quotes, a `\r` ended the row; a `\n` right after belongs to it. */
  #afterCr = false;
  #fieldHasContent = false;
  #header: string[] | undefined;
  /** Content bytes of the row's fields, kept only until the header is found. */
  #headerFields: number[][] | undefined = [[]];
  #headerBytes = 0;
  readonly #headerCap: number;

  // JSONL state: the last byte of the line, for the `\r` the reader drops.
  #lineLastByte = -1;

  #rows: ScannedRow[] = [];
  #ended = false;

  constructor(options: RecordScannerOptions) {
    this.#format = options.format;
    this.#maxRecordBytes = options.maxRecordBytes;
    this.#source = options.source;
    // As the CSV reader's own cap on a row (csv-parse `max_record_size`): past it the reader fails too.
    this.#headerCap = Math.max(16 * options.maxRecordBytes, 64 * 1_048_576);
  }

  /** Records so far (final after `end()`). */
  get records(): number {
    return this.#records;
  }

  /** Lines so far (final after `end()`). */
  get lines(): number {
    return this.#lines;
  }

  /** Bytes pushed so far. */
  get bytes(): number {
    return this.#offset;
  }

  /** CSV: the header's cells as the reader decodes them; undefined before it (or for JSONL). */
  get header(): readonly string[] | undefined {
    return this.#header;
  }

  /** Scans a chunk; returns the rows it completed, in order. */
  push(chunk: Uint8Array): ScannedRow[] {
    if (this.#ended) throw new Error('RecordScanner: push after end');
    let bytes = chunk;
    if (this.#head !== undefined) {
      bytes = this.#takeHead(chunk);
      if (this.#head !== undefined) return [];
    }
    if (this.#format === 'jsonl') this.#scanJsonl(bytes);
    else this.#scanCsv(bytes);
    return this.#drain();
  }

  /**
   * Ends the stream; returns the last rows.
   * @throws {InputError} for CSV that ends inside a quoted field (the reader fails on it too).
   */
  end(): ScannedRow[] {
    if (this.#ended) return [];
    if (this.#head !== undefined) {
      // Shorter than a BOM: data after all.
      const head = Uint8Array.from(this.#head);
      this.#head = undefined;
      if (this.#format === 'jsonl') this.#scanJsonl(head);
      else this.#scanCsv(head);
    }
    this.#ended = true;
    if (this.#format === 'jsonl') {
      if (this.#rowBytes > 0) this.#endJsonlLine();
    } else {
      if (this.#quoteSeen) {
        // A closing quote at the very end.
        this.#quoteSeen = false;
        this.#quoting = false;
      }
      if (this.#quoting) {
        throw new InputError(
          `${this.#source}: unreadable CSV: a quoted field opened on line ${this.#rowLinesBefore + 1} is never closed`,
        );
      }
      if (this.#afterCr) {
        this.#afterCr = false;
      } else if (this.#rowBytes > 0) {
        this.#endCsvRow(this.#offset);
      }
    }
    return this.#drain();
  }

  #drain(): ScannedRow[] {
    const rows = this.#rows;
    this.#rows = [];
    return rows;
  }

  /** Holds back the first three bytes; drops them when they are a BOM. Returns what to scan now. */
  #takeHead(chunk: Uint8Array): Uint8Array {
    const head = this.#head as number[];
    let used = 0;
    while (head.length < BOM.length && used < chunk.length) head.push(chunk[used++]!);
    if (head.length < BOM.length) return new Uint8Array(0);
    this.#head = undefined;
    const rest = chunk.subarray(used);
    if (head[0] === BOM[0] && head[1] === BOM[1] && head[2] === BOM[2]) {
      this.#offset = BOM.length;
      this.#rowStart = BOM.length;
      return rest;
    }
    const joined = new Uint8Array(head.length + rest.length);
    joined.set(head, 0);
    joined.set(rest, head.length);
    return joined;
  }

  #startRow(start: number): void {
    this.#rowStart = start;
    this.#rowBytes = 0;
    this.#rowPrefix = [];
    this.#rowRecordsBefore = this.#records;
    this.#rowLinesBefore = this.#lines;
    this.#rowNonBlank = false;
    this.#rowFields = 1;
    this.#fieldHasContent = false;
    this.#lineLastByte = -1;
    if (this.#headerFields !== undefined) {
      this.#headerFields = [[]];
      this.#headerBytes = 0;
    }
  }

  #report(isHeader: boolean): void {
    const prefix = this.#rowPrefix;
    this.#rows.push({
      start: this.#rowStart,
      recordsBefore: this.#rowRecordsBefore,
      linesBefore: this.#rowLinesBefore,
      startsWithBom:
        prefix.length === 3 && prefix[0] === BOM[0] && prefix[1] === BOM[1] && prefix[2] === BOM[2],
      isHeader,
    });
  }

  // ---- JSONL -------------------------------------------------------------

  #scanJsonl(bytes: Uint8Array): void {
    let start = 0;
    while (start < bytes.length) {
      const newline = bytes.indexOf(LF, start);
      const end = newline === -1 ? bytes.length : newline;
      this.#addJsonlBytes(bytes, start, end);
      this.#offset += end - start;
      if (newline === -1) break;
      this.#offset++;
      this.#endJsonlLine();
      start = newline + 1;
    }
  }

  #addJsonlBytes(bytes: Uint8Array, start: number, end: number): void {
    if (end <= start) return;
    for (let i = start; this.#rowPrefix.length < 3 && i < end; i++) this.#rowPrefix.push(bytes[i]!);
    if (!this.#rowNonBlank) {
      for (let i = start; i < end; i++) {
        const byte = bytes[i];
        if (byte !== SPACE && byte !== TAB && byte !== CR) {
          this.#rowNonBlank = true;
          break;
        }
      }
    }
    this.#rowBytes += end - start;
    this.#lineLastByte = bytes[end - 1]!;
  }

  /** A line ended (at `\n`, or at the end of the stream with bytes pending). */
  #endJsonlLine(): void {
    const length = this.#rowBytes - (this.#lineLastByte === CR ? 1 : 0);
    const isRecord = length > this.#maxRecordBytes || this.#rowNonBlank;
    this.#report(false);
    this.#lines++;
    if (isRecord) this.#records++;
    this.#startRow(this.#offset);
  }

  // ---- CSV ---------------------------------------------------------------

  #scanCsv(bytes: Uint8Array): void {
    const length = bytes.length;
    for (let i = 0; i < length; i++) {
      if (this.#settled()) {
        // Fast path: in a row already known to be a record, plain bytes change nothing but counts.
        let j = i;
        while (j < length && PLAIN[bytes[j]!] === 1) j++;
        if (j > i) {
          this.#offset += j - i;
          this.#rowBytes += j - i;
          this.#previousByte = bytes[j - 1]!;
          if (j === length) break;
          i = j;
        }
      }
      const byte = bytes[i]!;
      const at = this.#offset++;
      const previous = this.#previousByte;
      this.#previousByte = byte;

      if (this.#afterCr) {
        this.#afterCr = false;
        if (byte === LF) {
          // The `\n` of a `\r\n` that ended the row: no line of its own.
          this.#startRow(at + 1);
          continue;
        }
        this.#startRow(at);
      }
      // Lines as the reader counts them: `\r\n`, `\n` and `\r` are one each, inside quotes too.
      if (byte === CR || (byte === LF && previous !== CR)) this.#lines++;
      if (this.#rowPrefix.length < 3) this.#rowPrefix.push(byte);
      this.#rowBytes++;

      if (this.#quoting) {
        if (this.#quoteSeen) {
          this.#quoteSeen = false;
          if (byte === QUOTE) {
            // `""`: a literal quote.
            this.#content(QUOTE);
            continue;
          }
          this.#quoting = false;
          if (byte !== COMMA && byte !== LF && byte !== CR) {
            // Relaxed: csv-parse puts the quotes back and reads on as plain text.
            this.#prependContent(QUOTE);
            this.#content(QUOTE);
          }
          // The byte after the closing quote is read as outside quotes, below.
        } else {
          if (byte === QUOTE) this.#quoteSeen = true;
          else this.#content(byte);
          continue;
        }
      }

      if (byte === QUOTE) {
        if (this.#fieldHasContent) this.#content(byte);
        else this.#quoting = true;
      } else if (byte === COMMA) {
        this.#rowFields++;
        this.#fieldHasContent = false;
        this.#headerFields?.push([]);
      } else if (byte === LF) {
        this.#endCsvRow(at + 1);
      } else if (byte === CR) {
        // The next row starts after a `\n` that may follow; the row itself is over.
        this.#endCsvRow(at + 1);
        this.#afterCr = true;
      } else {
        this.#content(byte);
      }
    }
  }

  /** Whether plain bytes (no quote, comma or line break) can be skipped: nothing about the row is open. */
  #settled(): boolean {
    return (
      this.#rowNonBlank &&
      this.#fieldHasContent &&
      !this.#afterCr &&
      !this.#quoteSeen &&
      this.#headerFields === undefined &&
      this.#rowPrefix.length === 3
    );
  }

  #content(byte: number): void {
    this.#fieldHasContent = true;
    if (byte !== SPACE && byte !== TAB) this.#rowNonBlank = true;
    if (this.#headerFields !== undefined) {
      this.#headerFields[this.#headerFields.length - 1]!.push(byte);
      if (++this.#headerBytes > this.#headerCap) {
        throw new InputError(
          `${this.#source}: unreadable CSV: the header row is over ${this.#headerCap} bytes`,
        );
      }
    }
  }

  #prependContent(byte: number): void {
    this.#fieldHasContent = true;
    this.#rowNonBlank = true;
    const fields = this.#headerFields;
    if (fields !== undefined) fields[fields.length - 1]!.unshift(byte);
  }

  /** A CSV row ended; the next one starts at `next` (unless a `\r` still waits for its `\n`). */
  #endCsvRow(next: number): void {
    const blank = this.#rowFields === 1 && !this.#rowNonBlank;
    let isHeader = false;
    if (!blank) {
      if (this.#header === undefined) {
        isHeader = true;
        this.#header = this.#decodeHeader();
        this.#headerFields = undefined;
      } else {
        this.#records++;
      }
    }
    // The terminator's lines are already counted; the row's own `linesBefore` was taken at its start.
    this.#report(isHeader);
    this.#startRow(next);
  }

  #decodeHeader(): string[] {
    const fields = this.#headerFields ?? [[]];
    return fields.map((field) => {
      const bytes = Buffer.from(field);
      if (!isUtf8(bytes)) throw new InputError(`${this.#source}: the header row is not valid UTF-8`);
      return bytes.toString('utf8');
    });
  }
}
