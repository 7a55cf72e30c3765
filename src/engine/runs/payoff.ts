/**
 * "What this sparsity buys here": the bytes of the run's exports, its parameters, and greedy decode
 * speed measured on this adapter — the pruned model with the dense kernels and with the sparse ones
 * (each linear on the kernel measured fastest for it), or for a structured run the original and
 * the smaller model with the dense kernels. Nothing is estimated: every number is measured or counted.
 */
import { ModelRunner } from '../../model/forward';
import { applyPrunedWeights, generate, type GenerationResult } from '../../pipeline/generate';
import { applyStructured } from '../../pipeline/structured';
import { kernelCounts } from '../../shared/generation';
import type { SparsityPayoff, SpeedComparison } from '../types';
import { progress, type RunContext } from './context';
import { runExportSizes } from './export';
import { kernelReuse } from './kernelChoice';

/** Prompt of the speed measurement: a short English start where there is a tokenizer. */
const PROMPT = 'Once upon a time';

function countParameters(ctx: RunContext, which: 'sparse' | 'structured'): SparsityPayoff['parameters'] {
  const { model } = ctx.loaded;
  let total = 0;
  for (const info of model.file.tensors.values()) total += info.shape.reduce((a, b) => a * b, 1);
  if (which === 'structured') {
    // The smaller model is dense: all its parameters count.
    const { before, after } = ctx.results.structured!.model.parameters;
    return { total: after, nonzero: after, before };
  }
  let zeros = 0;
  for (const w of ctx.results.pruned!.model.weights.values()) for (let i = 0; i < w.length; i++) if (w[i] === 0) zeros++;
  return { total, nonzero: total - zeros };
}

async function measureSpeed(ctx: RunContext, which: 'sparse' | 'structured', tokens: number): Promise<SpeedComparison> {
  const { model } = ctx.loaded;
  const encoded = model.tokenizer?.encode(PROMPT) ?? [];
  const ids = encoded.length > 0 ? encoded : [0];
  // Each generation on a fresh runner holding its variant's weights, as the Evaluate tab's other measurements.
  const on = async (variant: 'dense' | 'sparse' | 'structured', kernels: 'dense' | 'sparse'): Promise<GenerationResult> => {
    const runner = new ModelRunner(ctx.gpu, model.arch, model.weights);
    try {
      if (variant === 'sparse') applyPrunedWeights(runner, model, ctx.results.pruned!.model.weights);
      if (variant === 'structured') applyStructured(runner, model, ctx.results.structured!.model);
      progress(ctx, { stage: 'generating', variant });
      const reuse = kernelReuse(ctx, variant === 'sparse' ? kernels : 'dense');
      const report = await generate(runner, ids, tokens, { kernels, control: ctx.job, kernelChoice: reuse.kernelChoice });
      reuse.keep(report);
      return report;
    } finally {
      runner.dispose();
    }
  };
  const baseline = which === 'sparse' ? await on('sparse', 'dense') : await on('dense', 'dense');
  await ctx.job.gate();
  const candidate = which === 'sparse' ? await on('sparse', 'sparse') : await on('structured', 'dense');
  const kernels = kernelCounts(candidate.kernelChoice);
  const { vendor, architecture, description } = ctx.gpu.adapter;
  return {
    baseline: { label: which === 'sparse' ? 'pruned model, dense kernels' : 'original model', tokensPerSecond: baseline.tokensPerSecond },
    candidate: { label: which === 'sparse' ? 'pruned model, sparse kernels' : 'smaller model', tokensPerSecond: candidate.tokensPerSecond },
    tokens: candidate.tokens.length,
    sameTokens: baseline.tokens.length === candidate.tokens.length && baseline.tokens.every((t, i) => t === candidate.tokens[i]),
    timing: candidate.timing,
    kernels,
    adapter: [vendor, architecture, description].filter(Boolean).join(' ') || 'this adapter',
  };
}

export async function sparsityPayoff(ctx: RunContext, which: 'sparse' | 'structured', tokens: number): Promise<SparsityPayoff> {
  if (which === 'sparse' && !ctx.results.pruned) throw new Error('There is no pruned model yet: run "Prune the whole model" first.');
  if (which === 'structured' && !ctx.results.structured) throw new Error('There is no structured model yet: choose SPAP and run "Prune the whole model" first.');
  progress(ctx, { stage: 'exporting' });
  const sizes = await runExportSizes(ctx.loaded, ctx.results, which);
  await ctx.job.gate();
  const speed = tokens > 0 ? await measureSpeed(ctx, which, tokens) : null;
  return { which, ...sizes, parameters: countParameters(ctx, which), speed, finishedAt: Date.now() };
}
