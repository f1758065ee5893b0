// The visible spike counts of a job's dataset, two 16-bit counts to a 32-bit word and each row starting on a word
// (src/engine/dataset.ts packCounts): half the memory and bandwidth of f32 counts. The same buffer as `dataset`,
// bound a second time as words (read-only bindings may alias).
//#include "stage.wgsl"

@group(0) @binding(5) var<storage, read> countWords: array<u32>;

// Words of one row's counts (twin of countWordsPerRow in src/engine/dataset.ts).
fn countRowWords() -> u32 {
  return (binCount * visibleCount + 1u) / 2u;
}

// The count of visible neuron v at bin `time` of dataset row `row`, the counts region starting at word `offset`.
fn spikeCount(offset: u32, row: u32, time: u32, v: u32) -> f32 {
  let index = time * visibleCount + v;
  let word = countWords[offset + row * countRowWords() + index / 2u];
  return f32((word >> (16u * (index % 2u))) & 0xFFFFu);
}
