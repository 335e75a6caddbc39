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
    if (m.version !== 1 || !Array.isArray(m.parts) || typeof m.model !== 'string' || !m.source) return undefined;
    return m as Manifest;
  } catch {
    return undefined;
  }
}
