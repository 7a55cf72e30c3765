/**
 * Structured pruning of whole MLP channels (SPAP and its two baselines), with the same sequential
 * calibration as unstructured pruning: block by block, capture down_proj's (fc2's) inputs from the
 * model as pruned so far, choose the channels to remove, refit down_proj on the kept ones, and cut
 * the channels out of gate/up (fc1; Phi-3: both halves of gate_up_proj) and down (fc2) so the model
 * is physically smaller.
 */
import type { Gpu } from '../gpu/runtime';
import type { LinearSpec } from '../model/architectures';
import type { Family } from '../model/config';
import type { ModelRunner } from '../model/forward';
import type { OpenedModel } from '../model/loader';
import type { BlockChannelReport } from '../shared/channels';
import type { RunControl } from '../shared/control';
import type { ChannelSelection, SpapOptions } from '../shared/methods';
import type { SpapStep } from '../shared/telemetry';
import { channelsToRemove, pruneChannels } from '../solvers/spap';
import { walkBlocks } from './blocks';
import type { ModelEdits } from './export';
import { layerId } from './outcome';


export interface StructuredModel {
  selection: ChannelSelection;
  fraction: number;
  /** Replaced tensors (linears in nn.Linear layout, biases) by checkpoint name. */
  weights: Map<string, Float32Array>;
  /** Their new shapes ([out, in] or [n]). */
  shapes: Map<string, number[]>;
  configPatch: Record<string, number>;
  report: BlockChannelReport[];
  parameters: { before: number; after: number };
  ms: number;
}

export interface StructuredOptions {
  selection: ChannelSelection;
  /** Fraction of each block's MLP channels to remove. */
  fraction: number;
  windows: Uint32Array;
  seqlen: number;
  spap?: Partial<SpapOptions>;
  /** Pause and cancel, checked before each block and penalty step. */
  control?: RunControl;
  onStep?: (layer: string, step: SpapStep) => void;
  onBlock?: (report: BlockChannelReport) => void;
  onProgress?: (p: { block: number; blocks: number; layer: string }) => void;
}

/** The config.json field that holds the MLP width, per architecture family. */
const WIDTH_FIELD: Record<Family, string> = { llama: 'intermediate_size', gpt2: 'n_inner', opt: 'ffn_dim', phi3: 'intermediate_size', gemma3: 'intermediate_size' };

/**
 * The rows of an MLP input linear that carry channels `kept`: channel i is row i, or for a fused
 * gate|up (Phi-3's gate_up_proj) row i of each part.
 */
export function channelRows(spec: LinearSpec, kept: readonly number[]): number[] {
  if (!spec.parts) return [...kept];
  const rows: number[] = [];
  let start = 0;
  for (const part of spec.parts) {
    for (const c of kept) rows.push(start + c);
    start += part.rows;
  }
  return rows;
}

function mlpLinears(linears: LinearSpec[]): { inputs: LinearSpec[]; output: LinearSpec } {
  const inputs = linears.filter((l) => l.site === 'mlp_in');
  const output = linears.find((l) => l.site === 'mlp_mid');
  if (!inputs.length || !output) throw new Error('This architecture has no MLP of the form in-projection(s) → down-projection.');
  return { inputs, output };
}

function keepRows(w: Float32Array, cols: number, rows: number[]): Float32Array {
  const out = new Float32Array(rows.length * cols);
  rows.forEach((r, i) => out.set(w.subarray(r * cols, (r + 1) * cols), i * cols));
  return out;
}

export function countParameters(model: OpenedModel): number {
  let total = 0;
  for (const shape of model.weights.shapes.values()) total += shape.reduce((a, b) => a * b, 1);
  return total; // a tied head is stored, and counted, once
}

export async function pruneMlpChannels(gpu: Gpu, model: OpenedModel, o: StructuredOptions): Promise<StructuredModel> {
  const started = performance.now();
  const { arch } = model;
  const weights = new Map<string, Float32Array>();
  const shapes = new Map<string, number[]>();
  const report: BlockChannelReport[] = [];
  const before = countParameters(model);
  let removedParams = 0;
  let width = arch.config.intermediate;
  /** Installs a linear with rows (outputs) or columns (inputs) cut to the kept channels, and records it for export. */
  const replace = (runner: ModelRunner, block: number, spec: LinearSpec, weight: Float32Array, shape: [number, number], bias?: Float32Array) => {
    runner.setLinear(block, spec.name, weight, { out: shape[0], in: shape[1], ...(bias ? { bias } : {}) });
    weights.set(spec.weight, weight);
    shapes.set(spec.weight, shape);
    removedParams += spec.out * spec.in - weight.length;
    if (spec.bias && bias) {
      weights.set(spec.bias, bias);
      shapes.set(spec.bias, [bias.length]);
      removedParams += spec.out - bias.length;
    }
  };
  await walkBlocks(gpu, model, {
    windows: o.windows,
    seqlen: o.seqlen,
    control: o.control,
    onBlock: async ({ runner, block, grams }) => {
      const { inputs, output } = mlpLinears(block.linears);
      const id = layerId(output);
      o.onProgress?.({ block: block.index, blocks: arch.blocks.length, layer: id });
      const n = output.in;
      const gram = (await grams(['mlp_mid'])).get('mlp_mid')!;
      const W0 = await runner.getLinear(block.index, output.name);
      const remove = channelsToRemove(n, o.fraction);
      const result = await pruneChannels(gpu, { m: output.out, n, weight: W0, gram }, remove, o.selection, {
        spap: o.spap,
        control: o.control,
        onStep: (step) => o.onStep?.(id, step),
      });
      const k = result.kept.length;
      width = k;
      for (const spec of inputs) {
        const rows = channelRows(spec, result.kept);
        const w = keepRows(await runner.getLinear(block.index, spec.name), spec.in, rows);
        const bias = spec.bias ? keepRows(await model.weights.readF32(spec.bias), 1, rows) : undefined;
        replace(runner, block.index, spec, w, [rows.length, spec.in], bias);
      }
      replace(runner, block.index, output, result.weight, [output.out, k]);
      const entry: BlockChannelReport = {
        block: block.index,
        layer: id,
        selection: o.selection,
        channels: n,
        kept: result.kept,
        removed: result.removed,
        relError: result.relError,
        steps: result.steps,
        ms: result.ms,
      };
      report.push(entry);
      o.onBlock?.(entry);
    },
  });
  return {
    selection: o.selection,
    fraction: o.fraction,
    weights,
    shapes,
    configPatch: { [WIDTH_FIELD[arch.config.family]]: width },
    report,
    parameters: { before, after: before - removedParams },
    ms: performance.now() - started,
  };
}

/** The edits export needs to write the smaller checkpoint. */
export function structuredEdits(s: StructuredModel): ModelEdits {
  return {
    weights: s.weights,
    shapes: s.shapes,
    configPatch: s.configPatch,
    metadata: { method: s.selection === 'spap' ? 'spap' : `channels-${s.selection}`, mlp_channels_removed: String(s.fraction) },
    report: {
      method: s.selection,
      fraction: s.fraction,
      parameters: s.parameters,
      ms: Math.round(s.ms),
      blocks: s.report,
    },
  };
}

/** Installs a structured result's smaller linears (and sliced biases) into a runner. */
export function applyStructured(runner: ModelRunner, model: OpenedModel, s: StructuredModel): void {
  for (const block of model.arch.blocks) {
    for (const spec of block.linears) {
      const w = s.weights.get(spec.weight);
      if (!w) continue;
      const [out, inp] = s.shapes.get(spec.weight)!;
      const bias = spec.bias ? s.weights.get(spec.bias) : undefined;
      runner.setLinear(block.index, spec.name, w, { out, in: inp, ...(bias ? { bias } : {}) });
    }
  }
}
