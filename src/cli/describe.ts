// One-line descriptions of counts for the commands' reports.

/** "S sequences x T bins x N neurons; mean count per bin by neuron: ..." */
export function describeCounts(counts: number[][][]): string {
  const bins = counts[0].length;
  const neurons = counts[0][0].length;
  const totals = new Array<number>(neurons).fill(0);
  for (const sequence of counts) for (const bin of sequence) bin.forEach((count, n) => (totals[n] += count));
  const rates = totals.map((total) => (total / (counts.length * bins)).toFixed(3));
  return `${counts.length} sequences x ${bins} bins x ${neurons} neurons; mean count per bin by neuron: ${rates.join(' ')}`;
}
