// `poglm serve` as a user runs it: the live page and the fitting worker over HTTP on 127.0.0.1, with their content
// types, nothing outside the two built folders (no path traversal, by any spelling), bad flags refused with exit 2
// before anything listens, a warning for a host that is not a secure context, and SIGINT/SIGTERM closing it with
// 130/143. The page itself in Chromium: test/live-page.test.ts. No GPU.
import { spawnSync } from 'node:child_process';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN } from './helpers/cli.js';
import { ensureLiveBuild } from './helpers/live-build.js';
import { startServe, type ServeRun } from './helpers/serve.js';

interface Answer {
  status: number;
  type: string | undefined;
  location: string | undefined;
  body: string;
}

/** One request with the path sent exactly as written (no client-side normalisation of "..", unlike fetch and curl). */
function get(url: string, path: string, method = 'GET'): Promise<Answer> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const sent = request({ hostname, port, path, method }, (response) => {
      let body = '';
      response.on('data', (chunk) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, type: response.headers['content-type'], location: response.headers.location, body }));
    });
    sent.on('error', reject);
    sent.end();
  });
}

describe('poglm serve', () => {
  let serve: ServeRun;
  beforeAll(async () => {
    ensureLiveBuild();
    serve = await startServe();
  });
  afterAll(async () => {
    await serve?.stop('SIGKILL');
  });

  it('prints the page\'s address on 127.0.0.1 as its first line', () => {
    expect(serve.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/live\/$/);
    expect(serve.stderr()).not.toMatch(/warning/);
  });

  it('serves the page, its script, styles and map, and the shipped worker, each with its content type', async () => {
    const expected: [string, string][] = [
      ['/live/', 'text/html; charset=utf-8'],
      ['/live/index.html', 'text/html; charset=utf-8'],
      ['/live/main.js', 'text/javascript; charset=utf-8'],
      ['/live/style.css', 'text/css; charset=utf-8'],
      ['/live/main.js.map', 'application/json; charset=utf-8'],
      ['/browser/poglm-worker.js', 'text/javascript; charset=utf-8'],
    ];
    for (const [path, type] of expected) {
      const answer = await get(serve.url, path);
      expect([path, answer.status, answer.type]).toEqual([path, 200, type]);
      expect(answer.body.length, path).toBeGreaterThan(100);
    }
    expect((await get(serve.url, '/live/')).body).toContain('<script type="module" src="main.js"></script>');
    const root = await get(serve.url, '/');
    expect([root.status, root.location]).toEqual([302, '/live/']);
    const head = await get(serve.url, '/live/main.js', 'HEAD');
    expect([head.status, head.body]).toEqual([200, '']);
    expect((await get(serve.url, '/live/main.js', 'POST')).status).toBe(405);
  });

  it('serves nothing outside dist/live and dist/browser, however the path is spelled', async () => {
    for (const path of [
      '/live/../../package.json',
      '/live/%2e%2e/%2e%2e/package.json',
      '/live/..%2f..%2fpackage.json',
      '/browser/..%2f..%2fpackage.json',
      '/live/%2e%2e%5c%2e%2e%5cpackage.json',
      '/live/index.html%00.js',
      '/live/%E0%A4%A',
      '/dist/index.js',
      '/package.json',
      '/live/missing.js',
      '/browser/',
    ]) {
      const answer = await get(serve.url, path);
      expect([path, answer.status]).toEqual([path, 404]);
      expect(answer.body).not.toContain('"name": "poglm-gpu"');
    }
  });

  it('refuses bad flags with exit 2 and a message, before listening', () => {
    for (const [args, message] of [
      [['--port', '70000'], /--port must be .*70000/],
      [['--port', 'eighty'], /--port/],
      [['--host', 'a b'], /--host "a b" is not a host name or address/],
    ] as const) {
      const run = spawnSync(process.execPath, [BIN, 'serve', ...args], { encoding: 'utf8', timeout: 30_000 });
      expect(run.status, run.stderr).toBe(2);
      expect(run.stderr).toMatch(message);
      expect(run.stdout).toBe('');
    }
  });

  it('says that WebGPU needs a secure context when the host is not loopback', async () => {
    const open = await startServe(['--port', '0', '--host', '0.0.0.0']);
    try {
      expect(open.url).toMatch(/^http:\/\/0\.0\.0\.0:\d+\/live\/$/);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(open.stderr()).toMatch(/warning: --host 0\.0\.0\.0: browsers give WebGPU \(navigator\.gpu\) only to secure contexts/);
    } finally {
      await open.stop('SIGKILL');
    }
  });

  it('refuses a port in use with exit 2', () => {
    const port = new URL(serve.url).port;
    const run = spawnSync(process.execPath, [BIN, 'serve', '--port', port], { encoding: 'utf8', timeout: 30_000 });
    expect(run.status, run.stderr).toBe(2);
    expect(run.stderr).toMatch(new RegExp(`--port ${port} is in use on 127\\.0\\.0\\.1: give another port, or --port 0 for any free one`));
  });

  it('closes on SIGTERM with 143 and on SIGINT with 130', async () => {
    for (const [signal, code] of [['SIGTERM', 143], ['SIGINT', 130]] as const) {
      const run = await startServe();
      expect(await run.stop(signal), run.stderr()).toBe(code);
    }
  });
});
