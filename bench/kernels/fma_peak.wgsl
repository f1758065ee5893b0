// The adapter's arithmetic peak, measured: every thread runs `iterations` rounds of independent fused multiply-adds
// on vec4<f32> accumulators held in registers (acc = fma(acc, m, c), with m slightly below 1 so values stay bounded
// and never denormal), then writes one sum so the compiler cannot drop the work. One entry point per number of
// vec4 chains (1, 2, 4, 8, 16 = 4 to 64 independent scalar chains per thread): few chains leave FMA latency exposed,
// many spill registers; the benchmark runs each and reports the fastest. Flops per thread and iteration: 8 per vec4
// chain (4 lanes x 2). Enough workgroups are dispatched to keep every core (or SM) busy.
//#include "grid.wgsl"

struct Params {
  iterations: u32,
  threads: u32,
  multiplier: f32,
  addend: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> sink: array<f32>;

override workgroupSize: u32 = 64u;

@compute @workgroup_size(workgroupSize)
fn fmaChains1(@builtin(workgroup_id) group: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>,
                @builtin(local_invocation_index) lane: u32) {
  let index = linearWorkgroup(group, groups) * workgroupSize + lane;
  let start = f32(index % 1024u) * 1.0e-4;
  let m = vec4<f32>(params.multiplier);
  let c = vec4<f32>(params.addend);
  var a0 = vec4<f32>(start + 0.0, start + 1.0, start + 2.0, start + 3.0);
  for (var i = 0u; i < params.iterations; i++) {
    a0 = fma(a0, m, c);
  }
  let total = a0;
  if (index < params.threads) {
    sink[index] = total.x + total.y + total.z + total.w;
  }
}

@compute @workgroup_size(workgroupSize)
fn fmaChains2(@builtin(workgroup_id) group: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>,
                @builtin(local_invocation_index) lane: u32) {
  let index = linearWorkgroup(group, groups) * workgroupSize + lane;
  let start = f32(index % 1024u) * 1.0e-4;
  let m = vec4<f32>(params.multiplier);
  let c = vec4<f32>(params.addend);
  var a0 = vec4<f32>(start + 0.0, start + 1.0, start + 2.0, start + 3.0);
  var a1 = vec4<f32>(start + 4.0, start + 5.0, start + 6.0, start + 7.0);
  for (var i = 0u; i < params.iterations; i++) {
    a0 = fma(a0, m, c);
    a1 = fma(a1, m, c);
  }
  let total = a0 + a1;
  if (index < params.threads) {
    sink[index] = total.x + total.y + total.z + total.w;
  }
}

@compute @workgroup_size(workgroupSize)
fn fmaChains4(@builtin(workgroup_id) group: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>,
                @builtin(local_invocation_index) lane: u32) {
  let index = linearWorkgroup(group, groups) * workgroupSize + lane;
  let start = f32(index % 1024u) * 1.0e-4;
  let m = vec4<f32>(params.multiplier);
  let c = vec4<f32>(params.addend);
  var a0 = vec4<f32>(start + 0.0, start + 1.0, start + 2.0, start + 3.0);
  var a1 = vec4<f32>(start + 4.0, start + 5.0, start + 6.0, start + 7.0);
  var a2 = vec4<f32>(start + 8.0, start + 9.0, start + 10.0, start + 11.0);
  var a3 = vec4<f32>(start + 12.0, start + 13.0, start + 14.0, start + 15.0);
  for (var i = 0u; i < params.iterations; i++) {
    a0 = fma(a0, m, c);
    a1 = fma(a1, m, c);
    a2 = fma(a2, m, c);
    a3 = fma(a3, m, c);
  }
  let total = a0 + a1 + a2 + a3;
  if (index < params.threads) {
    sink[index] = total.x + total.y + total.z + total.w;
  }
}

@compute @workgroup_size(workgroupSize)
fn fmaChains8(@builtin(workgroup_id) group: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>,
                @builtin(local_invocation_index) lane: u32) {
  let index = linearWorkgroup(group, groups) * workgroupSize + lane;
  let start = f32(index % 1024u) * 1.0e-4;
  let m = vec4<f32>(params.multiplier);
  let c = vec4<f32>(params.addend);
  var a0 = vec4<f32>(start + 0.0, start + 1.0, start + 2.0, start + 3.0);
  var a1 = vec4<f32>(start + 4.0, start + 5.0, start + 6.0, start + 7.0);
  var a2 = vec4<f32>(start + 8.0, start + 9.0, start + 10.0, start + 11.0);
  var a3 = vec4<f32>(start + 12.0, start + 13.0, start + 14.0, start + 15.0);
  var a4 = vec4<f32>(start + 16.0, start + 17.0, start + 18.0, start + 19.0);
  var a5 = vec4<f32>(start + 20.0, start + 21.0, start + 22.0, start + 23.0);
  var a6 = vec4<f32>(start + 24.0, start + 25.0, start + 26.0, start + 27.0);
  var a7 = vec4<f32>(start + 28.0, start + 29.0, start + 30.0, start + 31.0);
  for (var i = 0u; i < params.iterations; i++) {
    a0 = fma(a0, m, c);
    a1 = fma(a1, m, c);
    a2 = fma(a2, m, c);
    a3 = fma(a3, m, c);
    a4 = fma(a4, m, c);
    a5 = fma(a5, m, c);
    a6 = fma(a6, m, c);
    a7 = fma(a7, m, c);
  }
  let total = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7;
  if (index < params.threads) {
    sink[index] = total.x + total.y + total.z + total.w;
  }
}

@compute @workgroup_size(workgroupSize)
fn fmaChains16(@builtin(workgroup_id) group: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>,
                @builtin(local_invocation_index) lane: u32) {
  let index = linearWorkgroup(group, groups) * workgroupSize + lane;
  let start = f32(index % 1024u) * 1.0e-4;
  let m = vec4<f32>(params.multiplier);
  let c = vec4<f32>(params.addend);
  var a0 = vec4<f32>(start + 0.0, start + 1.0, start + 2.0, start + 3.0);
  var a1 = vec4<f32>(start + 4.0, start + 5.0, start + 6.0, start + 7.0);
  var a2 = vec4<f32>(start + 8.0, start + 9.0, start + 10.0, start + 11.0);
  var a3 = vec4<f32>(start + 12.0, start + 13.0, start + 14.0, start + 15.0);
  var a4 = vec4<f32>(start + 16.0, start + 17.0, start + 18.0, start + 19.0);
  var a5 = vec4<f32>(start + 20.0, start + 21.0, start + 22.0, start + 23.0);
  var a6 = vec4<f32>(start + 24.0, start + 25.0, start + 26.0, start + 27.0);
  var a7 = vec4<f32>(start + 28.0, start + 29.0, start + 30.0, start + 31.0);
  var a8 = vec4<f32>(start + 32.0, start + 33.0, start + 34.0, start + 35.0);
  var a9 = vec4<f32>(start + 36.0, start + 37.0, start + 38.0, start + 39.0);
  var a10 = vec4<f32>(start + 40.0, start + 41.0, start + 42.0, start + 43.0);
  var a11 = vec4<f32>(start + 44.0, start + 45.0, start + 46.0, start + 47.0);
  var a12 = vec4<f32>(start + 48.0, start + 49.0, start + 50.0, start + 51.0);
  var a13 = vec4<f32>(start + 52.0, start + 53.0, start + 54.0, start + 55.0);
  var a14 = vec4<f32>(start + 56.0, start + 57.0, start + 58.0, start + 59.0);
  var a15 = vec4<f32>(start + 60.0, start + 61.0, start + 62.0, start + 63.0);
  for (var i = 0u; i < params.iterations; i++) {
    a0 = fma(a0, m, c);
    a1 = fma(a1, m, c);
    a2 = fma(a2, m, c);
    a3 = fma(a3, m, c);
    a4 = fma(a4, m, c);
    a5 = fma(a5, m, c);
    a6 = fma(a6, m, c);
    a7 = fma(a7, m, c);
    a8 = fma(a8, m, c);
    a9 = fma(a9, m, c);
    a10 = fma(a10, m, c);
    a11 = fma(a11, m, c);
    a12 = fma(a12, m, c);
    a13 = fma(a13, m, c);
    a14 = fma(a14, m, c);
    a15 = fma(a15, m, c);
  }
  let total = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11 + a12 + a13 + a14 + a15;
  if (index < params.threads) {
    sink[index] = total.x + total.y + total.z + total.w;
  }
}
