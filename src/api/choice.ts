// Choosing the number of hidden neurons from a sweep: for each scheme and method, the H whose fits have the highest
// held-out marginal log-likelihood, with standard errors of the mean over seeds and test sequences, and how sure the
// pick is: the difference to the runner-up in standard errors, and the normal probability that it is really ahead.
// Where both have per-sequence values for the same datasets, seeds and sequences, the difference is taken pair by pair,
// which removes what the sequences share (how hard each is to predict) and is far sharper than the two means' errors.
import type { Metrics } from './evaluate.js';
import type { Method, Scheme } from '../model/types.js';
import { mean, sampleVariance } from '../model/math.js';

/** One fit's held-out result: its mean over test sequences, their variance and count. */
export interface SweepFit {
  scheme: Scheme;
  method: Method;
  hidden: number;
  /** Which dataset and seed: fits of two H with the same pair are scored on the same sequences. */
  dataset?: string;
  seed?: number;
  metrics: Pick<Metrics, 'testMarginalLogLikelihood' | 'testMarginalLogLikelihoodVariance' | 'testMarginalLogLikelihoodPerSequence' | 'sequences'>;
}

export interface SweepPoint {
  hidden: number;
  fits: number;
  /** Mean over seeds and test sequences of the per-sequence marginal log-likelihood. */
  mean: number;
  /** Its standard error, the (seed, sequence) pairs taken as the sample. */
  standardError: number;
}

export interface HiddenChoice {
  scheme: Scheme;
  method: Method;
  points: SweepPoint[];
  chosen: number;
  /** The next best H, when the sweep has two or more. */
  runnerUp?: number;
  /** Chosen minus runner-up, in marginal log-likelihood per sequence, and in standard errors of that difference. */
  margin?: number;
  marginInStandardErrors?: number;
  /** Normal approximation of the probability that the chosen H is ahead of the runner-up. */
  confidence?: number;
  /** Whether the margin's standard error came from paired per-sequence differences (else from the two means). */
  paired?: boolean;
}

/**
 * Pools K fits of S sequences each into K x S values from their means and variances:
 * var = [sum_k (S - 1) var_k + S sum_k (m_k - m)^2] / (K S - 1), se = sqrt(var / (K S)).
 */
export function pooledPoint(hidden: number, fits: SweepFit['metrics'][]): SweepPoint {
  const total = fits.reduce((n, fit) => n + fit.sequences, 0);
  const mean = fits.reduce((sum, fit) => sum + fit.testMarginalLogLikelihood * fit.sequences, 0) / total;
  const within = fits.reduce((sum, fit) => sum + (fit.sequences - 1) * (fit.testMarginalLogLikelihoodVariance ?? 0), 0);
  const between = fits.reduce((sum, fit) => sum + fit.sequences * (fit.testMarginalLogLikelihood - mean) ** 2, 0);
  const variance = total > 1 ? (within + between) / (total - 1) : 0;
  return { hidden, fits: fits.length, mean, standardError: Math.sqrt(variance / total) };
}

/** The choice of H for every (scheme, method) of the sweep; fits without finite metrics are left out. */
export function chooseHidden(fits: SweepFit[]): HiddenChoice[] {
  const groups = new Map<string, SweepFit[]>();
  for (const fit of fits) {
    if (!Number.isFinite(fit.metrics.testMarginalLogLikelihood)) continue;
    const key = `${fit.scheme}|${fit.method}`;
    groups.set(key, [...(groups.get(key) ?? []), fit]);
  }
  return [...groups.values()].map((group) => {
    const hiddenCounts = [...new Set(group.map((fit) => fit.hidden))].sort((a, b) => a - b);
    const points = hiddenCounts.map((hidden) => pooledPoint(hidden, group.filter((fit) => fit.hidden === hidden).map((fit) => fit.metrics)));
    const ranked = [...points].sort((a, b) => b.mean - a.mean);
    const choice: HiddenChoice = { scheme: group[0].scheme, method: group[0].method, points, chosen: ranked[0].hidden };
    if (ranked.length > 1) {
      const [best, next] = ranked;
      const margin = best.mean - next.mean;
      const differences = pairedDifferences(group.filter((fit) => fit.hidden === best.hidden), group.filter((fit) => fit.hidden === next.hidden));
      const spread = differences ? pooledPoint(0, [differenceMetrics(differences)]).standardError : Math.hypot(best.standardError, next.standardError);
      choice.runnerUp = next.hidden;
      choice.margin = margin;
      choice.marginInStandardErrors = spread > 0 ? margin / spread : Number.POSITIVE_INFINITY;
      choice.confidence = spread > 0 ? normalCdf(margin / spread) : 1;
      choice.paired = differences !== undefined;
    }
    return choice;
  });
}

/**
 * best - next per (dataset, seed, sequence), when every fit of both has per-sequence values and a partner of the same
 * dataset and seed scored on as many sequences; undefined otherwise.
 */
function pairedDifferences(best: SweepFit[], next: SweepFit[]): number[] | undefined {
  const key = (fit: SweepFit): string => `${fit.dataset ?? ''}|${fit.seed ?? ''}`;
  const partners = new Map(next.map((fit) => [key(fit), fit]));
  if (partners.size !== next.length || best.length !== next.length) return undefined;
  const differences: number[] = [];
  for (const fit of best) {
    const a = fit.metrics.testMarginalLogLikelihoodPerSequence;
    const b = partners.get(key(fit))?.metrics.testMarginalLogLikelihoodPerSequence;
    if (!a || !b || a.length !== b.length) return undefined;
    a.forEach((value, s) => differences.push(value - b[s]));
  }
  return differences.every(Number.isFinite) ? differences : undefined;
}

/** Differences as one "fit", so that pooledPoint gives their mean's standard error. */
function differenceMetrics(differences: number[]): SweepFit['metrics'] {
  return { testMarginalLogLikelihood: mean(differences), testMarginalLogLikelihoodVariance: sampleVariance(differences), sequences: differences.length };
}

/** Phi(z), by the Abramowitz-Stegun 7.1.26 erf (error below 1.5e-7). */
export function normalCdf(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const erf = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
  return z >= 0 ? (1 + erf) / 2 : (1 - erf) / 2;
}

/** The choice as a few lines of Markdown: the table of H with mean ± standard error, and the pick. */
export function choiceToMarkdown(choices: HiddenChoice[]): string {
  return choices
    .map((choice) => {
      const rows = choice.points.map((point) => `| ${point.hidden} | ${point.fits} | ${point.mean.toFixed(3)} ± ${point.standardError.toFixed(3)} |`);
      const verdict =
        choice.runnerUp === undefined
          ? `Only H = ${choice.chosen} was fitted.`
          : `Picked H = ${choice.chosen}: ${choice.margin!.toFixed(3)} per sequence above H = ${choice.runnerUp}, ` +
            `${choice.marginInStandardErrors!.toFixed(1)} standard errors of the ${choice.paired ? 'paired per-sequence difference' : 'difference of the means'} ` +
            `(probability about ${(100 * choice.confidence!).toFixed(1)}% that it is ahead).`;
      return [`### ${choice.scheme}/${choice.method}`, '', '| H | fits | held-out marginal LL per sequence (mean ± s.e. over seeds and sequences) |', '|---|---|---|', ...rows, '', verdict].join('\n');
    })
    .join('\n\n');
}
