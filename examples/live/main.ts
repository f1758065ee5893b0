// The live fitting page's main thread: the form, the data, and the figures. Every GPU call (simulating the synthetic
// set, the fit, the posterior) runs in the shipped fitting worker (dist/browser/poglm-worker.js) through FitWorker;
// this thread only reads files, draws and answers the visitor, so it stays responsive while the fit runs.
import type { FitEpoch, FitResult } from '../../src/api/fit.js';
import { elboSpec } from '../../src/plot/elbo.js';
import { rasterSpec } from '../../src/plot/raster.js';
import { weightsSpec } from '../../src/plot/weights.js';
import { countsJson } from '../../src/cli/counts-json.js';
import type { PoglmModelJson } from '../../src/model/json.js';
import { METHODS, SCHEMES, type Method, type Scheme } from '../../src/model/types.js';
import { FitWorker } from '../../src/worker/client.js';
import { describeData, fileData, syntheticData, type LoadedData } from './data.js';
import { LiveFigure } from './plots.js';

const element = <T extends HTMLElement>(id: string): T => {
  const found = document.getElementById(id);
  if (!found) throw new Error(`the page has no #${id}`);
  return found as T;
};
const input = (id: string) => element<HTMLInputElement>(id);
const button = (id: string) => element<HTMLButtonElement>(id);

const figures = { elbo: new LiveFigure(element('elbo-plot')), weights: new LiveFigure(element('weights-plot')), raster: new LiveFigure(element('raster-plot')) };

/** What the page holds: the data, the file it came from (to bin again), the last fit and its posterior. */
const state: {
  data?: LoadedData;
  /** The source the data was loaded for, so that changed settings load again. */
  dataKey?: string;
  file?: { name: string; bytes: Uint8Array };
  result?: FitResult;
  posterior?: { means: Float64Array; bins: number; hidden: number };
  running?: AbortController;
} = {};

type PageState = 'starting' | 'idle' | 'loading' | 'fitting' | 'inferring' | 'done' | 'stopped' | 'error';
const setState = (next: PageState): void => void (document.body.dataset.state = next);

function status(text: string): void {
  element('status').textContent = text;
}

/** Shows an error in the page: the library's own message, as fit gives it in Node. */
function showError(error: unknown): void {
  const box = element('error');
  box.textContent = error instanceof Error ? error.message : String(error);
  box.hidden = false;
  setState('error');
}

function clearError(): void {
  element('error').hidden = true;
  element('error').textContent = '';
}

function fillSelect(id: string, values: readonly string[], chosen: string): void {
  element<HTMLSelectElement>(id).replaceChildren(...values.map((value) => new Option(value, value, value === chosen, value === chosen)));
}

// ---- Data ----

const source = (): 'synthetic' | 'file' => (document.querySelector<HTMLInputElement>('input[name="source"]:checked')?.value === 'file' ? 'file' : 'synthetic');
const binning = () => ({ binWidth: input('bin-width').valueAsNumber, sequenceBins: input('sequence-bins').valueAsNumber });

/** A key of what the data depends on: the same key needs no new load. */
function dataKey(): string {
  if (source() === 'synthetic') return `synthetic ${input('trial').value} ${input('sequences').value}`;
  return `file ${state.file?.name} ${input('bin-width').value} ${input('sequence-bins').value}`;
}

function showData(data: LoadedData): void {
  element('data-shape').textContent = `${data.name}: ${describeData(data)}`;
  element('data-notes').replaceChildren(...data.notes.map((note) => Object.assign(document.createElement('li'), { textContent: note })));
  button('download-data').disabled = false;
}

/** The data the form describes, loaded (or simulated on the worker) if it is not the data held already. */
async function loadData(worker: FitWorker): Promise<LoadedData> {
  const key = dataKey();
  if (state.data && state.dataKey === key) return state.data;
  state.data = undefined;
  element('data-shape').textContent = 'Loading…';
  let data: LoadedData;
  if (source() === 'synthetic') {
    data = await syntheticData(worker, input('trial').valueAsNumber, input('sequences').valueAsNumber);
  } else {
    if (!state.file) throw new Error('no file chosen: drop a spike file on the drop zone, or choose one');
    data = await fileData(state.file.bytes, state.file.name, binning());
  }
  state.data = data;
  state.dataKey = key;
  showData(data);
  return data;
}

async function takeFile(file: File, worker: FitWorker): Promise<void> {
  clearError();
  state.file = { name: file.name, bytes: new Uint8Array(await file.arrayBuffer()) };
  document.querySelector<HTMLInputElement>('input[name="source"][value="file"]')!.checked = true;
  element('drop-zone').dataset.file = file.name;
  try {
    await loadData(worker);
    setState('idle');
  } catch (error) {
    element('data-shape').textContent = `${file.name} could not be read.`;
    showError(error);
  }
}

// ---- Figures ----

const curveName = (scheme: Scheme, method: Method, hidden: number) => (hidden === 0 ? 'GLM (H=0)' : `${scheme}/${method} H=${hidden}`);

/** The true W beside the learned one, when the data's truth has as many hidden neurons as the model. */
function truthFor(model: PoglmModelJson): LoadedData['truth'] {
  const truth = state.data?.truth;
  return truth && truth.bias.length === model.visible + model.hidden ? truth : undefined;
}

function drawEpoch(model: PoglmModelJson, elbo: (number | null)[], name: string): void {
  void figures.elbo.show(elboSpec([{ name, elbo }]));
  void figures.weights.show(weightsSpec({ visible: model.visible, hidden: model.hidden, generative: model.generative }, truthFor(model)));
}

function drawRaster(): void {
  const { data, posterior } = state;
  if (!data || !posterior) return;
  const sequence = Math.min(Math.max(0, input('raster-sequence').valueAsNumber || 0), data.visible.length - 1);
  const { bins, hidden } = posterior;
  const means = Array.from({ length: bins }, (_, t) => Array.from(posterior.means.subarray((sequence * bins + t) * hidden, (sequence * bins + t + 1) * hidden)));
  const trueHidden = data.hidden && data.hidden[sequence]?.[0]?.length === hidden ? data.hidden[sequence] : undefined;
  void figures.raster.show(rasterSpec({ sequence, visible: data.visible[sequence], means, trueHidden }));
}

// ---- The fit ----

function settings() {
  return {
    hidden: input('hidden').valueAsNumber,
    scheme: element<HTMLSelectElement>('scheme').value as Scheme,
    method: element<HTMLSelectElement>('method').value as Method,
    epochs: input('epochs').valueAsNumber,
    seed: input('seed').valueAsNumber,
    batchSize: input('batch-size').valueAsNumber,
    samples: input('samples').valueAsNumber,
  };
}

function setRunning(running: boolean): void {
  button('start').disabled = running;
  button('stop').disabled = !running;
  document.querySelectorAll<HTMLInputElement | HTMLSelectElement>('#controls fieldset input, #controls fieldset select').forEach((field) => (field.disabled = running));
}

async function runFit(worker: FitWorker, adapter: string): Promise<void> {
  clearError();
  const controller = new AbortController();
  state.running = controller;
  state.result = undefined;
  state.posterior = undefined;
  button('download').disabled = true;
  input('raster-sequence').disabled = true;
  figures.raster.clear();
  setRunning(true);
  try {
    setState('loading');
    status('Loading the data…');
    const data = await loadData(worker);
    const chosen = settings();
    const name = curveName(chosen.scheme, chosen.method, chosen.hidden);
    const elbo: (number | null)[] = [];
    const started = performance.now();
    setState('fitting');
    status(`Fitting ${name} in a Web Worker on ${adapter}…`);
    const result = await worker.fit(
      { train: data.visible, ...chosen, label: name },
      {
        signal: controller.signal,
        onEpoch: (event: FitEpoch) => {
          elbo.push(event.elbo);
          drawEpoch(event.model, elbo, name);
          const seconds = ((performance.now() - started) / 1000).toFixed(1);
          status(`epoch ${event.epoch}/${event.epochs} · ELBO ${event.elbo === null ? 'not finite' : event.elbo.toFixed(3)} · ${seconds} s · Web Worker on ${adapter}`);
        },
      },
    );
    state.result = result;
    drawEpoch(result.model, result.elboHistory, name);
    button('download').disabled = false;
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    const how = result.interrupted ? `stopped after ${result.epochsCompleted} of ${chosen.epochs} epochs` : `${result.epochsCompleted} epochs`;
    const last = result.elboHistory[result.elboHistory.length - 1];
    const summary = `${name}: ${how} in ${seconds} s, last ELBO ${last === undefined ? 'none' : last.toFixed(3)} · Web Worker on ${adapter}`;
    if (result.model.hidden === 0) element('raster-plot').textContent = 'H = 0 is the fully observed GLM: it has no hidden neurons, so there is no posterior to show.';
    if (result.model.hidden > 0) {
      setState('inferring');
      status(`${summary} · inferring the hidden posterior…`);
      const posterior = await worker.inferHiddenArrays(result.model, data.visible, { samples: 100 });
      state.posterior = { means: posterior.means, bins: posterior.bins, hidden: posterior.hidden };
      input('raster-sequence').max = String(data.visible.length - 1);
      input('raster-sequence').disabled = false;
      drawRaster();
    }
    status(summary);
    setState(result.interrupted ? 'stopped' : 'done');
  } catch (error) {
    status('');
    showError(error);
  } finally {
    state.running = undefined;
    setRunning(false);
  }
}

// ---- Downloads ----

function download(name: string, parts: BlobPart[]): void {
  const url = URL.createObjectURL(new Blob(parts, { type: 'application/json' }));
  const link = Object.assign(document.createElement('a'), { href: url, download: name });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** The model JSON exactly as `poglm fit --out` writes it. */
function downloadModel(): void {
  const model = state.result?.model;
  if (!model) return;
  download('model.json', [`${JSON.stringify(model)}\n`]);
}

/** The visible counts as the counts JSON `poglm fit --train` reads. */
function downloadData(): void {
  const data = state.data;
  if (!data) return;
  const [sequences, bins, neurons] = [data.visible.length, data.visible[0].length, data.visible[0][0].length];
  const counts = Uint32Array.from(data.visible.flat(2));
  download('counts.json', [...countsJson({ counts, sequences, bins, neurons })]);
}

// ---- Start ----

function wireForm(worker: FitWorker, adapter: string): void {
  element('controls').addEventListener('submit', (event) => {
    event.preventDefault();
    void runFit(worker, adapter);
  });
  button('stop').addEventListener('click', () => state.running?.abort());
  button('download').addEventListener('click', downloadModel);
  button('download-data').addEventListener('click', downloadData);
  input('raster-sequence').addEventListener('input', drawRaster);
  input('file-input').addEventListener('change', () => {
    const file = input('file-input').files?.[0];
    if (file) void takeFile(file, worker);
  });
  const zone = element('drop-zone');
  zone.addEventListener('dragover', (event) => {
    event.preventDefault();
    zone.classList.add('over');
  });
  zone.addEventListener('dragleave', () => zone.classList.remove('over'));
  zone.addEventListener('drop', (event) => {
    event.preventDefault();
    zone.classList.remove('over');
    const file = event.dataTransfer?.files[0];
    if (file) void takeFile(file, worker);
  });
  // A changed bin width bins the file again at once, so that its shape is seen before a fit.
  for (const id of ['bin-width', 'sequence-bins']) {
    input(id).addEventListener('change', () => {
      if (source() !== 'file' || !state.file) return;
      clearError();
      loadData(worker).then(() => setState('idle'), showError);
    });
  }
}

async function start(): Promise<void> {
  fillSelect('scheme', SCHEMES, 'FB');
  fillSelect('method', METHODS, 'exponential');
  // The shipped worker bundle beside this page's folder (dist/browser/ next to dist/live/).
  const worker = new FitWorker(new Worker(new URL('../browser/poglm-worker.js', import.meta.url), { type: 'module' }));
  let adapter: string;
  try {
    const where = await worker.describe();
    adapter = where.adapter;
    const gpu = element('gpu');
    gpu.textContent = `WebGPU adapter: ${where.adapter} · fitting ${where.inWorker ? 'in a Web Worker' : 'on the main thread'}`;
    gpu.dataset.inWorker = String(where.inWorker);
    gpu.dataset.adapter = where.adapter;
  } catch (error) {
    element('gpu').textContent = 'The fitting worker has no GPU: nothing can be fitted here.';
    const secure = window.isSecureContext ? '' : ' This page is not a secure context: open it at http://127.0.0.1 or http://localhost (npx poglm serve), or over HTTPS.';
    showError(new Error(`${error instanceof Error ? error.message : String(error)}${secure}`));
    return;
  }
  wireForm(worker, adapter);
  button('start').disabled = false;
  status('Ready: choose the data and the model, then Start.');
  setState('idle');
}

void start();
