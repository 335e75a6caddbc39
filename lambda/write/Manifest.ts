import type { OutputFile } from '../types.ts';

/** manifest.json: written last; its presence means the output folder is complete. */
export interface Manifest {
  readonly version: 1;
  readonly source: { readonly uri: string; readonly etag: string | null; readonly bytes: number };
  readonly model: string;
  readonly dimensions: number | null;
  readonly format: 'parquet' | 'arrow' | 'both';
  readonly rows: number;
  /** Part files (both formats when `format` is both), in row order. */
  readonly parts: OutputFile[];
  readonly errors: { readonly uri: string; readonly rows: number };
  readonly usage: string;
  readonly created_at: string;
}

/** Parses a manifest read back from storage, or undefined when it is not one of ours. */
export function parseManifest(text: string | undefined): Manifest | undefined {
  if (text === undefined) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value !== 'object' || value === null) return undefined;
    const m = value as Partial<Manifest>;
    if (m.version !== 1 || !Array.isArray(m.parts) || typeof m.model !== 'string' || !m.source)
      return undefined;
    return m as Manifest;
  } catch {
    return undefined;
  }
}

/** Everything a manifest is made from. */
export interface ManifestInput {
  readonly source: { readonly uri: string; readonly etag: string | null; readonly bytes: number };
  readonly model: string;
  readonly dimensions: number | null;
  readonly format: Manifest['format'];
  /** Part files as the writer returned them (format `both`: both files of each part). */
  readonly parts: readonly OutputFile[];
  readonly errors: { readonly uri: string; readonly rows: number };
  /** URI of usage.json. */
  readonly usage: string;
  readonly createdAt: Date;
}

/**
 * Builds manifest.json. Pure. `rows` counts rows, not files: with format
 * `both` each row is in a `.parquet` and an `.arrow` file, so only one format
 * is counted.
 */
export function buildManifest(input: ManifestInput): Manifest {
  const counted =
    input.format === 'both' ? input.parts.filter((p) => p.uri.endsWith('.parquet')) : input.parts;
  return {
    version: 1,
    source: { uri: input.source.uri, etag: input.source.etag, bytes: input.source.bytes },
    model: input.model,
    dimensions: input.dimensions,
    format: input.format,
    rows: counted.reduce((sum, part) => sum + part.rows, 0),
    parts: input.parts.map((part) => ({ uri: part.uri, rows: part.rows, bytes: part.bytes })),
    errors: { uri: input.errors.uri, rows: input.errors.rows },
    usage: input.usage,
    created_at: input.createdAt.toISOString(),
  };
}
