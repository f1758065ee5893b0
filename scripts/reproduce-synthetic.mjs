// Reproduces the paper's synthetic experiment: every scheme x method on synthetic trials x seeds, evaluated with the
// paper's metrics, summarised as mean and standard deviation per combination, with the paper's findings checked on
// the numbers. Writes docs/results/synthetic-summary.{md,csv}, docs/results/synthetic-fits.csv and
// docs/results/synthetic-findings.md. Run after `npm run build`:
//   node scripts/reproduce-synthetic.mjs [--trials 0-9] [--seeds 0-9] [--epochs 20] [--eval-mc 2000] [--out docs/results]
//   node scripts/reproduce-synthetic.mjs --from docs/results/synthetic-fits.csv   (findings only, from a saved run)
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
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

// The paper's findings, checked on paired differences: every combination was fitted on the same (trial, seed) pairs,
// so a difference of means is a mean of paired differences, whose standard error is far below the spread across trials.
function findings(rows) {
  const metric = 'testMarginalLogLikelihood';
  const value = new Map(rows.filter((row) => row.metrics).map((row) => [`${row.dataset}|${row.seed}|${row.scheme}|${row.method}`, row.metrics[metric]]));
  const pairs = [...new Set(rows.map((row) => `${row.dataset}|${row.seed}`))];
  const paired = (a, b) => {
    const differences = pairs.map((pair) => a(pair) - b(pair)).filter(Number.isFinite);
    const mean = differences.reduce((x, y) => x + y, 0) / differences.length;
    const sd = Math.sqrt(differences.reduce((x, y) => x + (y - mean) ** 2, 0) / (differences.length - 1));
    return { mean, se: sd / Math.sqrt(differences.length), n: differences.length };
  };
  const at = (scheme, method) => (pair) => value.get(`${pair}|${scheme}|${method}`);
  const meanOf = (getters) => (pair) => getters.reduce((sum, get) => sum + get(pair), 0) / getters.length;
  const show = ({ mean, se, n }) => `${mean >= 0 ? '+' : ''}${mean.toFixed(3)} ± ${se.toFixed(3)} nats (paired, n = ${n})`;
  const out = [
    `# Findings on the synthetic grid (${rows.length} fits)`,
    '',
    'Test marginal log-likelihood per test sequence, higher is better. Differences are paired over the (trial, seed)',
    'pairs every combination shares; "±" is one standard error of the mean difference.',
    '',
    '## 1. FB at least as good as F and FS',
    '',
  ];
  let fbHolds = 0;
  for (const method of METHODS) {
    const versusF = paired(at('FB', method), at('F', method));
    const versusFS = paired(at('FB', method), at('FS', method));
    const holds = versusF.mean > -2 * versusF.se && versusFS.mean > -2 * versusFS.se;
    if (holds) fbHolds++;
    out.push(`- ${method}: FB - F ${show(versusF)}; FB - FS ${show(versusFS)} -> ${holds ? 'holds' : 'does not hold'}`);
  }
  out.push('', `FB is at least as good as both (no worse by more than two standard errors) for ${fbHolds} of ${METHODS.length} methods.`);
  const pathwiseMethods = METHODS.filter((method) => METHOD_INFO[method].estimator === 'pathwise');
  const scoreMethods = METHODS.filter((method) => METHOD_INFO[method].estimator === 'score');
  out.push('', '## 2. Pathwise methods ahead of score methods', '');
  for (const scheme of SCHEMES) {
    const difference = paired(meanOf(pathwiseMethods.map((m) => at(scheme, m))), meanOf(scoreMethods.map((m) => at(scheme, m))));
    out.push(`- ${scheme}: mean of pathwise - mean of score ${show(difference)} -> ${difference.mean > 2 * difference.se ? 'holds' : 'not shown'}`);
  }
  out.push('', '## 3. Exponential first among the methods', '');
  const byMethod = METHODS.map((method) => ({ method, get: meanOf(SCHEMES.map((scheme) => at(scheme, method))) }));
  const exponential = byMethod.find((entry) => entry.method === 'exponential');
  for (const other of byMethod.filter((entry) => entry.method !== 'exponential')) {
    out.push(`- exponential - ${other.method}: ${show(paired(exponential.get, other.get))}`);
  }
  const ranking = byMethod
    .map(({ method, get }) => ({ method, mean: pairs.reduce((sum, pair) => sum + get(pair), 0) / pairs.length }))
    .sort((a, b) => b.mean - a.mean);
  out.push('', `Ranking by mean over schemes: ${ranking.map((entry) => `${entry.method} ${entry.mean.toFixed(3)}`).join(', ')}.`);
  const trial0 = rows.filter((row) => row.dataset === 'trial 0' && row.metrics);
  if (trial0.length > 0) {
    const byCombination = new Map();
    for (const row of trial0) {
      const key = `${row.scheme}/${row.method}`;
      byCombination.set(key, [...(byCombination.get(key) ?? []), row.metrics[metric]]);
    }
    const means = [...byCombination].map(([key, values]) => ({ key, mean: values.reduce((a, b) => a + b, 0) / values.length }));
    const best = means.reduce((a, b) => (b.mean > a.mean ? b : a));
    const fbExponential = means.find((entry) => entry.key === 'FB/exponential');
    out.push(
      '',
      '## Trial 0',
      '',
      `FB/exponential ${fbExponential.mean.toFixed(3)}; best ${best.key} ${best.mean.toFixed(3)}; ` +
        `gap ${(best.mean - fbExponential.mean).toFixed(3)} nats (${best.mean - fbExponential.mean <= 1 ? 'within' : 'more than'} 1 nat).`,
    );
  }
  return out;
}

function parseFitsCsv(path) {
  const [header, ...lines] = readFileSync(path, 'utf8').trim().split('\n');
  const names = header.split(',');
  return lines.map((line) => {
    const cells = line.match(/("([^"]|"")*"|[^,]*)(,|$)/g).map((cell) => cell.replace(/,$/, '').replace(/^"|"$/g, '').replace(/""/g, '"'));
    const record = Object.fromEntries(names.map((name, i) => [name, cells[i]]));
    const metrics = Object.fromEntries(
      ['testMarginalLogLikelihood', 'testElbo', 'predictedCompleteLogLikelihood', 'hiddenLogLikelihood', 'weightError', 'biasError'].map((name) => [name, Number(record[name])]),
    );
    return { dataset: record.dataset, seed: Number(record.seed), scheme: record.scheme, method: record.method, hidden: Number(record.hidden), metrics };
  });
}

const from = option('--from', undefined);
if (from) {
  // Re-derive the findings from a saved per-fit table, without refitting.
  const lines = findings(parseFitsCsv(from));
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'synthetic-findings.md'), `${lines.join('\n')}\n`);
  console.log(lines.join('\n'));
  process.exit(0);
}

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

const lines = findings(rows);
mkdirSync(out, { recursive: true });
const heading =
  `Synthetic grid: trials ${option('--trials', '0-9')} x seeds ${option('--seeds', '0-9')} x ${SCHEMES.length} schemes x ${METHODS.length} methods = ${rows.length} fits; ` +
  `${epochs} epochs, batch 10, M = 5; metrics with ${evalSamples} samples per test sequence; ${(seconds / 60).toFixed(1)} min on ${adapter}.`;
writeFileSync(join(out, 'synthetic-summary.md'), `${heading}\n\nMean ± standard deviation over trials and seeds.\n\n${summaryToMarkdown(summary)}\n`);
writeFileSync(join(out, 'synthetic-summary.csv'), `${summaryToCsv(summary)}\n`);
writeFileSync(join(out, 'synthetic-fits.csv'), `${rowsToCsv(rows)}\n`);
writeFileSync(join(out, 'synthetic-findings.md'), `${lines.join('\n')}\n`);
console.log(`${heading}\n\n${summaryToMarkdown(summary)}\n\n${lines.join('\n')}\nwrote ${out}/synthetic-{summary.md,summary.csv,fits.csv,findings.md}`);
