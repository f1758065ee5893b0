// Bin edges as numpy computes them: edge k of bins of width w starting at `start` is the float64 value start + k * w
// (the product rounded, then the sum), and bins are half-open, [edge k, edge k+1). A time is put in its bin by
// comparing it with those edges, never by trusting the rounded quotient (t - start) / w, so that a spike on an edge
// lands where numpy.histogram with the same edges puts it.

/** The bin k of time t: the k with k*w <= t < (k+1)*w, the edges k*w rounded to float64 as numpy computes them. */
export function binIndex(time: number, binWidth: number): number {
  let k = Math.floor(time / binWidth);
  // The quotient is rounded, so near an edge it may be one off; one step corrects it for any k below 2^52. The
  // steps stay single (no loop) so that an infinite k, refused later by the size check, cannot hang.
  if (k * binWidth > time) k--;
  else if ((k + 1) * binWidth <= time) k++;
  return k;
}

/** How many bins start before `duration`: the k with k*w < duration (half-open: a spike at the duration is outside). */
export function binsBefore(duration: number, binWidth: number): number {
  const k = binIndex(duration, binWidth);
  return k * binWidth < duration ? k + 1 : k;
}

/** Corrections a rounded quotient may need near an edge; bounded so that a non-finite input cannot loop. */
const MAX_STEPS = 4;

/**
 * The bin k of time t on the edges start + k*w: start + k*w <= t < start + (k+1)*w. With start 0 it is binIndex.
 * The difference t - start is rounded too (when start is large), so up to a few steps correct the estimate.
 */
export function binIndexFrom(time: number, start: number, binWidth: number): number {
  let k = Math.floor((time - start) / binWidth);
  for (let step = 0; step < MAX_STEPS && start + k * binWidth > time; step++) k--;
  for (let step = 0; step < MAX_STEPS && start + (k + 1) * binWidth <= time; step++) k++;
  return k;
}

/** The most whole bins from `start` that end by `stop`: the largest T with start + T*w <= stop (0 when none). */
export function binsWithin(start: number, stop: number, binWidth: number): number {
  let bins = Math.floor((stop - start) / binWidth);
  if (!Number.isFinite(bins)) return bins;
  for (let step = 0; step < MAX_STEPS && start + (bins + 1) * binWidth <= stop; step++) bins++;
  for (let step = 0; step < MAX_STEPS && bins > 0 && start + bins * binWidth > stop; step++) bins--;
  return Math.max(0, bins);
}
