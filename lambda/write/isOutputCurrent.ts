import type { OutputFormat } from '../types.ts';
import type { Manifest } from './Manifest.ts';

/** What an output must have been made from to count as current. */
export interface CurrentCriteria {
  readonly sourceUri: string;
  /** The source's ETag now; an unknown ETag is never current. */
  readonly etag: string | undefined;
  readonly model: string;
  readonly format: OutputFormat;
  /** Requested dimensions, when the job asks for some. */
  readonly dimensions?: number;
}

/**
 * Why the output (its manifest) is not a complete result of this very source
 * version with this model and format, or undefined when it is and there is
 * nothing to do. The one rule shared by the Lambda's duplicate-delivery check
 * and `reindex`.
 */
export function staleReason(manifest: Manifest | undefined, criteria: CurrentCriteria): string | undefined {
  if (manifest === undefined) return 'no complete output';
  if (manifest.source.uri !== criteria.sourceUri) return `output made from ${manifest.source.uri}`;
  if (criteria.etag === undefined || manifest.source.etag !== criteria.etag) return 'source changed';
  if (manifest.model !== criteria.model) return `output made with model ${manifest.model}`;
  if (manifest.format !== criteria.format) return `output written as ${manifest.format}`;
  if (criteria.dimensions !== undefined && manifest.dimensions !== criteria.dimensions) {
    return `output has ${manifest.dimensions} dimensions`;
  }
  return undefined;
}

/** Whether the output is current: see {@link staleReason}. */
export function isOutputCurrent(manifest: Manifest | undefined, criteria: CurrentCriteria): boolean {
  return staleReason(manifest, criteria) === undefined;
}
