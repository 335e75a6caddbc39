/** The query scaled to unit length (all zeros stays all zeros), for the cosine kernel. */
export function unitVector(query: Float32Array): Float32Array {
  let norm = 0;
  for (let i = 0; i < query.length; i++) norm += (query[i] as number) * (query[i] as number);
  const out = new Float32Array(query.length);
  if (norm === 0) return out;
  const scale = 1 / Math.sqrt(norm);
  for (let i = 0; i < query.length; i++) out[i] = (query[i] as number) * scale;
  return out;
}
