/**
 * The search kernel: cosine similarity of one query against many vectors laid
 * end to end in one Float32Array (a FixedSizeList column's flat values), with
 * no per-row arrays. Four lanes per loop step keep the multiply-adds
 * independent, which V8 turns into noticeably faster code than one running sum.
 */

/** The query scaled to unit length (all zeros stays all zeros). */
export function unitVector(query: Float32Array): Float32Array {
  let norm = 0;
  for (let i = 0; i < query.length; i++) norm += (query[i] as number) * (query[i] as number);
  const out = new Float32Array(query.length);
  if (norm === 0) return out;
  const scale = 1 / Math.sqrt(norm);
  for (let i = 0; i < query.length; i++) out[i] = (query[i] as number) * scale;
  return out;
}

/**
 * Writes the cosine similarity of `unitQuery` with each of `rows` vectors of
 * `values` (starting at `offset`) into `scores[0..rows)`. A zero vector scores 0.
 *
 * @param unitQuery The query, already of unit length (see {@link unitVector}).
 */
export function cosineScores(
  unitQuery: Float32Array,
  values: Float32Array,
  offset: number,
  rows: number,
  scores: Float64Array,
): void {
  const d = unitQuery.length;
  const tail = d - (d % 4);
  for (let r = 0, o = offset; r < rows; r++, o += d) {
    let dot0 = 0;
    let dot1 = 0;
    let dot2 = 0;
    let dot3 = 0;
    let sq0 = 0;
    let sq1 = 0;
    let sq2 = 0;
    let sq3 = 0;
    for (let i = 0; i < tail; i += 4) {
      const v0 = values[o + i] as number;
      const v1 = values[o + i + 1] as number;
      const v2 = values[o + i + 2] as number;
      const v3 = values[o + i + 3] as number;
      dot0 += (unitQuery[i] as number) * v0;
      dot1 += (unitQuery[i + 1] as number) * v1;
      dot2 += (unitQuery[i + 2] as number) * v2;
      dot3 += (unitQuery[i + 3] as number) * v3;
      sq0 += v0 * v0;
      sq1 += v1 * v1;
      sq2 += v2 * v2;
      sq3 += v3 * v3;
    }
    for (let i = tail; i < d; i++) {
      const v = values[o + i] as number;
      dot0 += (unitQuery[i] as number) * v;
      sq0 += v * v;
    }
    const norm = sq0 + sq1 + sq2 + sq3;
    scores[r] = norm === 0 ? 0 : (dot0 + dot1 + dot2 + dot3) / Math.sqrt(norm);
  }
}
