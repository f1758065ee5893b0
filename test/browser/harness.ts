// A real browser for the browser tests: Debian's Chromium driven by playwright-core with WebGPU on SwiftShader
// (launchChromium, shared with the live page's test), and for the smoke test a static HTTP server on 127.0.0.1 (a
// random free port) that serves the test page and dist/browser/ (openBrowserHarness).
//
// Why these choices:
// - WebGPU needs a secure context. http://127.0.0.1 is "potentially trustworthy", so a plain local HTTP server
//   qualifies (Chromium gives the initial about:blank page no navigator.gpu at all).
// - Chromium gets exactly the flags below, plus the three that Playwright's pipe connection and profile need
//   (--user-data-dir, --remote-debugging-pipe, about:blank). `ignoreDefaultArgs: true` keeps Playwright's own
//   default switches out; Playwright rejects --user-data-dir in launch() args, so the profile is a fresh mkdtemp
//   directory handed to launchPersistentContext and removed on close.
// - Nothing is ever downloaded: the executable path is given, and a missing Chromium is a thrown error that says
//   how to install it (the test fails, it never skips).
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { CONTENT_TYPES } from '../../src/cli/content-types.js';

const here = dirname(fileURLToPath(import.meta.url));
export const repositoryRoot = join(here, '..', '..');
export const browserDist = join(repositoryRoot, 'dist', 'browser');
export const bundlePath = join(browserDist, 'poglm-gpu.js');
const pagePath = join(here, 'page.html');

/** Where Chromium is; POGLM_CHROMIUM overrides Debian's path. */
export const chromiumPath = process.env.POGLM_CHROMIUM ?? '/usr/bin/chromium';

export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--enable-unsafe-webgpu',
  '--use-webgpu-adapter=swiftshader',
  '--use-vulkan=swiftshader',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
] as const;

export interface BrowserHarness {
  /** The test page's address. */
  readonly url: string;
  readonly page: Page;
  /** The page's user agent, which names Chromium's version. */
  readonly version: string;
  /** Console errors, uncaught page errors and failed requests seen so far (also printed as they happen). */
  readonly errors: string[];
  /**
   * Runs `fn(arg)` in the page (where `window.poglm` is the library bundle) and returns its result, which must be
   * JSON-like: plain objects, arrays, numbers, strings. Typed arrays should be turned into arrays in the page.
   */
  run<R, A>(fn: (arg: A) => R | Promise<R>, arg: A): Promise<R>;
  /** Closes the page, Chromium, the server and the temporary profile; safe to call twice. */
  close(): Promise<void>;
}

export class ChromiumMissingError extends Error {
  constructor(path: string) {
    super(
      `Chromium was not found at ${path}, so the browser test cannot run. Run the setup: ` +
        '`apt-get install chromium` (Debian), or point POGLM_CHROMIUM at a Chromium executable. ' +
        'This test fails rather than skips, so that a missing browser never passes silently.',
    );
    this.name = 'ChromiumMissingError';
  }
}

/** Serves test/browser/page.html at / and the files of dist/browser/ by name; nothing else. */
function startServer(): Promise<{ server: Server; origin: string }> {
  const server = createServer((request, response) => {
    const path = decodeURIComponent(new URL(request.url ?? '/', 'http://127.0.0.1').pathname);
    let file: string | undefined;
    if (path === '/' || path === '/index.html' || path === '/page.html') file = pagePath;
    else if (path === '/favicon.ico') {
      response.writeHead(204).end();
      return;
    } else {
      const candidate = normalize(join(browserDist, path));
      if (candidate.startsWith(browserDist + sep)) file = candidate;
    }
    if (!file || !existsSync(file) || !statSync(file).isFile()) {
      response.writeHead(404, { 'content-type': 'text/plain' }).end(`not found: ${path}`);
      return;
    }
    response.writeHead(200, {
      'content-type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream',
      'cache-control': 'no-store',
    });
    response.end(readFileSync(file));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({ server, origin: `http://127.0.0.1:${port}` });
    });
  });
}

function stopServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}

/** Resolves to `promise`'s value, or rejects after `ms` naming `what`. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

export interface HarnessOptions {
  /** Milliseconds to wait for Chromium to start and the page to load the bundle. */
  startTimeoutMs?: number;
  /** The page's size in CSS pixels (Playwright's default: 1280 x 720). */
  viewport?: { width: number; height: number };
}

/** Debian's Chromium on a fresh profile, with the flags above, and what its page reports going wrong. */
export interface ChromiumPage {
  readonly page: Page;
  /** The page's user agent, which names Chromium's version. */
  readonly version: string;
  /** Console errors, uncaught page errors and failed requests seen so far (also printed as they happen). */
  readonly errors: string[];
  /** Closes Chromium and removes the temporary profile; safe to call twice. */
  close(): Promise<void>;
}

/**
 * Launches Chromium (never downloading one: a missing executable is a ChromiumMissingError) on about:blank, with the
 * page's console errors, uncaught errors, failed requests and crashes collected in `errors`. The live page's test
 * (test/live-page.test.ts) opens its own server's address in it; openBrowserHarness opens the test page.
 */
export async function launchChromium(options: HarnessOptions = {}): Promise<ChromiumPage> {
  if (!existsSync(chromiumPath)) throw new ChromiumMissingError(chromiumPath);
  const startTimeout = options.startTimeoutMs ?? 30_000;
  const errors: string[] = [];
  const report = (line: string) => {
    errors.push(line);
    console.error(`[browser] ${line}`);
  };
  const profile = mkdtempSync(join(tmpdir(), 'poglm-chromium-'));
  let context: BrowserContext | undefined;
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    if (context) await within(context.close(), 10_000, 'closing Chromium').catch((error) => console.error(`[browser] ${String(error)}`));
    rmSync(profile, { recursive: true, force: true, maxRetries: 3, retryDelay: 100 });
  };
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: chromiumPath,
      ignoreDefaultArgs: true,
      args: [...CHROMIUM_FLAGS, `--user-data-dir=${profile}`, '--remote-debugging-pipe', 'about:blank'],
      timeout: startTimeout,
      acceptDownloads: true,
      ...(options.viewport ? { viewport: options.viewport } : {}),
    });
    const page = context.pages()[0] ?? (await context.newPage());
    page.on('console', (message) => {
      const type = message.type();
      if (type === 'error') report(`console.error: ${message.text()}`);
      else if (type === 'warning') console.warn(`[browser] console.warn: ${message.text()}`);
    });
    page.on('pageerror', (error) => report(`uncaught in page: ${error.stack ?? error.message}`));
    page.on('requestfailed', (request) => report(`request failed: ${request.url()} (${request.failure()?.errorText ?? 'unknown'})`));
    page.on('crash', () => report('the page crashed'));
    // A persistent context has no Browser object to ask, so the version comes from the user agent.
    const version = await page.evaluate(() => navigator.userAgent);
    return { page, version, errors, close };
  } catch (error) {
    await close();
    throw error;
  }
}

export async function openBrowserHarness(options: HarnessOptions = {}): Promise<BrowserHarness> {
  if (!existsSync(bundlePath)) {
    throw new Error(`${bundlePath} is missing: build it with \`node scripts/embed-shaders.mjs && node scripts/build-browser.mjs\``);
  }
  const startTimeout = options.startTimeoutMs ?? 30_000;
  let server: Server | undefined;
  let browser: ChromiumPage | undefined;
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    // Each step on its own, so that one failure does not leave the others running.
    await browser?.close();
    if (server) await within(stopServer(server), 5_000, 'stopping the test server').catch((error) => console.error(`[browser] ${String(error)}`));
  };

  try {
    const started = await startServer();
    server = started.server;
    browser = await launchChromium(options);
    const { page, version, errors } = browser;
    const url = `${started.origin}/`;
    const response = await page.goto(url, { timeout: startTimeout });
    if (!response?.ok()) throw new Error(`loading ${url} answered ${response?.status()}`);
    // page.html sets window.poglmStatus to "ready" once the bundle is imported, or to the import error.
    const status = await page.waitForFunction(() => (window as unknown as { poglmStatus?: string }).poglmStatus, undefined, {
      timeout: startTimeout,
    });
    const loaded = String(await status.jsonValue());
    if (loaded !== 'ready') throw new Error(`the page could not load dist/browser/poglm-gpu.js: ${loaded}`);

    return {
      url,
      page,
      version,
      errors,
      run: (fn, arg) => page.evaluate(fn as never, arg) as never,
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}
