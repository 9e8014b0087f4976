/**
 * Where each packet of several batches goes when they are merged back into global packet order
 * (PacketBatch.merge): the order of a k-way merge by packet id, each part's own order kept, ties
 * to the lower part.
 *
 * Parts of one sequence number carry packets of a few source batches whose ids are consecutive
 * integers, so the ids span about as many values as there are packets: a counting pass over that
 * span places every packet in O(n), where picking the smallest head for every packet costs
 * O(n * parts). The counting pass needs integer ids, in order within each part, over a span not
 * much wider than the packets; anything else (a reassembled packet with an old id ahead of newer
 * ones, a Queue releasing old packets with new) takes the head-by-head merge, same result.
 */

/** Widest id span, per merged packet, the counting pass accepts (its table is span + 1 entries). */
const SPAN_PER_PACKET = 4;
const SPAN_SLACK = 256;

/** Module scratch: merges run synchronously, one at a time, and the caller reads the result before the next. */
let positions = new Int32Array(256);
let slots = new Int32Array(256);

/**
 * For parts `ids[k]` of `counts[k]` packets (`total` in all): the merged position of part k's
 * packet i is `result[start_k + i]`, start_k being the sum of the counts before k. The array is
 * scratch, valid until the next call.
 */
export function mergePositions(ids: readonly Float64Array[], counts: readonly number[], total: number): Int32Array {
  if (positions.length < total) positions = new Int32Array(Math.max(total, 2 * positions.length));
  if (!countingPositions(ids, counts, total, positions)) headPositions(ids, counts, total, positions);
  return positions;
}

/** The counting pass; false (nothing usable written) when the ids do not allow it. */
function countingPositions(ids: readonly Float64Array[], counts: readonly number[], total: number, pos: Int32Array): boolean {
  let lo = Infinity;
  let hi = -Infinity;
  for (let k = 0; k < ids.length; k++) {
    if (counts[k] === 0) continue;
    lo = Math.min(lo, ids[k][0]);
    hi = Math.max(hi, ids[k][counts[k] - 1]);
  }
  const span = hi - lo;
  if (!Number.isInteger(lo) || !(span >= 0) || span > SPAN_PER_PACKET * total + SPAN_SLACK) return false;
  const width = span + 2;
  if (slots.length < width) slots = new Int32Array(Math.max(width, 2 * slots.length));
  const cnt = slots;
  cnt.fill(0, 0, width);
  // Count per id (shifted by one for the prefix sum), checking integers in order within each part.
  for (let k = 0; k < ids.length; k++) {
    const col = ids[k];
    const n = counts[k];
    let prev = -Infinity;
    for (let i = 0; i < n; i++) {
      const v = col[i];
      const key = v - lo;
      if (v < prev || key !== (key | 0) || key > span) return false;
      prev = v;
      cnt[key + 1]++;
    }
  }
  for (let s = 1; s < width; s++) cnt[s] += cnt[s - 1];
  // Parts in order, each in its own order: equal ids keep the lower part first, as the head-by-head merge does.
  let at = 0;
  for (let k = 0; k < ids.length; k++) {
    const col = ids[k];
    const n = counts[k];
    for (let i = 0; i < n; i++) pos[at + i] = cnt[col[i] - lo]++;
    at += n;
  }
  return true;
}

/** The head-by-head merge: each output position takes the part whose next packet has the smallest id. */
function headPositions(ids: readonly Float64Array[], counts: readonly number[], total: number, pos: Int32Array): void {
  const parts = ids.length;
  const next = new Int32Array(parts);
  const start = new Int32Array(parts);
  for (let k = 1; k < parts; k++) start[k] = start[k - 1] + counts[k - 1];
  for (let n = 0; n < total; n++) {
    let best = -1;
    let bestId = Infinity;
    for (let k = 0; k < parts; k++) {
      if (next[k] < counts[k] && ids[k][next[k]] < bestId) {
        bestId = ids[k][next[k]];
        best = k;
      }
    }
    // Ids of Infinity or NaN compare as never smaller: such packets follow the rest, part by part.
    if (best < 0) for (let k = 0; k < parts && best < 0; k++) if (next[k] < counts[k]) best = k;
    pos[start[best] + next[best]++] = n;
  }
}
