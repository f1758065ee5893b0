// The CLI as a hostile but realistic user drives it: bad inputs refused before any GPU work (exit 2, naming the flag,
// the value and the fix), stops by SIGINT and SIGTERM that keep what is complete, and temporary files of killed
// writers cleaned up. Runs the built binary in child processes, as test/cli.test.ts does.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, signalWhen } from './helpers/cli.js';

let folder = '';
const at = (name: string): string => join(folder, name);
const json = (name: string): any => JSON.parse(readFileSync(at(name), 'utf8'));

/** Runs poglm with POGLM_TRACE, so that stderr says whether a GPU session was opened. */
function poglm(...args: string[]): { status: number; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [BIN, ...args], { cwd: folder, encoding: 'utf8', timeout: 120_000, env: { ...process.env, POGLM_TRACE: '1' } });
  return { status: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

const OPENED_GPU = /trace: opening the GPU session/;

beforeAll(() => {
  expect(existsSync(new URL('../dist/cli/main.js', import.meta.url)), 'run `npm run build` first (npm test does)').toBe(true);
  folder = mkdtempSync(join(tmpdir(), 'poglm-reliability-'));
  const synth = poglm('synth', '--trial', '1', '--out', 'synth.json');
  expect(synth.status, synth.stderr).toBe(0);
  const fit = poglm('fit', '--train', 'synth.json', '--hidden', '2', '--scheme', 'FB', '--method', 'exponential', '--epochs', '1', '--out', 'model.json');
  expect(fit.status, fit.stderr).toBe(0);
  mkdirSync(at('folder'));
  writeFileSync(at('wrong-hidden.json'), JSON.stringify({ ...json('synth.json'), test: { ...json('synth.json').test, hidden: json('synth.json').test.hidden.slice(0, 3) } }));
  writeFileSync(at('nested.json'), `${'['.repeat(50_000)}${']'.repeat(50_000)}`);
  writeFileSync(at('infinite.json'), '[[[0, 1e999, 0]]]');
});
afterAll(() => rmSync(folder, { recursive: true, force: true }));

const FIT = ['fit', '--train', 'synth.json', '--scheme', 'FB', '--method', 'exponential'];

describe('bad input is refused before any GPU work, naming the flag, the value and the fix', () => {
  it.each([
    { name: '--out naming a folder', args: [...FIT, '--hidden', '2', '--out', 'folder'], message: /--out folder is a folder: give a file name/ },
    { name: '--out under a file', args: [...FIT, '--hidden', '2', '--out', 'synth.json/model.json'], message: /--out synth\.json\/model\.json lies under .*synth\.json, which is a file/ },
    { name: '--out equal to --train', args: [...FIT, '--hidden', '2', '--out', 'synth.json'], message: /--out synth\.json is also the --train file: writing it would overwrite the input/ },
    { name: '--out equal to --train by another path', args: [...FIT, '--hidden', '2', '--out', './folder/../synth.json'], message: /is also the --train file/ },
    { name: 'grid --out naming a file', args: ['grid', '--trials', '0', '--out', 'synth.json'], message: /--out synth\.json is a file: give a folder/ },
    { name: '--hidden past the kernels with the basis', args: [...FIT, '--hidden', '52', '--out', 'm.json'], message: /--hidden 52 is more hidden neurons than the kernels hold with a basis of 5 lags: at most 51/ },
    { name: '--hidden 1000', args: [...FIT, '--hidden', '1000', '--out', 'm.json'], message: /--hidden 1000 .* at most 51/ },
    { name: 'grid --hidden past the limit', args: ['grid', '--trials', '0', '--hidden', '1-52', '--out', 'g'], message: /--hidden 52 .* at most 51/ },
    { name: '--categories 9', args: ['fit', '--train', 'synth.json', '--scheme', 'FB', '--method', 'categorical', '--hidden', '2', '--categories', '9', '--out', 'm.json'], message: /--categories must be an integer from 2 to 8, got "9"/ },
    { name: '--categories with a method that has none', args: [...FIT, '--hidden', '2', '--categories', '4', '--out', 'm.json'], message: /--categories applies to categorical, gs-score, gs-pathwise, not --method exponential/ },
    { name: '--tau with a method that has none', args: [...FIT, '--hidden', '2', '--tau', '0.5', '--out', 'm.json'], message: /--tau is the Gumbel-Softmax temperature/ },
    { name: '--init of another shape', args: [...FIT, '--hidden', '3', '--init', 'model.json', '--out', 'm.json'], message: /--init is a model of 3 visible \+ 2 hidden neurons, scheme FB; .*give --hidden 2 --scheme FB/ },
    { name: '--init of another scheme', args: ['fit', '--train', 'synth.json', '--scheme', 'FS', '--method', 'exponential', '--hidden', '2', '--init', 'model.json', '--out', 'm.json'], message: /--init is a model of .* scheme FB; .*--scheme FS/ },
    { name: 'ground truth of the wrong shape in --test', args: [...FIT, '--hidden', '2', '--test', 'wrong-hidden.json', '--out', 'm.json'], message: /wrong-hidden\.json.*test\.hidden/ },
    { name: 'synth --trial past 32 bits', args: ['synth', '--trial', '1099511627776', '--out', 's.json'], message: /--trial must be an integer from 0 to 4294967295, got "1099511627776"/ },
    { name: 'simulate of billions of counts', args: ['simulate', '--model', 'model.json', '--sequences', '1000000', '--bins', '1000', '--out', 's.json'], message: /--sequences 1000000 x --bins 1000 x 5 neurons is 5,000,000,000 counts, more than the 67,108,864/ },
    { name: 'simulate with fewer bins than the basis', args: ['simulate', '--model', 'model.json', '--sequences', '2', '--bins', '4', '--out', 's.json'], message: /the basis has 5 lags but --bins 4 has only 4 bins/ },
    { name: 'grad --noise of the wrong shape', args: ['grad', '--model', 'model.json', '--train', 'synth.json', '--noise', 'infinite.json'], message: /--noise infinite\.json: noise must have one entry per sequence \(40\), got 1/ },
    { name: 'basis flags with --init', args: [...FIT, '--hidden', '2', '--init', 'model.json', '--basis-window', '3', '--out', 'm.json'], message: /--init keeps its model's basis \(5 lags\): leave out --basis-window/ },
    { name: 'a basis window past the kernels with the hidden count', args: [...FIT, '--hidden', '30', '--basis-window', '9', '--out', 'm.json'], message: /--hidden 30 is more hidden neurons than the kernels hold with a basis of 9 lags: at most 28/ },
    { name: 'deeply nested counts', args: [...FIT.slice(0, 1), '--train', 'nested.json', '--scheme', 'FB', '--method', 'exponential', '--hidden', '2', '--out', 'm.json'], message: /nested\.json/ },
    { name: 'a count of 1e999', args: [...FIT.slice(0, 1), '--train', 'infinite.json', '--scheme', 'FB', '--method', 'exponential', '--hidden', '2', '--out', 'm.json'], message: /infinite\.json.*Infinity/ },
  ])('$name', ({ args, message }) => {
    const run = poglm(...args);
    expect(run.status, run.stderr).toBe(2);
    expect(run.stderr).toMatch(message);
    expect(run.stderr).not.toMatch(OPENED_GPU);
    expect(run.stderr).not.toMatch(/fit\.|jobs\[|RangeError|TypeError|Maximum call stack/);
    expect(existsSync(at('m.json'))).toBe(false);
  });

  it('names a grid\'s model files after the data file, without its folders', () => {
    const data = json('synth.json');
    mkdirSync(at('data'), { recursive: true });
    writeFileSync(at('data/rec1.json'), JSON.stringify(data.train.visible));
    writeFileSync(at('data/rec1-test.json'), JSON.stringify(data.test.visible));
    mkdirSync(at('work'), { recursive: true });
    const run = spawnSync(process.execPath, [BIN, 'grid', '--train', '../data/rec1.json', '--test', '../data/rec1-test.json', '--schemes', 'F', '--methods', 'poisson', '--hidden', '1', '--epochs', '1', '--eval-mc', '10', '--out', 'out'], { cwd: at('work'), encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    expect(readdirSync(at('work/out/models'))).toEqual(['rec1_seed0_F_poisson_H1.json']);
  });
});

describe('the basis knobs', () => {
  it('fits with the basis the flags describe and records it in the model', () => {
    const run = poglm(...FIT, '--hidden', '1', '--epochs', '1', '--basis-window', '10', '--basis-decay', '0.5', '--basis-bin-width', '0.02', '--out', 'basis10.json');
    expect(run.status, run.stderr).toBe(0);
    const basis: number[] = json('basis10.json').basis;
    expect(basis).toHaveLength(10);
    // psi[l-1] = exp(-0.5 l) / sum_k exp(-0.5 k), divided by the bin width, so that 0.02 x sum(psi) = 1.
    const raw = Array.from({ length: 10 }, (_, l) => Math.exp(-0.5 * (l + 1)));
    const total = raw.reduce((a, b) => a + b, 0);
    basis.forEach((value, l) => expect(value).toBeCloseTo(raw[l] / total / 0.02, 5));
  });
});

describe('a fit that stops on a non-finite value', () => {
  it('exits 1, saves the last finite parameters, and the saved model loads in eval', () => {
    const run = poglm(...FIT, '--hidden', '2', '--epochs', '5', '--lr-gen', '1e38', '--out', 'exploded.json');
    expect(run.status, run.stderr).toBe(1);
    expect(run.stderr).toMatch(/non-finite at step \d+ \(epoch \d+\)/);
    const model = json('exploded.json');
    expect(model.training.stoppedEarly.reason).toBe('non-finite');
    const flat = JSON.stringify(model.generative) + JSON.stringify(model.variational);
    expect(flat).not.toMatch(/null/);
    const evaluated = poglm('eval', '--model', 'exploded.json', '--test', 'synth.json', '--mc', '10', '--json');
    expect(evaluated.status, evaluated.stderr).toBe(0);
  });

  it('saves finite parameters when the one step of a fit is huge but finite (it wrote nulls and exited 0)', () => {
    const run = poglm(...FIT, '--hidden', '2', '--epochs', '1', '--batch', '40', '--lr-gen', '1e38', '--out', 'one-step.json');
    expect(run.status, run.stderr).toBe(0);
    const model = json('one-step.json');
    expect(JSON.stringify(model.generative) + JSON.stringify(model.variational)).not.toMatch(/null/);
    expect(poglm('eval', '--model', 'one-step.json', '--test', 'synth.json', '--mc', '10').status).toBe(0);
  });

  it('a grid whose fits go non-finite writes everything and exits 1', () => {
    const run = poglm('grid', '--trials', '0', '--schemes', 'FB', '--methods', 'exponential', '--epochs', '3', '--lr-gen', '1e38', '--eval-mc', '10', '--out', 'grid-exploded');
    expect(run.status, run.stderr).toBe(1);
    expect(run.stderr).toMatch(/1 of 1 fits stopped on a non-finite value/);
    expect(readFileSync(at('grid-exploded/fits.csv'), 'utf8')).toMatch(/non-finite at step \d+/);
    expect(readdirSync(at('grid-exploded/models'))).toHaveLength(1);
  });
});

describe('stops that keep the work', () => {
  it('SIGTERM during a fit saves the model and exits 143', async () => {
    const run = await signalWhen(folder, /epoch [2-9]/, ['SIGTERM'], 0, ...FIT, '--hidden', '2', '--epochs', '100000', '--progress', '--out', 'terminated.json');
    expect(run.status, run.stderr).toBe(143);
    expect(run.stderr).toMatch(/saved the model after \d+ steps to terminated\.json/);
    expect(json('terminated.json').training.stoppedEarly.reason).toBe('interrupted');
  });

  it('SIGINT during an evaluation of a million samples stops within about a second, exit 130', async () => {
    // 4 s after the session opens the evaluation is running: a million samples take minutes here.
    const run = await signalWhen(folder, OPENED_GPU, ['SIGINT'], 4000, 'eval', '--model', 'model.json', '--test', 'synth.json', '--mc', '1000000');
    expect(run.status, run.stderr).toBe(130);
    // One chunk holds at most 2^24 sample-bins (about 0.7 s here); before, every chunk was queued at once.
    expect(run.secondsAfterSignal).toBeLessThan(3);
  });

  it('a second signal quits at once, while the first waits for the epoch to end', async () => {
    // 4,000 samples per sequence: an epoch takes several seconds, so the first SIGINT has to wait for it.
    const run = await signalWhen(folder, /epoch 1\//, ['SIGINT', 'SIGINT'], 0, ...FIT, '--hidden', '2', '--epochs', '1000', '--mc', '4000', '--progress', '--out', 'twice.json');
    expect(run.status, run.stderr).toBe(130);
    expect(run.stderr).toMatch(/SIGINT again, exiting now/);
    expect(readdirSync(folder).filter((name) => name.includes('.tmp'))).toEqual([]);
  });

  it('SIGINT during synth exits 130 and writes nothing', async () => {
    const run = await signalWhen(folder, OPENED_GPU, ['SIGINT'], 300, 'synth', '--trial', '2', '--sequences', '12000', '--train-sequences', '10000', '--bins', '1000', '--out', 'big-synth.json');
    expect(run.status, run.stderr).toBe(130);
    expect(existsSync(at('big-synth.json'))).toBe(false);
  });

  it('removes a temporary file a killed writer left, on the next write there', () => {
    writeFileSync(at('kept.json.poglm-999999999.tmp'), 'half a model');
    const run = poglm(...FIT, '--hidden', '2', '--epochs', '1', '--out', 'kept.json');
    expect(run.status, run.stderr).toBe(0);
    expect(existsSync(at('kept.json.poglm-999999999.tmp'))).toBe(false);
    expect(json('kept.json').format).toBe('poglm-gpu.model');
  });
});

describe('checkpoint and resume', () => {
  const LONG_FIT = [...FIT, '--hidden', '2', '--epochs', '40', '--progress'];
  const learned = (name: string): string => {
    const model = json(name);
    return JSON.stringify([model.generative, model.variational, model.training.elboHistory, model.training.steps]);
  };

  it('a fit stopped by SIGTERM and resumed ends with exactly the parameters of one that never stopped', async () => {
    const whole = poglm(...LONG_FIT, '--out', 'whole.json');
    expect(whole.status, whole.stderr).toBe(0);
    const stopped = await signalWhen(folder, /epoch (1[0-9]|[5-9])\//, ['SIGTERM'], 0, ...LONG_FIT, '--checkpoint', 'fit-state.json', '--out', 'part.json');
    expect(stopped.status, stopped.stderr).toBe(143);
    expect(stopped.stderr).toMatch(/run again with --resume to continue from fit-state\.json/);
    expect(json('part.json').training.epochsCompleted).toBeLessThan(40);
    const resumed = poglm(...LONG_FIT, '--checkpoint', 'fit-state.json', '--resume', '--out', 'part.json');
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(learned('part.json')).toBe(learned('whole.json'));
  });

  it('refuses a checkpoint of other settings, a missing one, and overwriting one without --resume', () => {
    const other = poglm(...FIT, '--hidden', '2', '--epochs', '41', '--checkpoint', 'fit-state.json', '--resume', '--out', 'other.json');
    expect(other.status, other.stderr).toBe(2);
    expect(other.stderr).toMatch(/--checkpoint fit-state\.json: cannot resume the fit: .*epochs is 41 here but 40 in the checkpoint/);
    const missing = poglm(...FIT, '--hidden', '2', '--checkpoint', 'no-state.json', '--resume', '--out', 'other.json');
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/--resume: the checkpoint no-state\.json does not exist/);
    const forgotten = poglm(...FIT, '--hidden', '2', '--checkpoint', 'fit-state.json', '--out', 'other.json');
    expect(forgotten.status).toBe(2);
    expect(forgotten.stderr).toMatch(/--checkpoint fit-state\.json exists: add --resume to continue from it/);
    for (const run of [other, missing, forgotten]) expect(run.stderr).not.toMatch(OPENED_GPU);
    expect(existsSync(at('other.json'))).toBe(false);
  });

  it('a grid stopped while fitting and resumed writes exactly the models and tables of one that never stopped', async () => {
    const GRID = ['grid', '--trials', '0', '--seeds', '0-1', '--schemes', 'FB', '--methods', 'exponential,poisson', '--epochs', '30', '--eval-mc', '100', '--progress'];
    const whole = poglm(...GRID, '--out', 'grid-whole');
    expect(whole.status, whole.stderr).toBe(0);
    const stopped = await signalWhen(folder, /epoch ([5-9]|[12][0-9])\//, ['SIGINT'], 0, ...GRID, '--out', 'grid-part');
    expect(stopped.status, stopped.stderr).toBe(130);
    expect(stopped.stderr).toMatch(/run the same command with --resume to continue from grid-part\/checkpoint\.json/);
    const again = poglm(...GRID, '--out', 'grid-part');
    expect(again.status).toBe(2);
    expect(again.stderr).toMatch(/--out grid-part holds a checkpoint, grid-part\/checkpoint\.json: add --resume/);
    const resumed = poglm(...GRID, '--resume', '--out', 'grid-part');
    expect(resumed.status, resumed.stderr).toBe(0);
    const models = readdirSync(at('grid-whole/models')).sort();
    expect(readdirSync(at('grid-part/models')).sort()).toEqual(models);
    for (const name of models) expect(learned(`grid-part/models/${name}`), name).toBe(learned(`grid-whole/models/${name}`));
    expect(readFileSync(at('grid-part/fits.csv'), 'utf8')).toBe(readFileSync(at('grid-whole/fits.csv'), 'utf8'));
    expect(readFileSync(at('grid-part/summary.csv'), 'utf8')).toBe(readFileSync(at('grid-whole/summary.csv'), 'utf8'));
  });
});
