/**
 * `npm run spap [-- --model ../shared/models/stories260K --text ../shared/data/tinystories-val.txt]`
 * Structured MLP-channel pruning at 20 % and 40 % with SPAP and the two baselines (weight norm,
 * activation-weighted norm; same refit): perplexity on held-out text, parameters, and the forward
 * time of the dense and the smaller model.
 */
import { readFileSync } from 'node:fs';
import { openNodeGpu } from '../src/gpu/node';
import type { Gpu } from '../src/gpu/runtime';
import { ModelRunner } from '../src/model/forward';
import type { OpenedModel } from '../src/model/loader';
import { openModelDir } from '../src/model/nodeFolder';
import { perplexityOfText } from '../src/model/perplexity';
import { calibrationWindows } from '../src/pipeline/calibration';
import { applyStructured, countParameters, pruneMlpChannels, type StructuredModel } from '../src/pipeline/structured';
import { CHANNEL_SELECTIONS } from '../src/shared/methods';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

const HOLDOUT = 60_000;

async function forwardMs(gpu: Gpu, runner: ModelRunner, tokens: Uint32Array, seqlen: number): Promise<number> {
  const windows = tokens.length / seqlen;
  await runner.windowsNll(tokens, windows, seqlen); // warm-up: pipelines, weights resident
  const t0 = performance.now();
  const repeats = 3;
  for (let i = 0; i < repeats; i++) await runner.windowsNll(tokens, windows, seqlen);
  await gpu.sync();
  return (performance.now() - t0) / repeats;
}

async function main(): Promise<void> {
  const model: OpenedModel = await openModelDir(arg('model', '../shared/models/stories260K'));
  const text = readFileSync(arg('text', '../shared/data/tinystories-val.txt'), 'utf8');
  const seqlen = Number(arg('seqlen', '256'));
  const nsamples = Number(arg('nsamples', '32'));
  const calib = text.slice(0, -HOLDOUT);
  const heldOut = text.slice(-HOLDOUT);
  const tokenizer = model.tokenizer!;
  const windows = calibrationWindows(tokenizer, calib, { nsamples, seqlen, seed: 0 });
  const timing = calibrationWindows(tokenizer, heldOut, { nsamples: 8, seqlen, seed: 1 });
  const gpu = await openNodeGpu();
  try {
    const dense = new ModelRunner(gpu, model.arch, model.weights);
    const densePpl = (await perplexityOfText(dense, tokenizer, heldOut, { seqlen })).perplexity;
    const denseMs = await forwardMs(gpu, dense, timing, seqlen);
    dense.dispose();
    console.log(`${model.name}: calibration ${nsamples}×${seqlen} tokens, perplexity on the last ${HOLDOUT / 1000} KB with ${seqlen}-token windows`);
    console.log('| MLP channels removed | selection | perplexity | parameters | forward ms (8×256 tokens) |');
    console.log('| --- | --- | --- | --- | --- |');
    console.log(`| 0 % | dense | ${densePpl.toFixed(3)} | ${countParameters(model)} | ${denseMs.toFixed(1)} |`);
    for (const fraction of [0.2, 0.4]) {
      for (const selection of CHANNEL_SELECTIONS) {
        const pruned: StructuredModel = await pruneMlpChannels(gpu, model, { selection, fraction, windows, seqlen });
        const runner = new ModelRunner(gpu, model.arch, model.weights);
        applyStructured(runner, model, pruned);
        const ppl = (await perplexityOfText(runner, tokenizer, heldOut, { seqlen })).perplexity;
        const ms = await forwardMs(gpu, runner, timing, seqlen);
        runner.dispose();
        console.log(`| ${fraction * 100} % | ${selection} | ${ppl.toFixed(3)} | ${pruned.parameters.after} | ${ms.toFixed(1)} |`);
      }
    }
  } finally {
    gpu.destroy();
  }
}

main().catch((error: unknown) => {
  console.error(`spap-eval: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
