/**
 * Perplexity and greedy generation of every model there is: the dense one, then the sparse run's
 * and the structured run's, each on a fresh runner with that run's weights in place.
 */
import { ModelRunner } from '../../model/forward';
import { perplexityOfTokens } from '../../model/perplexity';
import { applyPrunedWeights, generate } from '../../pipeline/generate';
import { kernelCounts } from '../../shared/generation';
import { applyStructured } from '../../pipeline/structured';
import { tokenizerOf } from '../loadedModel';
import type { DecodingSummary, EvaluationResult, GenerationResult, Variant } from '../types';
import { progress, type RunContext } from './context';
import { kernelReuse } from './kernelChoice';

/** Runs `body` on each variant in turn (dense first), with a runner holding its weights; pauses between variants. */
async function eachVariant<T>(ctx: RunContext, body: (runner: ModelRunner, variant: Variant, index: number, count: number) => Promise<T>): Promise<Map<Variant, T>> {
  const { model } = ctx.loaded;
  const { pruned, structured } = ctx.results;
  const variants: Variant[] = ['dense', ...(pruned ? (['sparse'] as const) : []), ...(structured ? (['structured'] as const) : [])];
  const out = new Map<Variant, T>();
  for (const [i, variant] of variants.entries()) {
    const runner = new ModelRunner(ctx.gpu, model.arch, model.weights);
    try {
      if (variant === 'sparse' && pruned) applyPrunedWeights(runner, model, pruned.model.weights);
      if (variant === 'structured' && structured) applyStructured(runner, model, structured.model);
      out.set(variant, await body(runner, variant, i, variants.length));
    } finally {
      runner.dispose();
    }
    await ctx.job.gate();
  }
  return out;
}

export async function evaluateVariants(ctx: RunContext, text: string | undefined, seqlen: number, maxTokens: number, defaultText: () => Promise<string>): Promise<EvaluationResult> {
  const tokenizer = tokenizerOf(ctx.loaded, 'evaluation needs to tokenize text');
  const ids = tokenizer.encode(text ?? (await defaultText()));
  const maxWindows = Math.max(1, Math.floor(maxTokens / seqlen));
  let windows = 0;
  const values = await eachVariant(ctx, async (runner, variant, i, count) => {
    const r = await perplexityOfTokens(runner, ids, {
      seqlen,
      maxWindows,
      control: ctx.job,
      onProgress: (done, total) => progress(ctx, { stage: 'evaluating', variant, layerIndex: i * total + done, layerCount: total * count }),
    });
    windows = r.windows;
    return r.perplexity;
  });
  return {
    dense: values.get('dense')!,
    pruned: values.get('sparse') ?? null,
    tokens: windows * seqlen,
    windows,
    seqlen,
    textSource: text === undefined ? 'default' : 'custom',
    prunedSettings: ctx.results.pruned?.settings ?? null,
    structured: values.get('structured') ?? null,
    structuredSettings: ctx.results.structured?.settings ?? null,
    finishedAt: Date.now(),
  };
}

export async function generateVariants(ctx: RunContext, prompt: string, tokens: number): Promise<GenerationResult> {
  const tokenizer = tokenizerOf(ctx.loaded, 'generation needs');
  const promptIds = tokenizer.encode(prompt);
  const eos = ctx.loaded.model.config.eosTokenId ?? undefined;
  const decoding: Partial<Record<Variant, DecodingSummary>> = {};
  const texts = await eachVariant(ctx, async (runner, variant) => {
    progress(ctx, { stage: 'generating', variant });
    // KV-cache decoding; the sparse run's model decodes with the sparse kernels (each linear's fastest
    // kernel on this adapter, timed first), the others with the dense ones. Greedy tokens are the same.
    const kernels = variant === 'sparse' ? 'sparse' : 'dense';
    const reuse = kernelReuse(ctx, kernels);
    const report = await generate(runner, promptIds, tokens, { control: ctx.job, eos, kernels, kernelChoice: reuse.kernelChoice });
    reuse.keep(report);
    decoding[variant] = { tokensPerSecond: report.tokensPerSecond, kernels, ...(kernels === 'sparse' ? { kernelCounts: kernelCounts(report.kernelChoice) } : {}) };
    const added = report.tokens;
    // Decoded with the prompt, so that the space before the first new word is kept (decoding alone drops a leading one).
    const head = tokenizer.decode(promptIds);
    const whole = tokenizer.decode([...promptIds, ...added]);
    return whole.startsWith(head) ? whole.slice(head.length) : tokenizer.decode(added);
  });
  return { prompt, tokens, dense: texts.get('dense')!, pruned: texts.get('sparse') ?? null, structured: texts.get('structured') ?? null, decoding, finishedAt: Date.now() };
}
