// `poglm serve`: the live fitting page (dist/live/, built by `npm run build` from examples/live/) and the fitting
// worker it loads (dist/browser/) over HTTP on this machine, so that a browser can fit on its own GPU. Read-only
// and static: GET and HEAD of files under those two folders, nothing else. It prints the page's address as its first
// line, and runs until SIGINT or SIGTERM, which close it (exit 130 or 143, as every command stops).
//
// WebGPU needs a secure context: http://127.0.0.1 and http://localhost are secure, any other host over plain HTTP
// is not, and a browser there has no navigator.gpu. Hence the default host, and a warning for any other.
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { CONTENT_TYPES } from './content-types.js';
import { UsageError } from './files.js';
import { integerInput, type Input, type InputValues } from './inputs.js';
import { commandAction, type CliContext } from './runner.js';

/** The built folders, beside this file's own folder in dist/: dist/live and dist/browser. */
const DIST = fileURLToPath(new URL('..', import.meta.url));
/** URL prefix -> folder served under it. The page loads its worker from ../browser/, as the folders lie in dist/. */
const FOLDERS: Record<string, string> = { '/live/': join(DIST, 'live'), '/browser/': join(DIST, 'browser') };

/** A host name or address to listen on: letters, digits, dots, hyphens and colons (IPv6), nothing else. */
const hostInput = (flag: string): Input<string> => ({
  flag,
  read: (raw) => {
    const host = (raw ?? '').trim();
    if (!/^[A-Za-z0-9.:-]+$/.test(host)) throw new UsageError(`${flag} "${raw}" is not a host name or address: give one such as 127.0.0.1, localhost or ::1`);
    return host;
  },
});

const SERVE_INPUTS = {
  flags: {
    port: integerInput('--port', { min: 0, max: 65535 }),
    host: hostInput('--host'),
  },
};

type ServeValues = InputValues<typeof SERVE_INPUTS.flags>;

/** Whether browsers treat plain HTTP from this host as a secure context (loopback only). */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host.endsWith('.localhost') || /^127\.\d+\.\d+\.\d+$/.test(host) || host === '::1' || host === '[::1]';
}

/** The file a request path names: under one of the served folders, never outside it; undefined when none. */
export function servedFile(pathname: string): string | undefined {
  let path: string;
  try {
    path = decodeURIComponent(pathname);
  } catch {
    return undefined;
  }
  if (path.includes('\0')) return undefined;
  for (const [prefix, folder] of Object.entries(FOLDERS)) {
    if (!path.startsWith(prefix)) continue;
    const rest = path.slice(prefix.length) || 'index.html';
    const file = normalize(join(folder, rest));
    // normalize resolves "..": what is left must still lie inside the folder.
    if (!file.startsWith(folder + sep)) return undefined;
    return existsSync(file) && statSync(file).isFile() ? file : undefined;
  }
  return undefined;
}

function answer(request: IncomingMessage, response: ServerResponse): void {
  const { pathname } = new URL(request.url ?? '/', 'http://localhost');
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    response.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' }).end('only GET and HEAD\n');
    return;
  }
  if (pathname === '/' || pathname === '/live') {
    response.writeHead(302, { location: '/live/' }).end();
    return;
  }
  const file = servedFile(pathname);
  if (!file) {
    response.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found\n');
    return;
  }
  response.writeHead(200, {
    'content-type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream',
    'content-length': statSync(file).size,
    'cache-control': 'no-cache',
    'x-content-type-options': 'nosniff',
  });
  if (request.method === 'HEAD') response.end();
  else createReadStream(file).pipe(response);
}

function listen(server: Server, port: number, host: string): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRINUSE') reject(new UsageError(`--port ${port} is in use on ${host}: give another port, or --port 0 for any free one`));
      else if (error.code === 'EADDRNOTAVAIL' || error.code === 'ENOTFOUND') reject(new UsageError(`--host ${host} is not an address of this machine: give 127.0.0.1 (the default) or localhost`));
      else if (error.code === 'EACCES') reject(new UsageError(`--port ${port} needs privileges on ${host}: give a port above 1023, or --port 0`));
      else reject(error);
    });
    server.listen(port, host, () => resolve(server.address() as AddressInfo));
  });
}

async function serveCommand(context: CliContext, values: ServeValues): Promise<void> {
  const missing = [join(FOLDERS['/live/'], 'index.html'), join(FOLDERS['/browser/'], 'poglm-worker.js')].filter((file) => !existsSync(file));
  if (missing.length > 0) throw new Error(`the live page is not built (${missing.join(' and ')} missing): run \`npm run build\` in the package folder`);
  const server = createServer(answer);
  const address = await listen(server, values.port, values.host);
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  context.out(`http://${values.host === 'localhost' ? 'localhost' : host}:${address.port}/live/`);
  context.err(`poglm: serving the live fitting page from ${FOLDERS['/live/']}; Ctrl-C stops`);
  if (!isLoopback(values.host)) {
    context.err(
      `poglm: warning: --host ${values.host}: browsers give WebGPU (navigator.gpu) only to secure contexts, which plain HTTP is only on 127.0.0.1 and localhost; ` +
        'from another machine, open the page through an SSH tunnel (ssh -L) to 127.0.0.1, or serve dist/ over HTTPS',
    );
  }
  await new Promise<void>((resolve) => context.signal.addEventListener('abort', () => resolve(), { once: true }));
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('serve the live fitting page (fit in your browser on its GPU, in a Web Worker, and watch the ELBO, the weights and the hidden posterior) on this machine')
    .option('--port <n>', 'port to listen on (0: any free port)', '8080')
    .option('--host <address>', 'address to listen on (WebGPU needs 127.0.0.1 or localhost over plain HTTP)', '127.0.0.1')
    .action(commandAction(SERVE_INPUTS, serveCommand));
}
