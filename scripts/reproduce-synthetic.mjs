// Reproduces the paper's synthetic experiment: every scheme x method on synthetic trials x seeds, evaluated with the
// paper's metrics, summarised as mean and standard deviation per combination, with the paper's findings checked on
// the numbers. Writes docs/results/synthetic-summary.{md,csv}, docs/results/synthetic-fits.csv and
// docs/results/synthetic-findings.md. Run after `npm run build`:
//   node scripts/reproduce-synthetic.mjs [--trials 0-9] [--seeds 0-9] [--epochs 20] [--eval-mc 2000]
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GpuSession, METHODS, METHOD_INFO, SCHEMES, rowsToCsv, runGrid, summarise, summaryToCsv, summaryToMarkdown, syntheticDataset } from '../dist/index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const option = (name, fallback) => {
  const index = args.indexOf(name);
  return index >= 0 ? args[index + 1] : fallback;
};
const list = (text) =>
  text.split(',').flatMap((part) => {
    const range = /^(\d+)-(\d+)$/.exec(part);
    return range ? Array.from({ length: Number(range[2]) - Number(range[1]) + 1 }, (_, i) => Number(range[1]) + i) : [Number(part)];
  });
const trials = list(option('--trials', '0-9'));
const seeds = list(option('--seeds', '0-9'));
const epochs = Number(option('--epochs', '20'));
const evalSamples = Number(option('--eval-mc', '2000'));
const out = join(root, option('--out', 'docs/results'));

const session = await GpuSession.open();
const started = performance.now();
const datasets = [];
for (const trial of trials) {
  const data = await syntheticDataset(trial, {}, session);
  datasets.push({ name: `trial ${trial}`, train: data.train.visible, test: data.test.visible, testHidden: data.test.hidden, truth: data.truth.generative });
}
let lastLine = 0;
const rows = await runGrid(
  { datasets, seeds, schemes: [...SCHEMES], methods: [...METHODS], hidden: [2], epochs, evalSamples },
  {
    session,
    onProgress: (p) => {
      const now = performance.now();
      if (now - lastLine > 5000 || p.fitsDone === p.fitsTotal) {
        lastLine = now;
        console.log(`fits ${p.fitsDone}/${p.fitsTotal} (${p.fitsPerSecond.toFixed(1)} fits/s) ${p.group} epoch ${p.epoch}`);
      }
    },
  },
);
const seconds = (performance.now() - started) / 1000;
const summary = summarise(rows);
const adapter = session.adapter;
session.destroy();

// The paper's findings, checked on the test marginal log-likelihood (higher is better).
const score = (scheme, method) => summary.find((row) => row.scheme === scheme && row.method === method)?.mean.testMarginalLogLikelihood;
const findings = [];
const methodsBy = (estimator) => METHODS.filter((method) => METHOD_INFO[method].estimator === estimator);
let fbWins = 0;
for (const method of METHODS) {
  const [f, fs, fb] = ['F', 'FS', 'FB'].map((scheme) => score(scheme, method));
  const best = Math.max(f, fs);
  if (fb >= best - 0.05) fbWins++;
  findings.push(`- ${method}: F ${f.toFixed(2)}, FS ${fs.toFixed(2)}, FB ${fb.toFixed(2)} -> FB ${fb >= best - 0.05 ? 'at least as good as' : 'worse than'} the better of F and FS (${(fb - best).toFixed(2)} nats)`);
}
const meanOver = (methods) => {
  const values = methods.flatMap((method) => SCHEMES.map((scheme) => score(scheme, method)));
  return values.reduce((a, b) => a + b, 0) / values.length;
};
const pathwise = meanOver(methodsBy('pathwise'));
const scoreMethods = meanOver(methodsBy('score'));
const ranking = METHODS.map((method) => ({ method, value: meanOver([method]) })).sort((a, b) => b.value - a.value);
const lines = [
  `# Findings on the synthetic grid (${rows.length} fits; test marginal log-likelihood, higher is better)`,
  '',
  `1. FB at least as good as F and FS (within 0.05 nats): ${fbWins} of ${METHODS.length} methods.`,
  ...findings,
  '',
  `2. Pathwise methods ahead of score methods: pathwise mean ${pathwise.toFixed(2)}, score mean ${scoreMethods.toFixed(2)} -> ${pathwise > scoreMethods ? 'holds' : 'does not hold'}.`,
  `3. Methods ranked by mean over schemes: ${ranking.map(({ method, value }) => `${method} ${value.toFixed(2)}`).join(', ')} -> exponential ${ranking[0].method === 'exponential' ? 'first' : `not first (rank ${ranking.findIndex((r) => r.method === 'exponential') + 1})`}.`,
];

mkdirSync(out, { recursive: true });
const heading =
  `Synthetic grid: trials ${option('--trials', '0-9')} x seeds ${option('--seeds', '0-9')} x ${SCHEMES.length} schemes x ${METHODS.length} methods = ${rows.length} fits; ` +
  `${epochs} epochs, batch 10, M = 5; metrics with ${evalSamples} samples per test sequence; ${(seconds / 60).toFixed(1)} min on ${adapter}.`;
writeFileSync(join(out, 'synthetic-summary.md'), `${heading}\n\nMean ± standard deviation over trials and seeds.\n\n${summaryToMarkdown(summary)}\n`);
writeFileSync(join(out, 'synthetic-summary.csv'), `${summaryToCsv(summary)}\n`);
writeFileSync(join(out, 'synthetic-fits.csv'), `${rowsToCsv(rows)}\n`);
writeFileSync(join(out, 'synthetic-findings.md'), `${lines.join('\n')}\n`);
console.log(`${heading}\n\n${summaryToMarkdown(summary)}\n\n${lines.join('\n')}\nwrote ${out}/synthetic-{summary.md,summary.csv,fits.csv,findings.md}`);
