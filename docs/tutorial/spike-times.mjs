// Turns the visible counts of a `poglm synth` file into the kind of file a lab keeps: one row per spike, the unit and
// its time in seconds, each spike at a random time inside its bin (seeded, so the tutorial's numbers repeat).
//   node docs/tutorial/spike-times.mjs truth.json 0.01 spikes.csv
import { readFileSync, writeFileSync } from 'node:fs';

const [input, binWidthText, output] = process.argv.slice(2);
const binWidth = Number(binWidthText);
const dataset = JSON.parse(readFileSync(input, 'utf8'));
// Train and test sequences one after another, as one recording.
const sequences = [...dataset.train.visible, ...dataset.test.visible];
let state = 12345;
const uniform = () => ((state = (Math.imul(state, 1103515245) + 12345) >>> 0) / 2 ** 32);
const rows = ['unit,time'];
let bin = 0;
for (const sequence of sequences) {
  for (const counts of sequence) {
    counts.forEach((count, unit) => {
      for (let k = 0; k < count; k++) rows.push(`${unit},${((bin + uniform()) * binWidth).toFixed(6)}`);
    });
    bin++;
  }
}
writeFileSync(output, `${rows.join('\n')}\n`);
console.log(`wrote ${output}: ${rows.length - 1} spikes of ${sequences[0][0].length} units over ${(bin * binWidth).toFixed(2)} s`);
