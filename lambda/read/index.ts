/** The readers: input bytes -> one `ReadResult` per record. */
export { type DetectedFormat, detectFormat, isSupportedInput } from './detectFormat.ts';
export { readRecords } from './readRecords.ts';
export { DEFAULT_MAX_RECORD_BYTES, type ReaderOptions } from './resolveReaderOptions.ts';
