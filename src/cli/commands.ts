// The commands of `poglm`: synth, simulate, bin, fit, grad, eval, demo (and grid, in grid.ts).
import type { Command } from 'commander';
import { evaluate, type Metrics } from '../api/evaluate.js';
import { fit } from '../api/fit.js';
import { syntheticDataset } from '../api/synthetic.js';
import { computeElboGradient, flattenNoise } from '../engine/gradient.js';
import { initialParams } from '../model/schedule.js';
import { simulateOnDevice } from '../engine/simulate.js';
import { validateCounts } from '../model/data.js';
import { buildModel, flattenModel, type PoglmModelJson } from '../model/json.js';
import { paramLayout, unflattenParams } from '../model/params.js';
import { resolveMethod, type Method } from '../model/types.js';
import { DEFAULT_BASIS_LENGTH } from '../model/basis.js';
import { UsageError, writeAtomically, writeJson } from './files.js';
import { countsJson } from './counts-json.js';
import { checkGroundTruth, readJson, readModelFile, readTruth } from './readers.js';
import { commandAction, InterruptedExit, type CliContext } from './runner.js';
import {
  flagInput,
  integerInput,
  methodInput,
  optional,
  outputFileInput,
  readInput,
  fittedModelInput,
  countsInput,
  schemeInput,
  type CommandInputs,
  type InputValues,
} from './inputs.js';
import { checkBasisFits, checkHiddenCount, checkOutputCells } from './limits.js';
import { formatSeconds, StatusLine } from './progress.js';
import { registerGridCommand } from './grid.js';
import { registerBinCommand } from './bin.js';
import { registerFitCommand } from './fit.js';
import { registerPlotCommand } from './plot.js';
import { registerInferCommand } from './infer.js';
import { registerPaperCommand } from './paper.js';
import { registerServeCommand } from './serve.js';
import { evaluationProgress, formatMetrics, groundTruthFor, round } from './report.js';
import { describeCounts, describeCountsArray } from './describe.js';

const SYNTH_INPUTS = {
  flags: {
    // The trial seeds the Philox streams of the true parameters and the simulation: a 32-bit key.
    trial: integerInput('--trial', { max: 2 ** 32 - 1 }),
    sequences: integerInput('--sequences', { min: 2 }),
    trainSequences: integerInput('--train-sequences', { min: 1 }),
    bins: integerInput('--bins', { min: 6 }),
    visible: integerInput('--visible', { min: 1 }),
    hidden: integerInput('--hidden', { min: 0 }),
    out: outputFileInput('--out'),
    json: flagInput('--json'),
  },
  relations: [
    ({ sequences, trainSequences }: { sequences: number; trainSequences: number }) => {
      if (trainSequences >= sequences) throw new UsageError(`--train-sequences ${trainSequences} must be less than --sequences ${sequences}: the rest are the test set`);
    },
    ({ hidden }: { hidden: number }) => checkHiddenCount('--hidden', hidden, DEFAULT_BASIS_LENGTH),
    ({ sequences, bins, visible, hidden }: { sequences: number; bins: number; visible: number; hidden: number }) =>
      checkOutputCells(sequences * bins * (visible + hidden), `--sequences ${sequences} x --bins ${bins} x ${visible + hidden} neurons`, 'use fewer sequences or bins'),
  ],
};

async function synthCommand(context: CliContext, options: InputValues<typeof SYNTH_INPUTS.flags>): Promise<void> {
  const { trial, sequences, trainSequences, bins, visible, hidden } = options;
  const dataset = await syntheticDataset(trial, { sequences, trainSequences, bins, visible, hidden, signal: context.signal }, await context.session());
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

const SIMULATE_INPUTS = {
  flags: {
    model: readInput('--model', (path) => readModelFile(path, '--model')),
    sequences: integerInput('--sequences', { min: 1 }),
    bins: integerInput('--bins', { min: 1 }),
    seed: integerInput('--seed', { max: 2 ** 32 - 1 }),
    out: outputFileInput('--out'),
    json: flagInput('--json'),
  },
  relations: [
    ({ model, bins }: { model: PoglmModelJson; bins: number }) => checkBasisFits(`--bins ${bins}`, bins, model.basis.length, 'more --bins'),
    ({ model, sequences, bins }: { model: PoglmModelJson; sequences: number; bins: number }) =>
      checkOutputCells(sequences * bins * (model.visible + model.hidden), `--sequences ${sequences} x --bins ${bins} x ${model.visible + model.hidden} neurons`, 'simulate fewer sequences or bins'),
  ],
};

async function simulateCommand(context: CliContext, options: InputValues<typeof SIMULATE_INPUTS.flags>): Promise<void> {
  const { model, sequences, bins, seed } = options;
  const result = await simulateOnDevice(await context.session(), { models: [model.generative], basis: model.basis, sequences, bins, seeds: seed, signal: context.signal });
  const N = result.neurons;
  const counts = { counts: result.spikes, sequences, bins, neurons: N };
  // Written from the flat array in pieces: the nested arrays of a large simulation would not fit the heap.
  writeAtomically(options.out, countsJson(counts));
  if (options.json) {
    context.out(JSON.stringify({ out: options.out, sequences, bins, neurons: N, chunks: result.chunks }));
    return;
  }
  context.out(`wrote ${options.out}: ${describeCountsArray(counts)} (neurons ordered visible first)`);
  if (result.chunks > 1) context.out(`  (simulated in ${result.chunks} chunks to stay within the device's buffer limits)`);
}

const GRAD_FLAGS = {
  method: optional(methodInput('--method')),
  samples: integerInput('--samples', { min: 1 }),
  seed: integerInput('--seed', { max: 2 ** 32 - 1 }),
  // The step keys the noise counter, which holds 28 bits of it.
  step: integerInput('--step', { max: 2 ** 28 - 1 }),
  model: fittedModelInput('--model', 'take the gradient of'),
  train: countsInput('--train', 'train'),
  noise: optional(readInput('--noise', (path) => ({ path, noise: readJson(path, '--noise') as number[][][][][] }))),
  json: flagInput('--json'),
};

const GRAD_INPUTS: CommandInputs<typeof GRAD_FLAGS> = {
  flags: GRAD_FLAGS,
  relations: [
    ({ train, model }) => validateCounts(train.description, train.visible, { neurons: model.model.visible }),
    ({ train, model }) => checkBasisFits(train.description, train.visible[0].length, model.model.basis.length, 'longer sequences'),
    // The base noise must have the data's sequences and bins and the method's draws per hidden unit.
    ({ noise, train, model, method }) => {
      if (!noise) return;
      const chosen = resolveMethod(method ?? model.model.method);
      try {
        flattenNoise(noise.noise, { sequences: train.visible.length, bins: train.visible[0].length, hidden: model.model.hidden, width: chosen.noiseWidth, uniform: chosen.info.noise === 'uniform' });
      } catch (error) {
        throw new UsageError(`--noise ${noise.path}: ${(error as Error).message}`);
      }
    },
  ],
};

async function gradCommand(context: CliContext, options: InputValues<typeof GRAD_FLAGS>): Promise<void> {
  const { train } = options;
  const { model } = options.model;
  const chosen: Method = options.method ?? model.method;
  // Another method than the model's takes its own default tau and categories, not the model's.
  const flat = flattenModel(chosen === model.method ? model : { ...model, method: chosen, tau: undefined, categories: undefined });
  const noise = options.noise?.noise;
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
        : { samples: options.samples, seed: options.seed, step: options.step }),
    });
  } catch (error) {
    // The noise is checked against the data and the method as it is flattened: name the file it came from.
    if (noise && error instanceof Error && error.message.startsWith('noise')) throw new UsageError(`--noise ${options.noise!.path}: ${error.message}`);
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

const EVAL_FLAGS = {
  mc: integerInput('--mc', { min: 1 }),
  seed: integerInput('--seed', { max: 2 ** 32 - 1 }),
  model: fittedModelInput('--model', 'evaluate', true),
  test: countsInput('--test', 'test'),
  testHidden: optional(readInput('--test-hidden', (path) => readJson(path, '--test-hidden') as number[][][])),
  truth: optional(readInput('--truth', readTruth)),
  json: flagInput('--json'),
};

const EVAL_INPUTS: CommandInputs<typeof EVAL_FLAGS> = {
  flags: EVAL_FLAGS,
  relations: [
    ({ test, model }) => validateCounts(test.description, test.visible, { neurons: model.model.visible }),
    ({ test, model }) => checkBasisFits(test.description, test.visible[0].length, model.model.basis.length, 'longer sequences'),
    // Ground truth named on the command line must fit the model and the test data.
    ({ test, model, testHidden, truth }) =>
      checkGroundTruth(
        // Named by the flags they came from, not by the parts of a synth file.
        testHidden || truth ? { visible: test.visible, hidden: testHidden ?? test.hidden, truth: truth ?? test.truth, description: '--test-hidden / --truth' } : test,
        model.model.hidden,
        testHidden ? '--test-hidden' : truth ? '--truth' : '--test',
      ),
  ],
};

async function evalCommand(context: CliContext, options: InputValues<typeof EVAL_FLAGS>): Promise<void> {
  const { test } = options;
  const { model } = options.model;
  // What a synth file carries is used where it fits the model.
  const fromFile = groundTruthFor(test, model.hidden, context);
  const status = new StatusLine();
  const started = performance.now();
  const metrics = await evaluate(model, test.visible, {
    session: await context.session(),
    samples: options.mc,
    seed: options.seed,
    signal: context.signal,
    onProgress: (done, total) => status.update(evaluationProgress(done, total, started)),
    testHidden: options.testHidden ?? fromFile.testHidden,
    truth: options.truth ?? fromFile.truth,
  });
  status.done();
  if (options.json) context.out(JSON.stringify(metrics));
  else context.out(`metrics of ${options.model.path} on ${test.description} (${metrics.samples} samples per sequence):\n${formatMetrics(metrics)}`);
}

const DEMO_INPUTS = {
  flags: {
    trial: integerInput('--trial', { max: 2 ** 32 - 1 }),
    scheme: schemeInput('--scheme'),
    method: methodInput('--method'),
    epochs: integerInput('--epochs', { min: 1 }),
    mc: integerInput('--mc', { min: 1 }),
    json: flagInput('--json'),
  },
};

async function demoCommand(context: CliContext, options: InputValues<typeof DEMO_INPUTS.flags>): Promise<void> {
  const { trial, scheme, method, epochs, mc: samples } = options;
  const session = await context.session();
  const say = (text: string): void => {
    if (!options.json) context.out(text);
  };
  say(`poglm demo on ${session.adapter}`);
  const started = performance.now();
  const data = await syntheticDataset(trial, { signal: context.signal }, session);
  say(`synthetic trial ${trial}: ${data.visible} visible + ${data.hidden} hidden neurons, ${data.train.visible.length} train / ${data.test.visible.length} test sequences of ${data.train.visible[0].length} bins`);
  const layout = paramLayout(data.visible, data.hidden, scheme);
  const untrained = buildModel({ layout, params: initialParams(layout, 0), method: resolveMethod(method), basis: data.basis });
  const groundTruth = { testHidden: data.test.hidden, truth: data.truth.generative };
  const before = await evaluate(untrained, data.test.visible, { session, samples, signal: context.signal, ...groundTruth });
  const status = new StatusLine();
  const result = await fit(data.train.visible, { hidden: data.hidden, scheme, method, epochs, seed: 0 }, {
    session,
    signal: context.signal,
    onProgress: (progress) => progress.meanElbo === null || status.update(`fitting ${scheme}/${method}: epoch ${progress.epoch}/${progress.epochs}  ELBO ${progress.meanElbo.toFixed(3)}`),
  });
  status.done();
  const after = await evaluate(result.model, data.test.visible, { session, samples, signal: context.signal, ...groundTruth });
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
    .action(commandAction(SYNTH_INPUTS, synthCommand));

  program
    .command('simulate')
    .description('simulate spike counts [sequence][time][neuron] for all N neurons from a model JSON')
    .requiredOption('--model <model.json>', 'model (basis, visible, hidden and generative are read)')
    .requiredOption('--sequences <n>', 'sequences to simulate')
    .requiredOption('--bins <t>', 'bins per sequence')
    .option('--seed <k>', 'noise stream', '0')
    .requiredOption('--out <file.json>', 'output file')
    .option('--json', 'print a JSON summary')
    .action(commandAction(SIMULATE_INPUTS, simulateCommand));

  registerBinCommand(program);

  registerFitCommand(program);

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
    .action(commandAction(GRAD_INPUTS, gradCommand));

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
    .action(commandAction(EVAL_INPUTS, evalCommand));

  program
    .command('demo')
    .description('synthesize a trial of the paper, fit it, and print the metrics before and after')
    .option('--trial <k>', 'synthetic trial', '0')
    .option('--scheme <F|FS|FB>', 'scheme', 'FB')
    .option('--method <name>', 'method', 'exponential')
    .option('--epochs <n>', 'epochs', '20')
    .option('--mc <m>', 'samples per test sequence for the metrics', '2000')
    .option('--json', 'print one JSON object')
    .action(commandAction(DEMO_INPUTS, demoCommand));

  registerGridCommand(program);
  registerPlotCommand(program);
  registerInferCommand(program);
  registerPaperCommand(program);
  registerServeCommand(program);
}
