/**
 * Whole-model one-shot pruning as the papers run it (docs/algorithms.md, "Whole-model one-shot
 * pruning"): calibration windows go through the model block by block; in each block the linear
 * groups {q,k,v}, {o}, {gate,up}, {down} are pruned in order, re-capturing their inputs after each
 * group ("true sequential"), and the pruned block's outputs feed the next block. The walk itself
 * is the block driver's (blocks.ts); this file holds what the unstructured methods and the dense
 * layer problems do in each block.
 */
import type { Gpu } from '../gpu/runtime';
import { SITES } from '../model/architectures';
import type { ModelRunner } from '../model/forward';
import type { OpenedModel } from '../model/loader';
import type { RunControl } from '../shared/control';
import type { SparsityProfile } from '../shared/budget';
import type { AlpsOptions, Method } from '../shared/methods';
import type { LayerOutcome } from '../shared/outcome';
import { describePattern, type Pattern } from '../shared/pattern';
import type { LayerProblem } from '../shared/problem';
import type { SolverEvent } from '../shared/telemetry';
import { solveLayer, type RefineOptions } from '../solvers';
import { WeightTable } from '../formats/weightTable';
import { walkBlocks } from './blocks';
import { layerPatterns } from './owl';
import { findLayer, layerOutcome, linearLayer, type LinearLayer } from './outcome';


export interface PrunedModel {
  method: Method;
  pattern: string;
  /** Pruned weights by checkpoint tensor name, in nn.Linear layout [out, in], kept at the file's dtype. */
  weights: WeightTable;
  report: LayerOutcome[];
  ms: number;
}

export interface PruneProgress {
  layerIndex: number;
  layerCount: number;
  layer: string;
  block: number;
}

export interface PruneModelOptions {
  method: Method;
  pattern: Pattern;
  /**
   * How each layer's sparsity is chosen around `pattern`'s target (unstructured only): uniform (the
   * default), OWL or per-layer rules, at the uniform target's exact overall count (src/shared/budget.ts).
   */
  profile?: SparsityProfile;
  alps?: Partial<AlpsOptions>;
  /** Local search after the method on every layer (docs/algorithms.md, "Local search"). */
  refine?: RefineOptions;
  /** Calibration tokens, nsamples windows of seqlen, concatenated (see sampleWindows). */
  windows: Uint32Array;
  seqlen: number;
  /** Pause and cancel, checked between layers and solver iterations. */
  control?: RunControl;
  /** Solver telemetry of the layer being pruned. */
  onEvent?: (layerId: string, event: SolverEvent) => void;
  onLayer?: (outcome: LayerOutcome) => void;
  onProgress?: (progress: PruneProgress) => void;
  /**
   * Layers already pruned with these settings and calibration (a run resumed after a lost device),
   * and where this run adds its own as each finishes: they are installed before the walk and
   * skipped in it, and a caller whose run fails still holds every finished layer.
   */
  done?: { weights: WeightTable; report: LayerOutcome[] };
  /** After each block whose layers this run finished (e.g. to checkpoint it to disk before the next). */
  onBlockDone?: (block: number) => void | Promise<void>;
}

/** A layer's problem: its current weight (as pruned so far) and the gram of its inputs over `rows` calibration rows. */
async function layerProblem(model: OpenedModel, runner: ModelRunner, layer: LinearLayer, gram: Float32Array, rows: number): Promise<LayerProblem> {
  const weight = await runner.getLinear(layer.block, layer.name);
  return { m: layer.shape[0], n: layer.shape[1], weight, gram, rows, meta: { model: model.name, layer: layer.id } };
}

/** An empty table for `model`'s pruned weights: each kept at the dtype its checkpoint stores (F16/BF16 at 2 bytes). */
export function prunedWeightTable(model: OpenedModel): WeightTable {
  return new WeightTable((name) => {
    const dtype = model.file.tensors.get(name)?.dtype;
    return dtype === 'F16' || dtype === 'BF16' ? dtype : 'F32';
  });
}

export async function pruneModel(gpu: Gpu, model: OpenedModel, o: PruneModelOptions): Promise<PrunedModel> {
  const started = performance.now();
  const weights = o.done?.weights ?? prunedWeightTable(model);
  const report = o.done?.report ?? [];
  const layerCount = model.arch.blocks.reduce((a, b) => a + b.linears.length, 0);
  let layerIndex = report.length;
  // Layers are pruned in order, so the finished ones are a prefix: resume in the first unfinished block.
  const startBlock = model.arch.blocks.find((b) => b.linears.some((l) => !weights.has(l.weight)))?.index ?? model.arch.blocks.length;
  // Planned before the walk from the dense model (OWL's pass), so a resumed run plans the same budget.
  const patterns = await layerPatterns(gpu, model, o);
  await walkBlocks(gpu, model, {
    windows: o.windows,
    seqlen: o.seqlen,
    control: o.control,
    startBlock,
    setup: (runner) => {
      for (const r of report) runner.setLinear(r.block, r.name, weights.get(`${r.id}.weight`)!);
    },
    onBlock: async ({ runner, block, grams, checkpoint }) => {
      for (const group of block.groups) {
        const layers = group.map((name) => linearLayer(block, block.linears.find((l) => l.name === name)!)).filter((l) => !weights.has(l.spec.weight));
        if (!layers.length) continue;
        const site = layers[0].spec.site;
        await checkpoint();
        const gram = (await grams([site])).get(site)!;
        for (const layer of layers) {
          // Also between the layers of a group: one solve of a big layer can take seconds on a slow GPU.
          await checkpoint();
          o.onProgress?.({ layerIndex: layerIndex++, layerCount, layer: layer.id, block: block.index });
          const problem = await layerProblem(model, runner, layer, gram, o.windows.length);
          const pattern = patterns.get(layer.id)!;
          const result = await solveLayer(gpu, problem, o.method, pattern, {
            alps: o.alps,
            ...(o.refine ? { refine: o.refine } : {}),
            control: o.control,
            onEvent: (event) => o.onEvent?.(layer.id, event),
          });
          // Rounded to the file's dtype before the block's forward pass: later layers calibrate on the
          // model that will be exported, and a resumed run (its checkpoint holds these bits) matches.
          runner.setLinear(block.index, layer.name, weights.set(layer.spec.weight, result.weight));
          const outcome = layerOutcome(layer, result, pattern, 'model');
          report.push(outcome);
          o.onLayer?.(outcome);
        }
      }
    },
    onBlockDone: o.onBlockDone && (({ block }) => o.onBlockDone!(block.index)),
  });
  return { method: o.method, pattern: describePattern(o.pattern), weights, report, ms: performance.now() - started };
}

/**
 * One linear layer's problem from the dense model: W0 and the gram of its inputs over the
 * calibration windows (blocks before it run dense). This is what the studio's single-layer runs,
 * comparisons and "export layer problem" use.
 */
export async function denseLayerProblem(gpu: Gpu, model: OpenedModel, id: string, calibration: Uint32Array, seqlen: number): Promise<LayerProblem> {
  const layer = findLayer(model.arch, id);
  let problem: LayerProblem | null = null;
  await walkBlocks(gpu, model, {
    windows: calibration,
    seqlen,
    startBlock: layer.block,
    onBlock: async ({ runner, grams }) => {
      const gram = (await grams([layer.spec.site])).get(layer.spec.site)!;
      problem = await layerProblem(model, runner, layer, gram, calibration.length);
      return 'stop' as const;
    },
  });
  return problem!;
}

/**
 * Every linear layer's problem from the dense model in one pass over the blocks: each block's four
 * input sites are captured once, while the block runs. Used by benchmarks and the layer-wise comparisons.
 */
export async function denseLayerProblems(gpu: Gpu, model: OpenedModel, calibration: Uint32Array, seqlen: number): Promise<Map<string, LayerProblem>> {
  const problems = new Map<string, LayerProblem>();
  await walkBlocks(gpu, model, {
    windows: calibration,
    seqlen,
    passSites: SITES,
    onBlockDone: async ({ runner, block }, grams) => {
      for (const spec of block.linears) {
        const gram = grams.get(spec.site);
        if (!gram) throw new Error(`Block ${block.index}: no input was captured for ${spec.name}.`);
        const layer = linearLayer(block, spec);
        problems.set(layer.id, await layerProblem(model, runner, layer, gram, calibration.length));
      }
    },
  });
  return problems;
}
