/**
 * The sequential block driver every whole-model method runs on (docs/algorithms.md,
 * "Whole-model one-shot pruning"): the calibration windows are embedded once, then for each block
 *   onBlock      captures the grams of the inputs it needs (from the model as changed so far),
 *                solves and replaces that block's weights, as often as it likes;
 *   run          the block, as onBlock left it, turns its input into the next block's input
 *                (optionally accumulating the grams of `passSites` on the way);
 *   onBlockDone  sees the block finished, and it is released from the GPU.
 * At most one block's weights and the calibration activations are on the GPU. A method is a set
 * of callbacks; a resumed run installs what it already did in `setup` and starts at `startBlock`.
 */
import type { Gpu, GpuTensor } from '../gpu/runtime';
import { checkpoint as pauseOrCancel, type RunControl } from '../shared/control';
import { withScope } from '../gpu/scope';
import { matmul } from '../kernels/matmul';
import { SITES, type BlockSpec, type Site } from '../model/architectures';
import { ModelRunner, type Hidden } from '../model/forward';
import type { OpenedModel } from '../model/loader';

export interface BlockStep {
  readonly runner: ModelRunner;
  readonly block: BlockSpec;
  /**
   * Grams XᵀX [cols, cols] of the inputs at `sites` of this block for its current weights; the
   * block stops after the last of them, so the walk's hidden states are unchanged.
   */
  grams(sites: readonly Site[]): Promise<Map<Site, Float32Array>>;
  /** Waits while the run is paused; throws CancelledError once it is cancelled. */
  checkpoint(): Promise<void>;
}

export interface BlockWalk {
  /** Calibration tokens: whole windows of `seqlen`, concatenated (see sampleWindows). */
  windows: Uint32Array;
  seqlen: number;
  /** First block to visit; blocks before it only run (with the weights `setup` installed). Default 0. */
  startBlock?: number;
  /** Pause and cancel, checked before each block (and by step.checkpoint). */
  control?: RunControl;
  /** Called once the runner exists, before anything runs: e.g. install the blocks a resumed run already pruned. */
  setup?: (runner: ModelRunner) => void | Promise<void>;
  /** Per visited block, before it runs. Returning 'stop' ends the walk here, without running the block. */
  onBlock?: (step: BlockStep) => void | 'stop' | Promise<void | 'stop'>;
  /** Sites whose grams to accumulate while the block produces the next block's input (one pass, no re-capture). */
  passSites?: readonly Site[];
  /** After the block ran; `grams` holds the passSites' grams. */
  onBlockDone?: (step: BlockStep, grams: Map<Site, Float32Array>) => void | Promise<void>;
}

/** Runs block `layer` on `h`, accumulating the grams of the inputs at `sites`; with `stop`, only up to the last of them. */
async function blockGrams(runner: ModelRunner, layer: number, h: Hidden, sites: readonly Site[], stop: boolean): Promise<Map<Site, Float32Array>> {
  const gpu = runner.gpu;
  return withScope(gpu, async (scope) => {
    const tensors = new Map<Site, GpuTensor>();
    await runner.block(layer, h, {
      captureSites: sites,
      stopAfter: stop ? SITES.filter((s) => sites.includes(s)).at(-1) : undefined,
      capture: (c) => {
        const gram = scope.zeros([c.cols, c.cols]);
        matmul(gpu, c.input, c.input, gram, { M: c.cols, N: c.cols, K: c.rows, transA: true, beta: 1 });
        tensors.set(c.site, gram);
      },
    });
    const grams = new Map<Site, Float32Array>();
    for (const [site, gram] of tensors) grams.set(site, await gpu.read(gram));
    return grams;
  });
}

/** Walks the model's blocks in order with the callbacks of `walk` (see the file comment). */
export async function walkBlocks(gpu: Gpu, model: OpenedModel, walk: BlockWalk): Promise<void> {
  const windows = walk.windows.length / walk.seqlen;
  if (!Number.isInteger(windows) || windows < 1) throw new Error('Calibration tokens must be whole windows of seqlen tokens.');
  const { blocks } = model.arch;
  const start = walk.startBlock ?? 0;
  if (!Number.isInteger(start) || start < 0 || start > blocks.length) throw new RangeError(`The first block must be in 0..${blocks.length}, got ${start}.`);
  const checkpoint = () => pauseOrCancel(walk.control);
  const runner = new ModelRunner(gpu, model.arch, model.weights, { maxResidentBlocks: 1 });
  let h: Hidden | null = null;
  try {
    await walk.setup?.(runner);
    h = await runner.embed(walk.windows, windows, walk.seqlen);
    runner.releaseEmbedding();
    const hidden = h;
    for (const block of blocks) {
      await checkpoint();
      if (block.index < start) {
        await runner.block(block.index, hidden);
        runner.releaseBlock(block.index);
        continue;
      }
      const step: BlockStep = { runner, block, checkpoint, grams: (sites) => blockGrams(runner, block.index, hidden, sites, true) };
      if ((await walk.onBlock?.(step)) === 'stop') return;
      const passed = walk.passSites?.length ? await blockGrams(runner, block.index, hidden, walk.passSites, false) : null;
      if (!passed) await runner.block(block.index, hidden);
      runner.releaseBlock(block.index);
      await walk.onBlockDone?.(step, passed ?? new Map());
    }
  } finally {
    h?.x.dispose();
    runner.dispose();
  }
}
