import { createHash } from 'node:crypto';

/**
 * Fingerprint of what a vector was made from: hex sha256 of `model + "\n" + text`.
 * The model is part of it because the same text embedded by another model is a
 * different vector; an incremental reindex may reuse a vector only when both match.
 */
export function contentHash(model: string, text: string): string {
  // One update of the joined string: hashing is native and cheap, and a single
  // UTF-8 conversion beats two calls for the short texts that dominate.
  return createHash('sha256').update(`${model}\n${text}`).digest('hex');
}
