/** Medians and ranges of repeated, interleaved measurements (the machine is shared: one run means little). */

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** `lo-hi` of the values, with `digits` decimals: the spread a row's median came from. */
export function range(xs: readonly number[], digits = 2): string {
  if (xs.length === 0) return 'none';
  return `${Math.min(...xs).toFixed(digits)}-${Math.max(...xs).toFixed(digits)}`;
}
