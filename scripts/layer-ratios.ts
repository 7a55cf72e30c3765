/**
 * `npm run ratios [-- --model ../shared/models/stories260K --text ../shared/data/tinystories-val.txt]`
 * Prunes every linear layer of a model with every method at 70 % unstructured and at 2:4 and prints
 * each layer's relative error and the geometric-mean ratios that docs/algorithms.md quotes.
 */
import { readFileSync } from 'node:fs';
import { layerRatios } from '../src/bench/layerRatios';
import { openNodeGpu } from '../src/gpu/node';
import { openModelDir } from '../src/model/nodeFolder';
import type { Method } from '../src/shared/methods';
import type { Pattern } from '../src/shared/pattern';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

const methods: Method[] = ['alps', 'sparsegpt', 'wanda', 'magnitude'];
const patterns: [string, Pattern][] = [
  ['70% unstructured', { kind: 'unstructured', sparsity: 0.7 }],
  ['2:4', { kind: 'nm', n: 2, m: 4 }],
];

async function main(): Promise<void> {
  const model = await openModelDir(arg('model', '../shared/models/stories260K'));
  const text = readFileSync(arg('text', '../shared/data/tinystories-val.txt'), 'utf8');
  const nsamples = Number(arg('nsamples', '64'));
  const seqlen = Number(arg('seqlen', '256'));
  const gpu = await openNodeGpu();
  try {
    for (const [label, pattern] of patterns) {
      console.log(`\n${label} — ${model.name}, ${nsamples} windows × ${seqlen} tokens`);
      console.log(['layer'.padEnd(40), 'shape'.padEnd(9), ...methods.map((m) => m.padStart(11))].join(' '));
      const report = await layerRatios(gpu, model, text, pattern, {
        nsamples,
        seqlen,
        seed: 0,
        methods,
        onRow: (r) => console.log([r.layer.padEnd(40), `${r.shape[0]}×${r.shape[1]}`.padEnd(9), ...methods.map((m) => r.errors[m].toExponential(3).padStart(11))].join(' ')),
      });
      console.log(`geomean ALPS/SparseGPT = ${report.geomeanRatio('alps', 'sparsegpt').toFixed(3)}`);
      console.log(`geomean ALPS/Wanda     = ${report.geomeanRatio('alps', 'wanda').toFixed(3)}`);
      console.log(`geomean SparseGPT/Wanda = ${report.geomeanRatio('sparsegpt', 'wanda').toFixed(3)}`);
      console.log(`geomean SparseGPT/magnitude = ${report.geomeanRatio('sparsegpt', 'magnitude').toFixed(3)}`);
    }
  } finally {
    gpu.destroy();
  }
}

main().catch((error: unknown) => {
  console.error(`layer-ratios: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
