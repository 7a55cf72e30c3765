/**
 * `node bin/run-ts.mjs scripts/eval-stories.ts [--model DIR] [--text FILE] [--seqlen 512] [--windows N] [--batch W]`
 *
 * Dense perplexity of a Hugging Face model folder on a text file, exactly as the studio computes
 * it (whole text tokenized once, consecutive non-overlapping windows, last partial one dropped,
 * exp of the mean NLL over every predicted token). Defaults: stories260K on TinyStories
 * validation text from ../shared. Prints progress, the result, and the time taken.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { openNodeGpu } from '../src/gpu/node';
import { ModelRunner } from '../src/model/forward';
import { openModelDir } from '../src/model/nodeFolder';
import { perplexityOfTokens } from '../src/model/perplexity';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

const shared = resolve(import.meta.dirname ?? '.', '../../shared');
const modelDir = resolve(arg('model', `${shared}/models/stories260K`));
const textPath = resolve(arg('text', `${shared}/data/tinystories-val.txt`));
const seqlen = Number(arg('seqlen', '512'));
const maxWindows = Number(arg('windows', 'Infinity'));
const batch = arg('batch', '');

if (!existsSync(modelDir) || !existsSync(textPath)) {
  console.error(`Missing ${existsSync(modelDir) ? textPath : modelDir} (the shared models and data live in ../shared).`);
  process.exit(1);
}

const model = await openModelDir(modelDir);
if (!model.tokenizer) throw new Error(`${modelDir} has no tokenizer.json`);
const gpu = await openNodeGpu();
try {
  const started = performance.now();
  const ids = model.tokenizer.encode(readFileSync(textPath, 'utf8'));
  const tokenized = performance.now();
  console.log(`${model.name} (${model.config.modelType}, ${model.config.layers} layers) on ${textPath}: ${ids.length} tokens in ${((tokenized - started) / 1000).toFixed(1)} s`);
  const runner = new ModelRunner(gpu, model.arch, model.weights);
  let lastPrint = 0;
  const result = await perplexityOfTokens(runner, ids, {
    seqlen,
    maxWindows,
    windowsPerBatch: batch ? Number(batch) : undefined,
    onProgress: (done, total, ppl) => {
      const now = performance.now();
      if (now - lastPrint > 5000 || done === total) {
        lastPrint = now;
        console.log(`  ${done}/${total} windows, running perplexity ${ppl.toFixed(4)}, ${((now - tokenized) / 1000).toFixed(0)} s`);
      }
    },
  });
  const seconds = (performance.now() - tokenized) / 1000;
  console.log(
    `perplexity ${result.perplexity.toFixed(4)} (mean NLL ${result.nll.toFixed(5)}) over ${result.windows} windows of ${seqlen} ` +
      `(${result.predicted} predicted tokens of ${result.textTokens}); forward ${seconds.toFixed(1)} s on ${gpu.adapter.architecture || gpu.adapter.description || 'GPU'}`,
  );
  runner.dispose();
} finally {
  await model.close();
  gpu.destroy();
}
