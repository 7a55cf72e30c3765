/**
 * Whole-model one-shot pruning as the papers run it (ALGORITHMS.md, "Whole-model one-shot
 * pruning"): calibration windows go through the model block by block; in each block the linear
 * groups {q,k,v}, {o}, {gate,up}, {down} are pruned in order, re-capturing their inputs after each
 * group ("true sequential"), and the pruned block's outputs feed the next block. At most one
 * block's weights and the calibration activations are on the GPU.
 */
import type { Gpu, GpuTensor } from '../gpu/runtime';
import { matmul } from '../kernels/matmul';
import type { LinearSpec, Site } from '../model/architectures';
import { ModelRunner, type Hidden } from '../model/forward';
import type { OpenedModel } from '../model/loader';
import { describePattern, solveLayer } from '../solvers';
import { throwIfAborted } from '../solvers/layer';
import type { AlpsIteration, AlpsOptions, LayerProblem, Method, Pattern, PcgStep, SolverEvent } from '../solvers/types';

/** One pruned linear layer, as the report and the studio's table show it. */
export interface LayerReport {
  /** Module path, e.g. "model.layers.0.self_attn.q_proj". */
  id: string;
  block: number;
  name: string;
  method: Method;
  pattern: string;
  shape: [number, number];
  /** Achieved fraction of zeros. */
  sparsity: number;
  relError: number;
  relErrorBeforeRefit: number;
  iterations: number;
  ms: number;
  history: AlpsIteration[];
  pcg: PcgStep[];
}

export interface PrunedModel {
  method: Method;
  pattern: string;
  /** Pruned weights by checkpoint tensor name, in nn.Linear layout [out, in]. */
  weights: Map<string, Float32Array>;
  report: LayerReport[];
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
  alps?: Partial<AlpsOptions>;
  /** Calibration tokens, nsamples windows of seqlen, concatenated (see sampleWindows). */
  windows: Uint32Array;
  seqlen: number;
  signal?: AbortSignal;
  /** Solver telemetry of the layer being pruned. */
  onEvent?: (layerId: string, event: SolverEvent) => void;
  onLayer?: (report: LayerReport) => void;
  onProgress?: (progress: PruneProgress) => void;
  /** Awaited between layers and solver iterations: a paused run waits here. */
  gate?: () => Promise<void>;
}

export function layerId(spec: LinearSpec): string {
  return spec.weight.replace(/\.weight$/, '');
}

/** Adds XᵀX of a captured input [rows, cols] into gram [cols, cols] on the GPU. */
function accumulateGram(gpu: Gpu, input: GpuTensor, rows: number, cols: number, gram: GpuTensor): void {
  matmul(gpu, input, input, gram, { M: cols, N: cols, K: rows, transA: true, beta: 1 });
}

/** The gram of the inputs at `site` of block `layer` for the current (possibly pruned) weights. */
async function captureGram(runner: ModelRunner, layer: number, h: Hidden, site: Site, cols: number): Promise<Float32Array> {
  const gpu = runner.gpu;
  const gram = gpu.zeros([cols, cols]);
  try {
    await runner.block(layer, h, {
      captureSites: [site],
      stopAfter: site,
      capture: (c) => {
        if (c.site === site) accumulateGram(gpu, c.input, c.rows, c.cols, gram);
      },
    });
    return await gpu.read(gram);
  } finally {
    gram.dispose();
  }
}

function countZeros(w: Float32Array): number {
  let z = 0;
  for (let i = 0; i < w.length; i++) if (w[i] === 0) z++;
  return z;
}

export async function pruneModel(gpu: Gpu, model: OpenedModel, o: PruneModelOptions): Promise<PrunedModel> {
  const started = performance.now();
  const { arch } = model;
  const windows = o.windows.length / o.seqlen;
  if (!Number.isInteger(windows) || windows < 1) throw new Error('Calibration tokens must be whole windows of seqlen tokens.');
  const runner = new ModelRunner(gpu, arch, model.weights, { maxResidentBlocks: 1 });
  const weights = new Map<string, Float32Array>();
  const report: LayerReport[] = [];
  const layerCount = arch.blocks.reduce((a, b) => a + b.linears.length, 0);
  let layerIndex = 0;
  let h: Hidden | null = null;
  try {
    h = await runner.embed(o.windows, windows, o.seqlen);
    runner.releaseEmbedding();
    for (const block of arch.blocks) {
      for (const group of block.groups) {
        const specs = group.map((name) => block.linears.find((l) => l.name === name)!);
        const site = specs[0].site;
        throwIfAborted(o.signal);
        await o.gate?.();
        const gram = await captureGram(runner, block.index, h, site, specs[0].in);
        for (const spec of specs) {
          const id = layerId(spec);
          o.onProgress?.({ layerIndex: layerIndex++, layerCount, layer: id, block: block.index });
          const weight = await runner.getLinear(block.index, spec.name);
          const problem: LayerProblem = { m: spec.out, n: spec.in, weight, gram, rows: o.windows.length, meta: { model: model.name, layer: id } };
          const result = await solveLayer(gpu, problem, o.method, o.pattern, {
            alps: o.alps,
            signal: o.signal,
            gate: o.gate,
            onEvent: (event) => o.onEvent?.(id, event),
          });
          runner.setLinear(block.index, spec.name, result.weight);
          weights.set(spec.weight, result.weight);
          const entry: LayerReport = {
            id,
            block: block.index,
            name: spec.name,
            method: o.method,
            pattern: describePattern(o.pattern),
            shape: [spec.out, spec.in],
            sparsity: countZeros(result.weight) / result.weight.length,
            relError: result.relError,
            relErrorBeforeRefit: result.relErrorBeforeRefit,
            iterations: result.iterations,
            ms: result.ms,
            history: result.history,
            pcg: result.pcg,
          };
          report.push(entry);
          o.onLayer?.(entry);
        }
      }
      // The pruned block's outputs are the next block's inputs.
      await runner.block(block.index, h);
      runner.releaseBlock(block.index);
    }
    return { method: o.method, pattern: describePattern(o.pattern), weights, report, ms: performance.now() - started };
  } finally {
    h?.x.dispose();
    runner.dispose();
  }
}

/**
 * One linear layer's problem from the dense model: W0 and the gram of its inputs over the
 * calibration windows (blocks before it run dense). This is what the studio's single-layer runs,
 * comparisons and "export layer problem" use.
 */
export async function denseLayerProblem(gpu: Gpu, model: OpenedModel, id: string, calibration: Uint32Array, seqlen: number): Promise<LayerProblem> {
  const block = model.arch.blocks.find((b) => b.linears.some((l) => layerId(l) === id));
  const spec = block?.linears.find((l) => layerId(l) === id);
  if (!block || !spec) throw new Error(`The model has no linear layer named ${id}.`);
  const runner = new ModelRunner(gpu, model.arch, model.weights, { maxResidentBlocks: 1 });
  let h: Hidden | null = null;
  try {
    h = await runner.embed(calibration, calibration.length / seqlen, seqlen);
    runner.releaseEmbedding();
    for (let l = 0; l < block.index; l++) {
      await runner.block(l, h);
      runner.releaseBlock(l);
    }
    const gram = await captureGram(runner, block.index, h, spec.site, spec.in);
    const weight = await runner.getLinear(block.index, spec.name);
    return { m: spec.out, n: spec.in, weight, gram, rows: calibration.length, meta: { model: model.name, layer: id } };
  } finally {
    h?.x.dispose();
    runner.dispose();
  }
}

/**
 * Every linear layer's problem from the dense model in one pass over the blocks: each block's four
 * input sites are captured once. Used by benchmarks and the layer-wise comparisons.
 */
export async function denseLayerProblems(gpu: Gpu, model: OpenedModel, calibration: Uint32Array, seqlen: number): Promise<Map<string, LayerProblem>> {
  const runner = new ModelRunner(gpu, model.arch, model.weights, { maxResidentBlocks: 1 });
  const problems = new Map<string, LayerProblem>();
  let h: Hidden | null = null;
  try {
    h = await runner.embed(calibration, calibration.length / seqlen, seqlen);
    runner.releaseEmbedding();
    for (const block of model.arch.blocks) {
      const grams = new Map<Site, GpuTensor>();
      await runner.block(block.index, h, {
        capture: (c) => {
          const gram = gpu.zeros([c.cols, c.cols]);
          accumulateGram(gpu, c.input, c.rows, c.cols, gram);
          grams.set(c.site, gram);
        },
      });
      for (const spec of block.linears) {
        const gramTensor = grams.get(spec.site);
        if (!gramTensor) throw new Error(`Block ${block.index}: no input was captured for ${spec.name}.`);
        const id = layerId(spec);
        const gram = await gpu.read(gramTensor);
        const weight = await runner.getLinear(block.index, spec.name);
        problems.set(id, { m: spec.out, n: spec.in, weight, gram, rows: calibration.length, meta: { model: model.name, layer: id } });
      }
      for (const g of grams.values()) g.dispose();
      runner.releaseBlock(block.index);
    }
    return problems;
  } finally {
    h?.x.dispose();
    runner.dispose();
  }
}
