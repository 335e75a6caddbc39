import { InputError } from '../errors.ts';
import type { KeptType } from '../types.ts';
import { parseKeptColumn } from './keptColumn.ts';
import type { ResolvedReaderOptions } from './resolveReaderOptions.ts';

/** Where the columns the reader needs sit in a CSV row. */
export interface CsvColumns {
  /** Trimmed header names, by position. */
  readonly names: readonly string[];
  readonly textName: string;
  readonly textIndex: number;
  /** -1 when the header has no id column: ids are then record numbers. */
  readonly idIndex: number;
  /** Kept columns as [name, position, type], in the order asked for. */
  readonly keep: readonly (readonly [name: string, index: number, type: KeptType])[];
}

type ColumnOptions = Pick<ResolvedReaderOptions, 'source' | 'textColumn' | 'idColumn' | 'keepColumns'> &
  Partial<Pick<ResolvedReaderOptions, 'requireIdColumn' | 'delimiter'>>;

/** Other separators a one-column header may be split by: a hint for the message. */
const OTHER_DELIMITERS = [',', ';', '\t', '|'] as const;

function delimiterHint(names: readonly string[], used: string): string {
  if (names.length !== 1) return '';
  const other = OTHER_DELIMITERS.find((d) => d !== used && names[0]!.includes(d));
  if (other === undefined) return '';
  const flag = other === '\t' ? 'tab' : `'${other}'`;
  return `; the header looks ${JSON.stringify(other)}-separated: use --delimiter ${flag}`;
}

/**
 * Finds the text, id and kept columns in a CSV header. Header cells are
 * trimmed, because `id, title, text` written by hand is common and the intent is plain.
 *
 * @throws {InputError} when the text column, a kept column or a required id column
 *   is missing (the message lists the columns there are and the option to fix), or a
 *   needed name appears twice.
 */
export function resolveCsvColumns(header: readonly string[], options: ColumnOptions): CsvColumns {
  const names = header.map((name) => name.trim());
  const listed = names.map((name) => (name === '' ? '""' : name)).join(', ');
  const hint = delimiterHint(names, options.delimiter ?? ',');

  const find = (name: string, option: string | undefined): number => {
    const index = names.indexOf(name);
    if (index === -1) {
      if (option === undefined) return -1;
      throw new InputError(
        `${options.source}: no column ${JSON.stringify(name)} in the header; columns are: ${listed} (${option})${hint}`,
      );
    }
    if (names.indexOf(name, index + 1) !== -1) {
      throw new InputError(
        `${options.source}: column ${JSON.stringify(name)} appears more than once in the header; columns are: ${listed}`,
      );
    }
    return index;
  };

  return {
    names,
    textName: options.textColumn,
    textIndex: find(options.textColumn, 'use --text-column'),
    idIndex: find(options.idColumn, options.requireIdColumn === true ? 'check --id-column' : undefined),
    keep: options.keepColumns.map((spec) => {
      const { name, type } = parseKeptColumn(spec);
      return [name, find(name, 'check --keep-columns'), type] as const;
    }),
  };
}
