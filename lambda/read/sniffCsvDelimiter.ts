import { parse } from 'csv-parse/sync';
import { CSV_DELIMITERS, type CsvDelimiter } from './CsvDelimiter.ts';
import { CSV_PARSE_OPTIONS } from './csvRows.ts';
import { type ScannedCsvRow, scanCsvRows } from './scanCsvRows.ts';

/** Rows after the header that are compared with it; more add time and little certainty. */
const SAMPLE_ROWS = 20;

const SPACE = 0x20;
const TAB = 0x09;

/** How one candidate splits the sample. */
interface Split {
  readonly delimiter: CsvDelimiter;
  /** Fields of the header (the first row that is not blank). */
  readonly fields: number;
  /** Every complete row after the header has as many fields as the header. */
  readonly consistent: boolean;
}

function isBlank(fields: readonly Buffer[]): boolean {
  if (fields.length !== 1) return false;
  return fields[0]!.every((byte) => byte === SPACE || byte === TAB);
}

/** The rare row with text after a closing quote is csv-parse's to split, as in the reader; a guess never throws. */
function parsedFields(row: Buffer, delimiter: CsvDelimiter): Buffer[] {
  try {
    return (parse(row, { ...CSV_PARSE_OPTIONS, delimiter }) as unknown as Buffer[][])[0] ?? [];
  } catch {
    return [];
  }
}

/** The field counts of the first rows that are not blank, as the reader would split them. */
function fieldCounts(sample: Buffer, final: boolean, delimiter: CsvDelimiter): number[] {
  const rows: ScannedCsvRow[] = [];
  scanCsvRows(sample, final, rows, delimiter.charCodeAt(0));
  const counts: number[] = [];
  for (const row of rows) {
    const fields = row.fields ?? parsedFields(sample.subarray(row.start, row.end), delimiter);
    if (fields.length === 0 || isBlank(fields)) continue;
    counts.push(fields.length);
    if (counts.length > SAMPLE_ROWS) break;
  }
  return counts;
}

function split(sample: Buffer, final: boolean, delimiter: CsvDelimiter): Split | undefined {
  let counts = fieldCounts(sample, final, delimiter);
  // The sample ends inside the header: count what there is of it.
  if (counts.length === 0 && !final) counts = fieldCounts(sample, true, delimiter).slice(0, 1);
  const [fields, ...data] = counts;
  if (fields === undefined) return undefined;
  return { delimiter, fields, consistent: data.every((count) => count === fields) };
}

/**
 * Guesses the field separator from the start of a CSV file (UTF-8, BOM
 * stripped): the candidate that splits the header line into the most fields,
 * preferring one that splits the rows after it (in the sample) into as many.
 * Rows are split exactly as the reader splits them, quotes included, so a
 * quoted `"a;b"` in a comma file does not count for `;`. A header of one field
 * under every candidate gives `,`; ties go to the earlier of `, ; \t |`.
 *
 * @param sample The first bytes of the file (tens of KiB are plenty).
 * @param final Whether `sample` is the whole file (its last row is then complete).
 */
export function sniffCsvDelimiter(sample: Buffer, final: boolean): CsvDelimiter {
  let best: Split | undefined;
  for (const delimiter of CSV_DELIMITERS) {
    const candidate = split(sample, final, delimiter);
    if (candidate === undefined || candidate.fields < 2) continue;
    if (
      best === undefined ||
      (candidate.consistent && !best.consistent) ||
      (candidate.consistent === best.consistent && candidate.fields > best.fields)
    ) {
      best = candidate;
    }
  }
  return best?.delimiter ?? ',';
}
