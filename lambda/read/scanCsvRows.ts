const LF = 0x0a;
const CR = 0x0d;
const QUOTE = 0x22;
/** `,`: the delimiter when none is given. */
const COMMA = 0x2c;

/** One CSV row found by `scanCsvRows`. */
export interface ScannedCsvRow {
  /**
   * The row's fields as csv-parse returns them (raw bytes; quotes removed and
   * `""` undone), or undefined when text follows a closing quote: csv-parse's
   * relaxed reading of that (it puts the quotes back) is left to csv-parse itself.
   */
  readonly fields: Buffer[] | undefined;
  /** Offset of the row's first byte. */
  readonly start: number;
  /** Offset just past the row's line break (or the end of the bytes). */
  readonly end: number;
}

/** What `scanCsvRows` got through. */
export interface CsvScan {
  /** Offset of the first byte not in a returned row: the start of an unfinished row. */
  readonly consumed: number;
  /** At the end of the stream, the row at `consumed` opens a quoted field that is never closed. */
  readonly unclosedQuote: boolean;
}

const INCOMPLETE = -1;
const UNCLOSED = -2;

/** Scratch for one row, reused: fields of the row and whether they are plain. */
interface RowScratch {
  fields: Buffer[];
  plain: boolean;
}

/** Offset of the first delimiter or line break at or after `from` (a quote is text here), or `length`. */
function plainFieldEnd(bytes: Buffer, from: number, delimiter: number): number {
  const length = bytes.length;
  let i = from;
  while (i < length) {
    const byte = bytes[i];
    if (byte === delimiter || byte === LF || byte === CR) break;
    i++;
  }
  return i;
}

/**
 * Scans one row from `start`; returns the offset past its line break, or
 * INCOMPLETE (more bytes could change it) or UNCLOSED (final, inside quotes).
 */
function scanRow(bytes: Buffer, start: number, final: boolean, row: RowScratch, delimiter: number): number {
  const length = bytes.length;
  const fields: Buffer[] = [];
  row.fields = fields;
  row.plain = true;
  let pos = start;
  for (;;) {
    if (pos < length && bytes[pos] === QUOTE) {
      // A quoted field: up to a quote that is not doubled.
      let pieces: Buffer[] | undefined;
      let pieceStart = pos + 1;
      let from = pieceStart;
      for (;;) {
        const quote = bytes.indexOf(QUOTE, from);
        if (quote === -1) return final ? UNCLOSED : INCOMPLETE;
        if (quote + 1 === length) {
          if (!final) return INCOMPLETE;
          pos = quote + 1;
        } else {
          const next = bytes[quote + 1];
          if (next === QUOTE) {
            // `""`: one literal quote, kept with the piece before it.
            pieces ??= [];
            pieces.push(bytes.subarray(pieceStart, quote + 1));
            pieceStart = quote + 2;
            from = pieceStart;
            continue;
          }
          pos = quote + 1;
          if (next !== delimiter && next !== LF && next !== CR) {
            // Text after the closing quote: csv-parse (relaxed) reads on as plain text.
            // Its fields are csv-parse's to make; only where the row ends matters here.
            row.plain = false;
            pos = plainFieldEnd(bytes, pos, delimiter);
            break;
          }
        }
        const last = bytes.subarray(pieceStart, quote);
        if (pieces === undefined) {
          fields.push(last);
        } else {
          pieces.push(last);
          fields.push(Buffer.concat(pieces));
        }
        break;
      }
    } else {
      // A quote inside an unquoted field is text, as to csv-parse (relaxed).
      const end = plainFieldEnd(bytes, pos, delimiter);
      fields.push(bytes.subarray(pos, end));
      pos = end;
    }

    // After a field: a delimiter, a line break or the end of the bytes.
    if (pos >= length) return final ? length : INCOMPLETE;
    const byte = bytes[pos];
    if (byte === delimiter) {
      pos++;
      continue;
    }
    if (byte === LF) return pos + 1;
    // `\r`: a `\n` right after belongs to it, so the next byte must be known.
    if (pos + 1 < length) return bytes[pos + 1] === LF ? pos + 2 : pos + 1;
    return final ? pos + 1 : INCOMPLETE;
  }
}

/**
 * Splits CSV bytes into rows as csv-parse reads them with `relax_quotes`,
 * `relax_column_count` and record delimiters `\r\n`, `\n`, `\r` (the rules
 * `RecordScanner` documents): a `"` opens a quoted field only as the field's
 * first byte, elsewhere it is text; inside, `""` is a literal quote; line
 * breaks end a row only outside quotes; an empty line is a row of one empty
 * field. Pure.
 *
 * Appends the rows that are complete to `rows`. Without `final`, a row is
 * complete only once its end cannot change with more bytes (a `\r` at the very
 * end could still be followed by its `\n`).
 *
 * @param delimiter The field separator's byte (csv-parse's `delimiter`); `,` by default.
 */
export function scanCsvRows(
  bytes: Buffer,
  final: boolean,
  rows: ScannedCsvRow[],
  delimiter: number = COMMA,
): CsvScan {
  const row: RowScratch = { fields: [], plain: true };
  let pos = 0;
  while (pos < bytes.length) {
    const end = scanRow(bytes, pos, final, row, delimiter);
    if (end === INCOMPLETE) break;
    if (end === UNCLOSED) return { consumed: pos, unclosedQuote: true };
    rows.push({ fields: row.plain ? row.fields : undefined, start: pos, end });
    pos = end;
  }
  return { consumed: pos, unclosedQuote: false };
}
