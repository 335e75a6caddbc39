/** The field separators the CSV reader understands, in the order a sniffing tie is settled. */
export const CSV_DELIMITERS = [',', ';', '\t', '|'] as const;

/** One of `CSV_DELIMITERS`: `,` `;` tab `|`. */
export type CsvDelimiter = (typeof CSV_DELIMITERS)[number];
