// Exits 0 and prints the adapter when Node can get a WebGPU adapter through Dawn (npm `webgpu`), 1 otherwise.
// Used by scripts/setup.sh to decide whether a Vulkan driver must be installed.
let gpu;
try {
  const { create } = await import('webgpu');
  gpu = create([]);
} catch (error) {
  console.error(`check-gpu: the webgpu package did not load: ${error.message}`);
  process.exit(1);
}
const adapter = await gpu.requestAdapter();
if (!adapter) {
  console.error('check-gpu: no WebGPU adapter');
  process.exit(1);
}
const info = adapter.info ?? {};
const device = await adapter.requestDevice();
console.log(`check-gpu: WebGPU adapter: ${[info.vendor, info.architecture].filter(Boolean).join(' ')} (${info.description || info.device || 'no description'})`);
device.destroy();
// `gpu` stays referenced until here: Dawn frees its instance when the object is collected.
gpu = undefined;
process.exit(0);
