/**
 * Structured pruning of whole MLP channels (SPAP and its two baselines), with the same sequential
 * calibration as unstructured pruning: block by block, capture down_proj's (fc2's) inputs from the
 * model as pruned so far, choose the channels to remove, refit down_proj on the kept ones, and cut
 * the channels out of gate/up (fc1; Phi-3: both halves of gate_up_proj) and down (fc2) so the model
 * is physically smaller. With `heads`, each block first loses whole key/value groups of attention
 * (structuredHeads.ts): the output projection is refit on the kept heads and q/k/v lose their rows,
 * then the MLP's input is captured again from the block as changed and its channels are chosen.
 */
import type { Gpu } from '../gpu/runtime';
import type { LinearSpec } from '../model/architectures';
import type { Family } from '../model/config';
import type { ModelRunner } from '../model/forward';
import type { OpenedModel } from '../model/loader';
import type { BlockChannelReport, BlockHeadReport } from '../shared/channels';
import type { RunControl } from '../shared/control';
import type { ChannelSelection, SpapOptions } from '../shared/methods';
import type { SpapStep } from '../shared/telemetry';
import { channelsToRemove, pruneChannels } from '../solvers/spap';
import { walkBlocks } from './blocks';
import type { ModelEdits } from './export';
import { layerId } from './outcome';
import { assertHeadsRemovable, cutHeadRows, groupShape, groupsToRemove, headConfigPatch, selectHeads } from './structuredHeads';


export interface StructuredModel {
  selection: ChannelSelection;
  fraction: number;
  /** Fraction of each block's key/value groups removed (0: attention untouched). */
  heads: number;
  /** Replaced tensors (linears in nn.Linear layout, biases) by checkpoint name. */
  weights: Map<string, Float32Array>;
  /** Their new shapes ([out, in] or [n]). */
  shapes: Map<string, number[]>;
  configPatch: Record<string, number>;
  report: BlockChannelReport[];
  /** Per block, the key/value groups kept and removed (empty when no heads were removed). */
  headReport: BlockHeadReport[];
  parameters: { before: number; after: number };
  ms: number;
}

export interface StructuredOptions {
  selection: ChannelSelection;
  /** Fraction of each block's MLP channels to remove (0: the MLP is left as it is). */
  fraction: number;
  /** Fraction of each block's key/value groups to remove, rounded to whole groups (default 0). */
  heads?: number;
  windows: Uint32Array;
  seqlen: number;
  spap?: Partial<SpapOptions>;
  /** Pause and cancel, checked before each block and penalty step. */
  control?: RunControl;
  onStep?: (layer: string, step: SpapStep) => void;
  onBlock?: (report: BlockChannelReport) => void;
  /** After each block's key/value groups are chosen and cut. */
  onHeads?: (report: BlockHeadReport) => void;
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
  const headReport: BlockHeadReport[] = [];
  const removeGroups = groupsToRemove(arch.config.kvHeads, o.heads ?? 0);
  if (removeGroups > 0) assertHeadsRemovable(arch.config);
  const shape = groupShape(arch.config);
  /** Removes `removeGroups` key/value groups of one block: select and refit on o_proj, then cut q/k/v rows. */
  const pruneBlockHeads = async (runner: ModelRunner, index: number, linears: LinearSpec[], grams: (s: readonly ['attn_out']) => Promise<Map<string, Float32Array>>): Promise<BlockHeadReport> => {
    const output = linears.find((l) => l.role === 'o')!;
    const id = layerId(output);
    o.onProgress?.({ block: index, blocks: arch.blocks.length, layer: id });
    const gram = (await grams(['attn_out'])).get('attn_out')!;
    const weight = await runner.getLinear(index, output.name);
    const r = await selectHeads(gpu, arch.config, { weight, gram, out: output.out }, {
      selection: o.selection,
      remove: removeGroups,
      spap: o.spap,
      control: o.control,
      onStep: (step) => o.onStep?.(id, step),
    });
    for (const spec of linears.filter((l) => l.site === 'attn_in')) {
      const cut = await cutHeadRows(runner, (name) => model.weights.readF32(name), index, spec, arch.config, r.keptGroups);
      replace(runner, index, spec, cut.weight, [cut.rows.length, spec.in], cut.bias);
    }
    replace(runner, index, output, r.weight, [output.out, r.kept.length]);
    return { block: index, layer: id, selection: o.selection, groups: shape.groups, queriesPerGroup: shape.queriesPerGroup, kept: r.keptGroups, removed: r.removedGroups, relError: r.relError, steps: r.steps, ms: r.ms };
  };
  await walkBlocks(gpu, model, {
    windows: o.windows,
    seqlen: o.seqlen,
    control: o.control,
    onBlock: async ({ runner, block, grams }) => {
      if (removeGroups > 0) {
        const entry = await pruneBlockHeads(runner, block.index, block.linears, grams);
        headReport.push(entry);
        o.onHeads?.(entry);
      }
      const { inputs, output } = mlpLinears(block.linears);
      const id = layerId(output);
      o.onProgress?.({ block: block.index, blocks: arch.blocks.length, layer: id });
      const n = output.in;
      const remove = channelsToRemove(n, o.fraction);
      if (remove === 0) return;
      const gram = (await grams(['mlp_mid'])).get('mlp_mid')!;
      const W0 = await runner.getLinear(block.index, output.name);
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
    heads: o.heads ?? 0,
    weights,
    shapes,
    configPatch: { [WIDTH_FIELD[arch.config.family]]: width, ...(removeGroups > 0 ? headConfigPatch(arch.config, arch.config.kvHeads - removeGroups) : {}) },
    report,
    headReport,
    parameters: { before, after: before - removedParams },
    ms: performance.now() - started,
  };
}

/** The edits export needs to write the smaller checkpoint. */
export function structuredEdits(stored: StructuredModel): ModelEdits {
  // A run stored in the browser before heads existed has neither field.
  const s = { ...stored, heads: stored.heads ?? 0, headReport: stored.headReport ?? [] };
  return {
    weights: s.weights,
    shapes: s.shapes,
    configPatch: s.configPatch,
    metadata: {
      method: s.selection === 'spap' ? 'spap' : `channels-${s.selection}`,
      mlp_channels_removed: String(s.fraction),
      ...(s.heads > 0 ? { kv_groups_removed: String(s.heads) } : {}),
    },
    report: {
      method: s.selection,
      fraction: s.fraction,
      ...(s.heads > 0 ? { heads: s.heads } : {}),
      parameters: s.parameters,
      ms: Math.round(s.ms),
      blocks: s.report,
      ...(s.headReport.length ? { headBlocks: s.headReport } : {}),
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
