/**
 * Frames of ALPS's support as ADMM settles it (the studio's "see the support converge"): at each ρ
 * update the u32 support is counted per cell of a grid on the GPU (`maskCells`,
 * shaders/layerview.wgsl) and only that grid is read back, so a big layer's frame stays small.
 * The readback is started before the schedule's own read of the check's scalars, so both wait on
 * the same queue work: one round trip per check, not two.
 */
import type { GpuTensor } from '../gpu/runtime';
import type { GpuScope } from '../gpu/scope';
import { cellGrid, maskCells } from '../kernels/layerView';
import type { SupportFrame } from '../shared/telemetry';

/** What a caller asks for; absent (the default, whole-model runs, the CLI): no frames and no cost. */
export interface SupportFrameOptions {
  /** Cells per side at most (default 128: the bundled model's layers are drawn weight by weight, or nearly). */
  maxCells?: number;
  onFrame(frame: SupportFrame): void;
}

/** What a frame says besides its grid, known once the schedule has decided. */
export type FrameInfo = Pick<SupportFrame, 'iter' | 'rho' | 'nextRho' | 'supportChange' | 'restarted'>;

export interface PendingFrame {
  /** Waits for the grid and hands the finished frame to `onFrame`. */
  finish(info: FrameInfo): Promise<void>;
}

export interface SupportFrameRecorder {
  /** Records the grid of the m × n u32 `support` now and starts reading it back. */
  capture(support: GpuTensor): PendingFrame;
}

export const DEFAULT_FRAME_CELLS = 128;

/** A recorder for one m × n layer with k kept entries, or null when no frames were asked for. */
export function supportFrameRecorder(scope: GpuScope, m: number, n: number, k: number, options: SupportFrameOptions | undefined): SupportFrameRecorder | null {
  if (!options) return null;
  const grid = cellGrid(m, n, options.maxCells ?? DEFAULT_FRAME_CELLS);
  // One grid buffer for every frame: each readback's copy is queued before the next frame's pass writes it.
  const kept = scope.tensor([grid.rows * grid.cols], 'u32');
  const gpu = scope.gpu;
  return {
    capture(support) {
      maskCells(gpu, support, m, n, grid, kept);
      const read = gpu.readU32(kept);
      // A run cancelled between capture and finish leaves this read unobserved; its failure is the run's.
      read.catch(() => {});
      return {
        async finish(info) {
          options.onFrame({ ...info, k, m, n, ...grid, kept: await read });
        },
      };
    },
  };
}
