/** Schema metadata keys of every part, fixed by DESIGN.md (written by buildEmbeddingTable, read by search). */
export const METADATA_KEYS = {
  model: 'embedding.model',
  dimensions: 'embedding.dimensions',
  sourceUri: 'source.uri',
  createdAt: 'created_at',
} as const;
