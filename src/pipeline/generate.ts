/**
 * Greedy continuation of a prompt. `generate` decodes incrementally with a KV cache (src/model/decode.ts)
 * and, with `kernels: 'sparse'`, runs each linear's decode products through the kernel measured
 * fastest for it (src/model/decodeLinears.ts); `generateGreedy` is the reference it must match: every
 * step re-runs the whole sequence.
 */
import { Decoder } from '../model/decode';
import { DecodeLinears, releaseDecodeLinears } from '../model/decodeLinears';
import type { ModelRunner } from '../model/forward';
import type { OpenedModel } from '../model/loader';
import { checkpoint, type RunControl } from '../shared/control';
import type { DecodeKernel, GenerationReport, KernelMode } from '../shared/generation';

export type { DecodeKernel, GenerationReport, GenerationReport as GenerationResult, KernelMode } from '../shared/generation';

export interface GenerateOptions {
  /** Pause and cancel, checked before each token. */
  control?: RunControl;
  /** Stop after this token (e.g. the tokenizer's EOS). */
  eos?: number;
}

function argmax(v: Float32Array): number {
  let best = 0;
  for (let i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
  return best;
}

/**
 * Appends `count` tokens, each the argmax of the next-token logits. There is no KV cache: every step
 * runs the whole sequence (the reference for `generate`, and the path of families it cannot decode).
 */
export async function generateGreedy(runner: ModelRunner, ids: readonly number[], count: number, o: GenerateOptions = {}): Promise<number[]> {
  const vocab = runner.config.vocab;
  const limit = runner.maxSeqlen();
  const out = ids.slice();
  for (let step = 0; step < count && out.length < limit; step++) {
    await checkpoint(o.control);
    const logits = await runner.forwardLogits(out, 1, out.length);
    out.push(argmax(logits.subarray((out.length - 1) * vocab, out.length * vocab)));
    if (out[out.length - 1] === o.eos) break;
  }
  return out.slice(ids.length);
}

/** Wall time of the head on one row (final norm, lm_head, the logits read back): the least of 3. */
async function headTime(runner: ModelRunner): Promise<number> {
  const x = runner.gpu.zeros([1, runner.config.hidden]);
  try {
    const h = { x, windows: 1, seqlen: 1, rows: 1 };
    await runner.logits(h);
    let best = Infinity;
    for (let r = 0; r < 3; r++) {
      const t0 = performance.now();
      await runner.logits(h);
      best = Math.min(best, performance.now() - t0);
    }
    return best;
  } finally {
    x.dispose();
  }
}

export interface GenerationOptions extends GenerateOptions {
  /** Decode products through the dense kernels, or through the kernel measured fastest per linear. Default dense. */
  kernels?: KernelMode;
  /** Sparse mode: the kernels allowed in each linear's race (tests and benchmarks force one); default all. */
  candidates?: readonly DecodeKernel[];
  /**
   * Keep the measured choices and sparse forms on the runner for later calls (benchmarks repeat
   * runs); free them with releaseGeneration. Default: freed when this call returns.
   */
  keepKernels?: boolean;
  /**
   * Sparse mode: the kernel of each linear from an earlier race on these weights and this adapter (a
   * report's kernelChoice). Only that kernel's form is built and timed once, instead of every
   * candidate's (the race costs minutes at 135M on a CPU rasteriser); linears it does not name race.
   */
  kernelChoice?: Readonly<Record<string, DecodeKernel>>;
}

/**
 * Greedy continuation with a KV cache: the prompt in one pass, then one token per step. Reports
 * tokens/s of the steps after the prompt, the time per kind of linear (see GenerationReport) and
 * the kernel each linear used. Tokens equal `generateGreedy`'s up to the float summation order.
 */
export async function generate(runner: ModelRunner, ids: readonly number[], count: number, o: GenerationOptions = {}): Promise<GenerationReport> {
  if (ids.length < 1) throw new Error('generate: the prompt has no tokens.');
  const mode = o.kernels ?? 'dense';
  const capacity = Math.min(ids.length + count, runner.maxSeqlen());
  const steps = Math.max(0, capacity - ids.length);
  const linears = new DecodeLinears(runner, mode, mode === 'sparse' ? o.candidates : ['dense'], undefined, mode === 'sparse' ? o.kernelChoice : undefined);
  const decoder = new Decoder(runner, capacity, mode === 'sparse' ? linears.product : undefined);
  const tokens: number[] = [];
  let prefillMs = 0;
  let decodeMs = 0;
  const headMs = await headTime(runner);
  try {
    for (let l = 0; l < runner.config.layers; l++) {
      await checkpoint(o.control);
      await linears.prepare(l);
    }
    let next = ids.slice();
    for (let step = 0; step < steps; step++) {
      await checkpoint(o.control);
      const t0 = performance.now();
      const token = argmax(await decoder.step(next));
      const ms = performance.now() - t0;
      if (step === 0) prefillMs = ms;
      else decodeMs += ms;
      tokens.push(token);
      if (token === o.eos) break;
      next = [token];
    }
  } finally {
    decoder.dispose();
    if (!o.keepKernels) releaseDecodeLinears(runner);
  }
  const decoded = tokens.length - 1;
  const perToken = decoded > 0 ? decodeMs / decoded : prefillMs;
  const msPerLayerType = linears.msPerRole();
  const linearMs = Object.values(msPerLayerType).reduce((a, b) => a + b, 0);
  msPerLayerType.head = headMs;
  msPerLayerType.other = Math.max(0, perToken - linearMs - headMs);
  return {
    tokens,
    tokensPerSecond: decoded > 0 ? decoded / (decodeMs / 1000) : tokens.length / (prefillMs / 1000),
    prefillMs,
    decodeMs,
    msPerLayerType,
    timing: linears.timing,
    candidateMs: linears.candidateMs(),
    kernelChoice: linears.choices(),
  };
}

/** Frees the sparse forms `generate` built and cached for a runner (call before disposing it). */
export function releaseGeneration(runner: ModelRunner): void {
  releaseDecodeLinears(runner);
}

/** Installs pruned weights (by checkpoint tensor name) into a runner. */
export function applyPrunedWeights(runner: ModelRunner, model: OpenedModel, weights: ReadonlyMap<string, Float32Array>): void {
  for (const block of model.arch.blocks) {
    for (const spec of block.linears) {
      const w = weights.get(spec.weight);
      if (w) runner.setLinear(block.index, spec.name, w);
    }
  }
}
