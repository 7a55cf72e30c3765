/** Greedy continuation of a prompt, used to compare the dense and the pruned model side by side. */
import type { ModelRunner } from '../model/forward';
import type { OpenedModel } from '../model/loader';
import { checkpoint, type RunControl } from '../shared/control';

export interface GenerateOptions {
  /** Pause and cancel, checked before each token. */
  control?: RunControl;
  /** Stop after this token (e.g. the tokenizer's EOS). */
  eos?: number;
}

/**
 * Appends `count` tokens, each the argmax of the next-token logits. There is no KV cache: every step
 * runs the whole sequence, which is fine for the short demos the studio shows (tens of tokens).
 */
export async function generateGreedy(runner: ModelRunner, ids: readonly number[], count: number, o: GenerateOptions = {}): Promise<number[]> {
  const vocab = runner.config.vocab;
  const limit = runner.maxSeqlen();
  const out = ids.slice();
  for (let step = 0; step < count && out.length < limit; step++) {
    await checkpoint(o.control);
    const logits = await runner.forwardLogits(out, 1, out.length);
    const last = logits.subarray((out.length - 1) * vocab, out.length * vocab);
    let best = 0;
    for (let v = 1; v < vocab; v++) if (last[v] > last[best]) best = v;
    out.push(best);
    if (best === o.eos) break;
  }
  return out.slice(ids.length);
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
