/** What a generation reports: the tokens, their speed, and which kernel each linear used. */

/** Kernels for the decode products: the dense fallback, N:M, or an unstructured form. */
export type DecodeKernel = 'dense' | 'nm' | 'bitmask' | 'csr';
export type KernelMode = 'dense' | 'sparse';

export interface GenerationReport {
  /** The new token ids (the prompt excluded). */
  tokens: number[];
  /** New tokens per second of decoding after the prompt (the prompt's pass is `prefillMs`). */
  tokensPerSecond: number;
  prefillMs: number;
  decodeMs: number;
  /**
   * Per token, the time of each kind of linear summed over the blocks (role: q, k, v, o, gate, up,
   * down, …, each timed alone at its decode shape with the kernel chosen for it), `head` (final
   * norm, lm_head and the logits read back, wall clock) and `other`: the rest of a decode step
   * (attention, norms, embedding, submits) by wall clock.
   */
  msPerLayerType: Record<string, number>;
  /** How the per-linear times were taken: GPU timestamp queries, or wall time of separate submits. */
  timing: 'gpu-timestamps' | 'wall-clock';
  /** Per layer type and candidate kernel, the time of one decode product summed over the blocks (the race behind kernelChoice, linears newly measured in this call). */
  candidateMs: Record<string, Partial<Record<DecodeKernel, number>>>;
  /** Per linear, `<block>.<linear>`: the kernel its decode products used. */
  kernelChoice: Record<string, DecodeKernel>;
}

/** How many linears each kernel served, e.g. { dense: 20, nm: 5, csr: 3 }. */
export function kernelCounts(choice: Readonly<Record<string, DecodeKernel>>): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const k of Object.values(choice)) counts[k] = (counts[k] ?? 0) + 1;
  return counts;
}
