/**
 * `npm run spap [-- --only stories260K,bundled,smollm --fractions 0.2,0.3,0.4 --seqlen 256 --nsamples 32
 *    --holdout 60000 --timing-windows 8 --repeats 3 --sets mlp,mlp+heads --splits 0.29:1 --smollm-seqlen 64]`
 * Structured pruning at 20 %, 30 % and 40 % of the blocks' linear parameters, MLP channels only and
 * MLP channels + attention key/value groups (the split by measured cost, src/pipeline/structuredBudget.ts),
 * with SPAP and the two baselines (weight norm, activation-weighted norm; same refit): parameters,
 * forward tokens/s of the smaller model against the dense one (same process, passes alternating), and
 * perplexity on held-out text.
 *   stories260K  ../shared/models/stories260K, TinyStories validation text (last 60 KB held out)
 *   bundled      public/default-model, its calibration.txt and evaluation.txt
 *   smollm       a SmolLM-135M-shaped random-init checkpoint (F32, scripts/bench-model.ts's writer)
 *                in a temporary folder, random token ids: its perplexity means nothing and its timing
 *                depends only on the shapes, so only the weight-norm selection is run there.
 * `--splits f:g,…` adds rows with the split given instead of planned (as `prune --mlp f --heads g/G`):
 * a fraction f of the MLP channels and g key/value groups removed in every block.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openNodeGpu } from '../src/gpu/node';
import type { Gpu } from '../src/gpu/runtime';
import { ModelRunner } from '../src/model/forward';
import type { OpenedModel } from '../src/model/loader';
import { openModelDir } from '../src/model/nodeFolder';
import { perplexityOfText, perplexityOfTokens } from '../src/model/perplexity';
import { calibrationWindows, seededRandom } from '../src/pipeline/calibration';
import { applyStructured, countParameters, pruneMlpChannels } from '../src/pipeline/structured';
import { planStructures, type Structure } from '../src/pipeline/structuredBudget';
import { CHANNEL_SELECTIONS, type ChannelSelection } from '../src/shared/methods';
import { writeCheckpoint } from './bench-model';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

/** Held-out characters at the end of the TinyStories text (perplexity and timing); the rest calibrates. */
const HOLDOUT = Number(arg('holdout', '60000'));
/** Baselines only where the comparison is asked for (20 % and 40 %); SPAP alone in between. */
const BASELINE_FRACTIONS = [0.2, 0.4];

interface Case {
  name: string;
  model: OpenedModel;
  windows: Uint32Array;
  seqlen: number;
  /** Tokens of the timing batch (whole windows of `seqlen`). */
  timing: Uint32Array;
  perplexity: (runner: ModelRunner) => Promise<number>;
  selections: readonly ChannelSelection[];
  cleanup?: () => void;
}

/** Mean wall time of a forward pass (embedding, blocks, head NLL) over the timing batch, after a warm-up. */
async function tokensPerSecond(gpu: Gpu, runner: ModelRunner, tokens: Uint32Array, seqlen: number, repeats: number): Promise<number> {
  const windows = tokens.length / seqlen;
  await runner.windowsNll(tokens, windows, seqlen); // warm-up: pipelines, weights resident
  const t0 = performance.now();
  for (let i = 0; i < repeats; i++) await runner.windowsNll(tokens, windows, seqlen);
  await gpu.sync();
  return (tokens.length * repeats) / ((performance.now() - t0) / 1000);
}

function blockParameters(model: OpenedModel): number {
  return model.arch.blocks.reduce((a, b) => a + b.linears.reduce((x, l) => x + l.out * l.in + (l.bias ? l.out : 0), 0), 0);
}

async function textCase(name: string, dir: string, calib: string, heldOut: string, seqlen: number, nsamples: number): Promise<Case> {
  const model = await openModelDir(dir);
  const tokenizer = model.tokenizer!;
  return {
    name,
    model,
    seqlen,
    windows: calibrationWindows(tokenizer, calib, { nsamples, seqlen, seed: 0 }),
    timing: calibrationWindows(tokenizer, heldOut, { nsamples: Number(arg('timing-windows', '8')), seqlen, seed: 1 }),
    perplexity: async (runner) => (await perplexityOfText(runner, tokenizer, heldOut, { seqlen })).perplexity,
    selections: CHANNEL_SELECTIONS,
  };
}

async function smollmCase(): Promise<Case> {
  const dir = mkdtempSync(join(tmpdir(), 'spap-smollm-'));
  writeCheckpoint(dir, 'smollm-135m', 30, 'f32', 0);
  const model = await openModelDir(dir);
  const random = seededRandom(3);
  const ids = (n: number) => Uint32Array.from({ length: n }, () => Math.floor(random() * model.config.vocab) % model.config.vocab);
  const seqlen = Number(arg('smollm-seqlen', '64'));
  const evalIds = ids(2 * seqlen);
  return {
    name: 'SmolLM-135M shape (random init)',
    model,
    seqlen,
    windows: ids(2 * seqlen),
    // One window: a pass of the dense model takes tens of seconds on SwiftShader.
    timing: ids(seqlen),
    perplexity: async (runner) => (await perplexityOfTokens(runner, evalIds, { seqlen })).perplexity,
    selections: ['weight-norm'],
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * Tokens/s of the dense and the smaller model measured in alternation (dense, smaller, dense, …), so
 * that a load that changes during the run slows both alike and the ratio stays fair.
 */
async function pairedTokensPerSecond(gpu: Gpu, dense: ModelRunner, smaller: ModelRunner, tokens: Uint32Array, seqlen: number, repeats: number): Promise<{ dense: number; smaller: number }> {
  const windows = tokens.length / seqlen;
  const pass = async (runner: ModelRunner) => {
    const t0 = performance.now();
    await runner.windowsNll(tokens, windows, seqlen);
    await gpu.sync();
    return performance.now() - t0;
  };
  await pass(smaller); // warm-up: pipelines, weights resident
  let denseMs = 0;
  let smallerMs = 0;
  for (let i = 0; i < repeats; i++) {
    denseMs += await pass(dense);
    smallerMs += await pass(smaller);
  }
  return { dense: (tokens.length * repeats) / (denseMs / 1000), smaller: (tokens.length * repeats) / (smallerMs / 1000) };
}

async function run(gpu: Gpu, c: Case, fractions: number[]): Promise<void> {
  const { model } = c;
  const repeats = Number(arg('repeats', c.name.startsWith('SmolLM') ? '2' : '3'));
  const dense = new ModelRunner(gpu, model.arch, model.weights);
  const densePpl = await c.perplexity(dense);
  const denseTps = await tokensPerSecond(gpu, dense, c.timing, c.seqlen, repeats);
  const cfg = model.config;
  console.log(`\n${c.name}: ${cfg.layers} blocks, hidden ${cfg.hidden}, ${cfg.heads} heads / ${cfg.kvHeads} key/value groups of head_dim ${cfg.headDim}, MLP ${cfg.intermediate}; calibration ${c.windows.length / c.seqlen}×${c.seqlen} tokens; timing ${c.timing.length} tokens, ${repeats} passes`);
  console.log(`block parameters ${blockParameters(model)} of ${countParameters(model)}`);
  /** The smaller model of one cut: its parameters, perplexity, and tokens/s against the dense model's. */
  const measureCut = async (selection: ChannelSelection, fraction: number, heads: number) => {
    const pruned = await pruneMlpChannels(gpu, model, { selection, fraction, heads, windows: c.windows, seqlen: c.seqlen });
    const runner = new ModelRunner(gpu, model.arch, model.weights);
    try {
      applyStructured(runner, model, pruned);
      return { pruned, ppl: await c.perplexity(runner), tps: await pairedTokensPerSecond(gpu, dense, runner, c.timing, c.seqlen, repeats) };
    } finally {
      runner.dispose();
    }
  };
  console.log('| block params removed | structures | per block removed | selection | parameters | tokens/s | × dense | perplexity |');
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
  console.log(`| 0 % | dense | — | — | ${countParameters(model)} | ${denseTps.toFixed(1)} | 1.00 | ${densePpl.toFixed(3)} |`);
  for (const sparsity of fractions) {
    for (const structures of arg('sets', 'mlp,mlp+heads').split(',').map((x) => x.split('+') as Structure[])) {
      const plan = await planStructures(gpu, model, { sparsity, structures, windows: c.windows, seqlen: c.seqlen });
      const split = `${plan.channelsRemoved}/${cfg.intermediate} ch, ${plan.groupsRemoved}/${cfg.kvHeads} kv`;
      for (const selection of BASELINE_FRACTIONS.includes(sparsity) ? c.selections : c.selections.slice(0, 1)) {
        const { pruned, ppl, tps } = await measureCut(selection, plan.fraction, plan.heads);
        console.log(`| ${(sparsity * 100).toFixed(0)} % (${((plan.blockRemoved / (blockParameters(model) / cfg.layers)) * 100).toFixed(1)} %) | ${structures.join('+')} | ${split} | ${selection} | ${pruned.parameters.after} | ${tps.smaller.toFixed(1)} | ${(tps.smaller / tps.dense).toFixed(2)} | ${ppl.toFixed(3)} |`);
      }
    }
  }
  for (const split of arg('splits', '').split(',').filter(Boolean)) {
    const [fraction, groups] = split.split(':').map(Number);
    const selection = c.selections[0];
    const { pruned, ppl, tps } = await measureCut(selection, fraction, groups / cfg.kvHeads);
    const removed = 1 - (pruned.parameters.after - (countParameters(model) - blockParameters(model))) / blockParameters(model);
    console.log(`| ${(removed * 100).toFixed(1)} % (given) | mlp+heads | ${(fraction * 100).toFixed(1)} % ch, ${groups}/${cfg.kvHeads} kv | ${selection} | ${pruned.parameters.after} | ${tps.smaller.toFixed(1)} | ${(tps.smaller / tps.dense).toFixed(2)} | ${ppl.toFixed(3)} |`);
  }
  dense.dispose();
}

async function main(): Promise<void> {
  const only = arg('only', 'stories260K,bundled,smollm').split(',');
  const fractions = arg('fractions', '0.2,0.3,0.4').split(',').map(Number);
  const seqlen = Number(arg('seqlen', '256'));
  const nsamples = Number(arg('nsamples', '32'));
  const gpu = await openNodeGpu();
  try {
    for (const name of only) {
      let c: Case;
      if (name === 'stories260K') {
        const text = readFileSync(arg('text', '../shared/data/tinystories-val.txt'), 'utf8');
        c = await textCase(`stories260K (perplexity on the last ${HOLDOUT / 1000} KB)`, arg('model', '../shared/models/stories260K'), text.slice(0, -HOLDOUT), text.slice(-HOLDOUT), seqlen, nsamples);
      } else if (name === 'bundled') {
        const dir = 'public/default-model';
        c = await textCase('bundled model', dir, readFileSync(join(dir, 'calibration.txt'), 'utf8'), readFileSync(join(dir, 'evaluation.txt'), 'utf8'), 128, nsamples);
      } else if (name === 'smollm') {
        c = await smollmCase();
      } else {
        throw new Error(`--only takes stories260K, bundled, smollm; got "${name}".`);
      }
      try {
        await run(gpu, c, fractions);
      } finally {
        await c.model.close();
        c.cleanup?.();
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
