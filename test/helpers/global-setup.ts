// Before any test file: embed shaders/*.wgsl into src/shaders/sources.generated.ts, so that running vitest directly
// (not through `npm test`) can never test stale WGSL.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export default function setup(): void {
  execFileSync(process.execPath, [fileURLToPath(new URL('../../scripts/embed-shaders.mjs', import.meta.url))], { stdio: 'inherit' });
}
