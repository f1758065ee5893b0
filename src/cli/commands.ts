// The commands of `poglm`: synth, simulate, bin, fit, grad, eval, demo (and grid, in grid.ts).
import type { Command } from 'commander';
import { evaluate, groundTruthHiddenCount, type GroundTruth, type Metrics } from '../api/evaluate.js';
import { fit, NonFiniteError, type FitResult } from '../api/fit.js';
import { syntheticDataset } from '../api/synthetic.js';
import { computeElboGradient } from '../engine/gradient.js';
import { initialParams } from '../model/schedule.js';
import { simulateOnDevice } from '../engine/simulate.js';
import { validateCounts } from '../model/data.js';
import { buildModel, flattenModel, parseModel, type PoglmModelJson } from '../model/json.js';
import { paramLayout, unflattenParams } from '../model/params.js';
import { resolveMethod, type Method } from '../model/types.js';
import { UsageError, writeJson } from './files.js';
import { readCounts, readJson, readTruth, type CountsFile } from './readers.js';
import { InterruptedExit, runner, type CliContext } from './runner.js';
import { integer, method as methodOption, positiveNumber, scheme as schemeOption } from './options.js';
import { formatSeconds, StatusLine } from './progress.js';
import { registerGridCommand } from './grid.js';
import { registerBinCommand } from './bin.js';
import { describeCounts } from './describe.js';

function readModel(path: string): PoglmModelJson {
  try {
    return parseModel(readJson(path, '--model'), path);
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError((error as Error).message);
  }
}

const round = (value: number, digits = 4): number => Number(value.toFixed(digits));

/**
 * The ground truth a `poglm synth` file carries applies only to a model with its number of hidden neurons: for any
 * other model it is left out, with a note, so that a sweep over H still gets its likelihoods.
 */
function groundTruthFor(file: CountsFile, hidden: number, context: CliContext): GroundTruth {
  const carried: GroundTruth = { testHidden: file.hidden, truth: file.truth };
  const trueHidden = groundTruthHiddenCount(carried, file.visible[0][0].length);
  if (trueHidden === undefined) return {};
  if (trueHidden !== hidden) {
    context.err(`poglm: ${file.description} has ${trueHidden} true hidden neurons and the model ${hidden}: no ground-truth metrics`);
    return {};
  }
  return carried;
}

function formatMetrics(metrics: Metrics): string {
  const rows: [string, number | undefined][] = [
    ['test marginal log-likelihood (per sequence)', metrics.testMarginalLogLikelihood],
    ['test ELBO (per sequence)', metrics.testElbo],
    ['predicted complete log-likelihood', metrics.predictedCompleteLogLikelihood],
    ['hidden log-likelihood', metrics.hiddenLogLikelihood],
    ['weight error (mean |W - W_true|)', metrics.weightError],
    ['bias error (mean |b - b_true|)', metrics.biasError],
  ];
  return rows
    .filter(([, value]) => value !== undefined)
    .map(([name, value]) => `  ${name.padEnd(44)} ${value!.toFixed(4)}`)
    .join('\n');
}

async function synthCommand(
  context: CliContext,
  options: { trial: string; out: string; sequences: string; trainSequences: string; bins: string; visible: string; hidden: string; json?: boolean },
): Promise<void> {
  const trial = integer('--trial', options.trial);
  const sequences = integer('--sequences', options.sequences, { min: 2 });
  const trainSequences = integer('--train-sequences', options.trainSequences, { min: 1, max: sequences - 1 });
  const bins = integer('--bins', options.bins, { min: 6 });
  const visible = integer('--visible', options.visible, { min: 1 });
  const hidden = integer('--hidden', options.hidden, { min: 0 });
  const dataset = await syntheticDataset(trial, { sequences, trainSequences, bins, visible, hidden }, await context.session());
  writeJson(options.out, dataset);
  if (options.json) {
    context.out(JSON.stringify({ out: options.out, trial, train: trainSequences, test: sequences - trainSequences, bins }));
    return;
  }
  context.out(`wrote ${options.out}: synthetic trial ${trial}, ${dataset.visible} visible + ${dataset.hidden} hidden neurons`);
  context.out(`  train visible: ${describeCounts(dataset.train.visible)}`);
  if (dataset.hidden > 0) context.out(`  train hidden:  ${describeCounts(dataset.train.hidden)}`);
  context.out(`  test visible:  ${describeCounts(dataset.test.visible)}`);
}

async function simulateCommand(
  context: CliContext,
  options: { model: string; sequences: string; bins: string; seed: string; out: string; json?: boolean },
): Promise<void> {
  const model = readModel(options.model);
  const sequences = integer('--sequences', options.sequences, { min: 1 });
  const bins = integer('--bins', options.bins, { min: 1 });
  const seed = integer('--seed', options.seed, { max: 2 ** 32 - 1 });
  const result = await simulateOnDevice(await context.session(), { models: [model.generative], basis: model.basis, sequences, bins, seeds: seed });
  const N = result.neurons;
  const counts = Array.from({ length: sequences }, (_, s) =>
    Array.from({ length: bins }, (_, t) => Array.from(result.spikes.subarray((s * bins + t) * N, (s * bins + t + 1) * N))),
  );
  writeJson(options.out, counts);
  if (options.json) {
    context.out(JSON.stringify({ out: options.out, sequences, bins, neurons: N, chunks: result.chunks }));
    return;
  }
  context.out(`wrote ${options.out}: ${describeCounts(counts)} (neurons ordered visible first)`);
  if (result.chunks > 1) context.out(`  (simulated in ${result.chunks} chunks to stay within the device's buffer limits)`);
}

interface FitCommandOptions {
  train: string;
  test?: string;
  hidden: string;
  scheme: string;
  method: string;
  epochs: string;
  batch: string;
  mc: string;
  lrGen: string;
  lrVar: string;
  seed: string;
  tau?: string;
  categories?: string;
  init?: string;
  evalMc: string;
  out: string;
  json?: boolean;
  progress?: boolean;
}

async function fitCommand(context: CliContext, options: FitCommandOptions): Promise<void> {
  const train = readCounts(options.train, 'train', '--train');
  const test = options.test ? readCounts(options.test, 'test', '--test') : undefined;
  const settings = {
    hidden: integer('--hidden', options.hidden, { min: 1 }),
    scheme: schemeOption('--scheme', options.scheme),
    method: methodOption('--method', options.method),
    epochs: integer('--epochs', options.epochs, { min: 1 }),
    batchSize: integer('--batch', options.batch, { min: 1 }),
    samples: integer('--mc', options.mc, { min: 1 }),
    learningRateGenerative: positiveNumber('--lr-gen', options.lrGen),
    learningRateVariational: positiveNumber('--lr-var', options.lrVar),
    seed: integer('--seed', options.seed, { max: 2 ** 32 - 1 }),
    ...(options.tau !== undefined ? { tau: positiveNumber('--tau', options.tau) } : {}),
    ...(options.categories !== undefined ? { categories: integer('--categories', options.categories, { min: 2 }) } : {}),
    ...(options.init ? { init: readModel(options.init) } : {}),
  };
  const evalSamples = integer('--eval-mc', options.evalMc, { min: 1 });
  validateCounts(train.description, train.visible);
  if (test) validateCounts(test.description, test.visible, { neurons: train.visible[0][0].length });
  const session = await context.session();
  const status = new StatusLine(process.stderr, Boolean(options.progress ?? process.stderr.isTTY));
  const started = performance.now();
  let result: FitResult;
  try {
    result = await fit(train.visible, settings, {
      session,
      signal: context.signal,
      onProgress: (progress) => {
        if (!Number.isNaN(progress.meanElbo)) {
          status.update(
            `epoch ${progress.epoch}/${progress.epochs}  ELBO ${progress.meanElbo.toFixed(3)}  (${formatSeconds((performance.now() - started) / 1000)})`,
          );
        }
      },
    });
  } catch (error) {
    status.done();
    if (error instanceof NonFiniteError) {
      writeJson(options.out, error.result.model);
      context.err(`poglm: wrote the last finite parameters to ${options.out}`);
    }
    if (!(error instanceof NonFiniteError) && context.signal.aborted) throw new InterruptedExit('interrupted before the fit started: nothing to save');
    throw error;
  }
  status.done();
  writeJson(options.out, result.model);
  const seconds = (performance.now() - started) / 1000;
  let metrics: Metrics | undefined;
  if (test && !context.signal.aborted) {
    metrics = await evaluate(result.model, test.visible, {
      session,
      samples: evalSamples,
      seed: settings.seed,
      signal: context.signal,
      ...groundTruthFor(test, settings.hidden, context),
    });
  }
  if (options.json) {
    context.out(
      JSON.stringify({
        out: options.out,
        epochs: result.epochsCompleted,
        steps: result.steps,
        seconds: round(seconds, 3),
        elboHistory: result.elboHistory,
        interrupted: result.interrupted,
        ...(metrics ? { metrics } : {}),
      }),
    );
  } else {
    const last = result.elboHistory.at(-1);
    context.out(
      `wrote ${options.out}: ${settings.scheme}/${settings.method} H=${settings.hidden}, ${result.epochsCompleted} epochs (${result.steps} steps) ` +
        `in ${formatSeconds(seconds)} on ${session.adapter}; final training ELBO ${last?.toFixed(3) ?? 'n/a'}`,
    );
    if (metrics) context.out(`metrics on ${test!.description} (${metrics.samples} samples per sequence):\n${formatMetrics(metrics)}`);
  }
  if (result.interrupted) throw new InterruptedExit(`interrupted: saved the model after ${result.steps} steps to ${options.out}`);
}

async function gradCommand(
  context: CliContext,
  options: { model: string; train: string; method?: string; noise?: string; samples: string; seed: string; step: string; json?: boolean },
): Promise<void> {
  const model = readModel(options.model);
  if (model.hidden < 1 || !model.variational) throw new UsageError(`--model ${options.model} has no variational part (hidden = ${model.hidden})`);
  const chosen: Method = options.method ? methodOption('--method', options.method) : model.method;
  // Another method than the model's takes its own default tau and categories, not the model's.
  const flat = flattenModel(chosen === model.method ? model : { ...model, method: chosen, tau: undefined, categories: undefined });
  const train = readCounts(options.train, 'train', '--train');
  validateCounts(train.description, train.visible, { neurons: model.visible });
  const noise = options.noise ? (readJson(options.noise, '--noise') as number[][][][][]) : undefined;
  let result: Awaited<ReturnType<typeof computeElboGradient>>;
  try {
    result = await computeElboGradient(await context.session(), {
      layout: flat.layout,
      basis: flat.basis,
      method: flat.method,
      params: flat.params,
      sequences: train.visible,
      ...(noise
        ? { noise }
        : {
            samples: integer('--samples', options.samples, { min: 1 }),
            seed: integer('--seed', options.seed, { max: 2 ** 32 - 1 }),
            step: integer('--step', options.step, { max: 2 ** 28 - 1 }),
          }),
    });
  } catch (error) {
    // The noise is checked against the data and the method as it is flattened: name the file it came from.
    if (noise && error instanceof Error && error.message.startsWith('noise')) throw new UsageError(`--noise ${options.noise}: ${error.message}`);
    throw error;
  }
  const gradient = unflattenParams(flat.layout, result.gradient);
  const variational: Record<string, unknown> = { forwardWeight: gradient.variational.forwardWeight };
  if (gradient.variational.backwardWeight) variational.backwardWeight = gradient.variational.backwardWeight;
  variational.bias = gradient.variational.bias;
  const output = { elbo: result.elbo, grad: { generative: gradient.generative, variational } };
  if (options.json) {
    context.out(JSON.stringify(output));
  } else {
    context.out(`ELBO ${result.elbo.toFixed(6)} (mean over ${train.visible.length} sequences; ${chosen}, ${flat.method.info.estimator} estimator)`);
    context.out(JSON.stringify(output.grad, null, 2));
  }
}

async function evalCommand(
  context: CliContext,
  options: { model: string; test: string; testHidden?: string; truth?: string; mc: string; seed: string; json?: boolean },
): Promise<void> {
  const model = readModel(options.model);
  if (model.hidden < 1 || !model.variational) throw new UsageError(`--model ${options.model} has no variational part (hidden = ${model.hidden}): evaluate a model that poglm fit wrote`);
  const test = readCounts(options.test, 'test', '--test');
  validateCounts(test.description, test.visible, { neurons: model.visible });
  // Ground truth named on the command line must fit the model; what a synth file carries is used where it does.
  const fromFile = groundTruthFor(test, model.hidden, context);
  const samples = integer('--mc', options.mc, { min: 1 });
  const seed = integer('--seed', options.seed, { max: 2 ** 32 - 1 });
  const truth = options.truth ? readTruth(options.truth) : fromFile.truth;
  const metrics = await evaluate(model, test.visible, {
    session: await context.session(),
    samples,
    seed,
    signal: context.signal,
    testHidden: options.testHidden ? (readJson(options.testHidden, '--test-hidden') as number[][][]) : fromFile.testHidden,
    truth,
  });
  if (options.json) context.out(JSON.stringify(metrics));
  else context.out(`metrics of ${options.model} on ${test.description} (${metrics.samples} samples per sequence):\n${formatMetrics(metrics)}`);
}

async function demoCommand(context: CliContext, options: { trial: string; scheme: string; method: string; epochs: string; mc: string; json?: boolean }): Promise<void> {
  const trial = integer('--trial', options.trial);
  const scheme = schemeOption('--scheme', options.scheme);
  const method = methodOption('--method', options.method);
  const epochs = integer('--epochs', options.epochs, { min: 1 });
  const samples = integer('--mc', options.mc, { min: 1 });
  const session = await context.session();
  const say = (text: string): void => {
    if (!options.json) context.out(text);
  };
  say(`poglm demo on ${session.adapter}`);
  const started = performance.now();
  const data = await syntheticDataset(trial, {}, session);
  say(`synthetic trial ${trial}: ${data.visible} visible + ${data.hidden} hidden neurons, ${data.train.visible.length} train / ${data.test.visible.length} test sequences of ${data.train.visible[0].length} bins`);
  const layout = paramLayout(data.visible, data.hidden, scheme);
  const untrained = buildModel({ layout, params: initialParams(layout, 0), method: resolveMethod(method), basis: data.basis });
  const groundTruth = { testHidden: data.test.hidden, truth: data.truth.generative };
  const before = await evaluate(untrained, data.test.visible, { session, samples, ...groundTruth });
  const status = new StatusLine();
  const result = await fit(data.train.visible, { hidden: data.hidden, scheme, method, epochs, seed: 0 }, {
    session,
    signal: context.signal,
    onProgress: (progress) => Number.isNaN(progress.meanElbo) || status.update(`fitting ${scheme}/${method}: epoch ${progress.epoch}/${progress.epochs}  ELBO ${progress.meanElbo.toFixed(3)}`),
  });
  status.done();
  const after = await evaluate(result.model, data.test.visible, { session, samples, ...groundTruth });
  const seconds = (performance.now() - started) / 1000;
  if (options.json) {
    context.out(JSON.stringify({ trial, scheme, method, epochs: result.epochsCompleted, seconds: round(seconds, 3), untrained: before, fitted: after, adapter: session.adapter }));
    return;
  }
  say(`fitted ${scheme}/${method} for ${result.epochsCompleted} epochs (${result.steps} steps of ${result.dispatchesPerStep} dispatches)`);
  say(`metrics on the test sequences (${samples} samples per sequence):`);
  say(`  ${'metric'.padEnd(44)} ${'untrained'.padStart(10)} ${'fitted'.padStart(10)}`);
  const names: [keyof Metrics, string][] = [
    ['testMarginalLogLikelihood', 'test marginal log-likelihood'],
    ['testElbo', 'test ELBO'],
    ['predictedCompleteLogLikelihood', 'predicted complete log-likelihood'],
    ['hiddenLogLikelihood', 'hidden log-likelihood'],
    ['weightError', 'weight error'],
    ['biasError', 'bias error'],
  ];
  for (const [key, name] of names) say(`  ${name.padEnd(44)} ${(before[key] as number).toFixed(3).padStart(10)} ${(after[key] as number).toFixed(3).padStart(10)}`);
  say(`done in ${formatSeconds(seconds)}`);
  if (result.interrupted) throw new InterruptedExit('interrupted');
}

export function registerCommands(program: Command): void {
  program
    .command('synth')
    .description("write the paper's synthetic dataset for one trial (visible and hidden counts, true parameters)")
    .requiredOption('--trial <k>', 'trial index: seeds the true parameters and the simulation')
    .requiredOption('--out <file.json>', 'output file')
    .option('--sequences <n>', 'sequences in all', '60')
    .option('--train-sequences <n>', 'the first n train, the rest test', '40')
    .option('--bins <t>', 'bins per sequence', '100')
    .option('--visible <v>', 'visible neurons (the paper: 3)', '3')
    .option('--hidden <h>', 'hidden neurons (the paper: 2)', '2')
    .option('--json', 'print a JSON summary')
    .action(runner(synthCommand as never));

  program
    .command('simulate')
    .description('simulate spike counts [sequence][time][neuron] for all N neurons from a model JSON')
    .requiredOption('--model <model.json>', 'model (basis, visible, hidden and generative are read)')
    .requiredOption('--sequences <n>', 'sequences to simulate')
    .requiredOption('--bins <t>', 'bins per sequence')
    .option('--seed <k>', 'noise stream', '0')
    .requiredOption('--out <file.json>', 'output file')
    .option('--json', 'print a JSON summary')
    .action(runner(simulateCommand as never));

  registerBinCommand(program);

  program
    .command('fit')
    .description('fit a POGLM with differentiable variational inference and write the model JSON')
    .requiredOption('--train <file.json>', 'training counts [sequence][time][neuron], or a `poglm synth` file')
    .option('--test <file.json>', 'test counts (or a `poglm synth` file: its ground truth is used too); evaluates after fitting')
    .requiredOption('--hidden <h>', 'number of hidden neurons')
    .requiredOption('--scheme <F|FS|FB>', 'variational message passing: forward, forward-self, forward-backward')
    .requiredOption('--method <name>', 'hidden-spike distribution: poisson, categorical, gs-score, gs-pathwise, exponential, rayleigh, half-normal')
    .option('--epochs <n>', 'passes over the training sequences', '20')
    .option('--batch <n>', 'sequences per minibatch', '10')
    .option('--mc <m>', 'Monte Carlo samples per sequence', '5')
    .option('--lr-gen <rate>', 'Adam learning rate of the generative model', '0.05')
    .option('--lr-var <rate>', 'Adam learning rate of the variational model', '0.1')
    .option('--seed <k>', 'seed of the initialisation, minibatch order and noise', '0')
    .option('--tau <t>', 'Gumbel-Softmax temperature (default 1.0 for gs-score, 0.5 for gs-pathwise)')
    .option('--categories <k>', 'categories of the truncated Poisson (default 5)')
    .option('--init <model.json>', 'start from this model instead of the paper initialisation')
    .option('--eval-mc <m>', 'samples per test sequence for the metrics', '2000')
    .requiredOption('--out <model.json>', 'output model')
    .option('--progress', 'show progress even when stderr is not a terminal')
    .option('--json', 'print a JSON summary')
    .action(runner(fitCommand as never));

  program
    .command('grad')
    .description('print the ELBO and its gradient for a model, sequences and base noise')
    .requiredOption('--model <model.json>', 'model')
    .requiredOption('--train <x.json>', 'sequences [sequence][time][visible]')
    .option('--method <name>', "distribution (default: the model's)")
    .option('--noise <noise.json>', 'base noise [sequence][sample][time][hidden] (or [...][k] Gumbels for gs-*)')
    .option('--samples <m>', 'without --noise: samples per sequence from the Philox stream', '1')
    .option('--seed <k>', 'without --noise: the stream', '0')
    .option('--step <n>', 'without --noise: the training step whose noise to draw', '0')
    .option('--json', 'print {"elbo", "grad"} as one JSON object')
    .action(runner(gradCommand as never));

  program
    .command('eval')
    .description("evaluate a model with the paper's metrics (both models switched to Poisson)")
    .requiredOption('--model <model.json>', 'model')
    .requiredOption('--test <file.json>', 'test counts, or a `poglm synth` file (its hidden spikes and truth are used)')
    .option('--test-hidden <h.json>', 'true hidden counts of the test sequences [sequence][time][hidden]')
    .option('--truth <truth.json>', 'true parameters: a `poglm synth` file, a model JSON, or {"weight", "bias"}')
    .option('--mc <m>', 'samples per test sequence', '2000')
    .option('--seed <k>', 'noise stream', '0')
    .option('--json', 'print the metrics as one JSON object')
    .action(runner(evalCommand as never));

  program
    .command('demo')
    .description('synthesize a trial of the paper, fit it, and print the metrics before and after')
    .option('--trial <k>', 'synthetic trial', '0')
    .option('--scheme <F|FS|FB>', 'scheme', 'FB')
    .option('--method <name>', 'method', 'exponential')
    .option('--epochs <n>', 'epochs', '20')
    .option('--mc <m>', 'samples per test sequence for the metrics', '2000')
    .option('--json', 'print one JSON object')
    .action(runner(demoCommand as never));

  registerGridCommand(program);
}
