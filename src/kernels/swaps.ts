import file from '../../shaders/swaps.wgsl?raw';
import { defineKernel, wgslConsts, wgslSections } from '../gpu/kernel';
import type { Binding, Gpu } from '../gpu/runtime';

/** Wrappers of shaders/swaps.wgsl (swap moves of local search); matrices are row-major [m, n]. */
export interface SwapShape {
  m: number;
  n: number;
}

/** moveIndex entries of a row without an improving move. */
export const NO_MOVE = 0xffffffff;
/** Kept and pruned candidates per row of the unstructured variant (K × K pairs are scored). */
export const SWAP_CANDIDATES = 32;
/** A move must lower f by more than this fraction of the magnitude of its terms (f32 round-off). */
const SWAP_TOL = 1e-5;

const wgsl = wgslSections(file);
const input = { type: 'f32' } as const;
const output = { type: 'f32', access: 'read_write' } as const;

const bestKernel = defineKernel({
  name: 'swap_best',
  uniforms: { m: 'u32', n: 'u32', groupSize: 'u32' },
  bindings: { W: input, R: input, G: input, moveIndex: { type: 'u32', access: 'read_write' }, moveValue: output, partials: output },
  workgroupSize: [64],
  source: (f: { nm: boolean; candidates: number }) => wgslConsts({ NM: f.nm, K: f.candidates, TOL: SWAP_TOL }) + wgsl.section('swap_best'),
});

const applyKernel = defineKernel({
  name: 'swap_apply',
  uniforms: { m: 'u32', n: 'u32' },
  bindings: { W: output, R: output, G: input, moveIndex: { type: 'u32' }, moveValue: input },
  workgroupSize: [64],
  source: () => wgsl.section('swap_apply'),
});

const errorKernel = defineKernel({
  name: 'swap_error',
  uniforms: { count: 'u32' },
  bindings: { W: input, W0: input, E: output, support: { type: 'u32', access: 'read_write' } },
  workgroupSize: [64],
  source: () => wgsl.section('swap_error'),
});

/**
 * The best improving swap of every row given W and its residual R = (W − W0)·G: under N:M
 * (`groupSize` = M) every pair inside a group, otherwise the `candidates` cheapest kept entries
 * against the `candidates` most promising pruned ones. Writes moveIndex [2m] (p, q or NO_MOVE),
 * moveValue [3m] (w_p, u*, Δ*) and partials [2m] (Δ*, then 1 per move) for reduceSlots.
 */
export function swapBest(
  gpu: Gpu,
  s: SwapShape,
  t: { W: Binding; R: Binding; G: Binding; moveIndex: Binding; moveValue: Binding; partials: Binding },
  o: { groupSize?: number; candidates?: number } = {},
): void {
  const nm = o.groupSize !== undefined;
  bestKernel.run(gpu, {
    flags: { nm, candidates: o.candidates ?? SWAP_CANDIDATES },
    uniforms: { m: s.m, n: s.n, groupSize: o.groupSize ?? 0 },
    bindings: t,
    threads: s.m,
  });
}

/** Applies the moves of swapBest: the rank-2 update of R with rows p and q of G, and w_p ← 0, w_q ← u*. */
export function swapApply(gpu: Gpu, s: SwapShape, t: { W: Binding; R: Binding; G: Binding; moveIndex: Binding; moveValue: Binding }): void {
  applyKernel.run(gpu, { uniforms: { m: s.m, n: s.n }, bindings: t, threads: s.m * s.n });
}

/** E = W − W0 and support = (W ≠ 0), over `count` entries. */
export function swapError(gpu: Gpu, count: number, t: { W: Binding; W0: Binding; E: Binding; support: Binding }): void {
  errorKernel.run(gpu, { uniforms: { count }, bindings: t, threads: count });
}
