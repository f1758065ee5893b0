// The ready fitting worker, bundled as dist/browser/poglm-worker.js (the package's "./worker" entry): a module Worker
// that serves fits on its own navigator.gpu as soon as it loads. An app talks to it with FitWorker:
//   new FitWorker(new Worker(new URL('poglm-worker.js', import.meta.url), { type: 'module' }))
import { serveFits } from './serve.js';

serveFits();
