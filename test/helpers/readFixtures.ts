import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { detectFormat, isSupportedInput } from '../../lambda/read/detectFormat.ts';
import { type ReaderOptions, readRecords } from '../../lambda/read/readRecords.ts';
import type { InputRecord, ReadResult, RejectedRecord } from '../../lambda/types.ts';

/** Absolute path of the `fixtures/` folder. */
export const FIXTURES_DIR = fileURLToPath(new URL('../../fixtures/', import.meta.url));

/** Names of every input fixture (files the readers accept by name). */
export function fixtureNames(): string[] {
  return readdirSync(FIXTURES_DIR).filter(isSupportedInput).sort();
}

/** The raw bytes of a fixture. */
export function fixtureBytes(name: string): Buffer {
  return readFileSync(`${FIXTURES_DIR}${name}`);
}

/** Yields `bytes` in pieces of `size` bytes (the whole at once when size is Infinity). */
export async function* chunked(
  bytes: Uint8Array,
  size = Number.POSITIVE_INFINITY,
): AsyncGenerator<Uint8Array> {
  if (size === Number.POSITIVE_INFINITY) {
    yield bytes;
    return;
  }
  for (let start = 0; start < bytes.length; start += size) yield bytes.subarray(start, start + size);
}

/** Collects every result of `readRecords`. */
export async function readAll(
  body: AsyncIterable<Uint8Array>,
  options: ReaderOptions,
): Promise<ReadResult[]> {
  const results: ReadResult[] = [];
  for await (const result of readRecords(body, options)) results.push(result);
  return results;
}

/** Reads a fixture with the format its name implies; `source` is the fixture name. */
export function readFixture(
  name: string,
  options: Partial<ReaderOptions> = {},
  chunkSize = Number.POSITIVE_INFINITY,
): Promise<ReadResult[]> {
  return readAll(chunked(fixtureBytes(name), chunkSize), { source: name, ...detectFormat(name), ...options });
}

/** The accepted records, in order. */
export function accepted(results: readonly ReadResult[]): InputRecord[] {
  return results.flatMap((result) => (result.ok ? [result.value] : []));
}

/** The rejected records, in order. */
export function rejected(results: readonly ReadResult[]): RejectedRecord[] {
  return results.flatMap((result) => (result.ok ? [] : [result.rejected]));
}

/** Asserts the reader's invariant: records 1..count, each exactly once, in order. */
export function expectEachRecordOnce(results: readonly ReadResult[], count: number, offset = 0): void {
  const numbers = results.map((result) => (result.ok ? result.value.record : result.rejected.record));
  expect(numbers).toEqual(Array.from({ length: count }, (_, i) => offset + i + 1));
}
