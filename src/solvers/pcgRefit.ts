/**
 * The PCG refit on a fixed support (docs/algorithms.md, ALPS "PCG refit"), in the scaled problem:
 * masked conjugate gradient on X·Ĝ = Y row by row, from the X (and XG = X·Ĝ) given, until the
 * largest row residual ratio falls to `tol` or `steps` steps are done. One loop for ALPS's final
 * refit and the swap search's (src/solvers/swaps.ts). One readback per step: the residual, and in
 * the same read partials slot 0 reduced (the objective, when `objective` writes it there).
 */
import type { Binding, Gpu, GpuTensor } from '../gpu/runtime';
import { pcgInit, pcgStep } from '../kernels/admm';
import { matmul } from '../kernels/matmul';
import { reduceSlots } from '../kernels/objective';
import { checkpoint, type RunControl } from '../shared/control';

export interface PcgBuffers {
  mask: Binding;
  Ghat: GpuTensor;
  Y: Binding;
  /** In: the start; out: the refitted weight (scaled). */
  X: GpuTensor;
  /** In: X·Ĝ; kept equal to it. */
  XG: GpuTensor;
  R: GpuTensor;
  P: GpuTensor;
  AP: GpuTensor;
  state: Binding;
  partials: Binding;
  counter: Binding;
  stats: GpuTensor;
}

export interface PcgOptions {
  steps: number;
  tol: number;
  control?: RunControl;
  /** Writes the objective of X into partials slot 0 after each step (ALPS charts it). */
  objective?: () => void;
  /** Each step's reduced slot 0 (the objective, if written) and the residual ratio. */
  onStep?: (step: number, slot0: number, residual: number) => void;
}

export async function pcgRefit(gpu: Gpu, s: { m: number; n: number }, b: PcgBuffers, o: PcgOptions): Promise<void> {
  const { m, n } = s;
  pcgInit(gpu, s, { mask: b.mask, Y: b.Y, XG: b.XG, R: b.R, P: b.P, state: b.state });
  for (let step = 1; step <= o.steps; step++) {
    await checkpoint(o.control);
    matmul(gpu, b.P, b.Ghat, b.AP, { M: m, N: n, K: n });
    pcgStep(gpu, s, { mask: b.mask, AP: b.AP, X: b.X, XG: b.XG, R: b.R, P: b.P, state: b.state, partials: b.partials });
    o.objective?.();
    reduceSlots(gpu, m, 2, { partials: b.partials, counter: b.counter, stats: b.stats }, 1);
    const [slot0, residual] = await gpu.read(b.stats, 2);
    o.onStep?.(step, slot0, residual);
    if (residual <= o.tol) break;
  }
}
