/**
 * Structured pruning of whole key/value groups of attention (SPAP over heads, docs/algorithms.md
 * "SPAP (structured: MLP channels and attention heads)"). A group is one key/value head with the g
 * query heads that share it under GQA (g = 1 without grouping): rows of q, k and v (fused: the
 * q|k|v thirds of GPT-2's c_attn, Phi-3's qkv_proj) and the g·head_dim input columns of the output
 * projection that those query heads write. The selection runs on the output projection's layer
 * problem with columns taken g·head_dim at a time; the kept columns are then refit exactly.
 */
import type { Gpu } from '../gpu/runtime';
import type { LinearSpec } from '../model/architectures';
import type { Family, ModelConfig } from '../model/config';
import type { ModelRunner } from '../model/forward';
import type { ChannelSelection, SpapOptions } from '../shared/methods';
import type { RunControl } from '../shared/control';
import type { SpapStep } from '../shared/telemetry';
import { pruneChannels, type ChannelPruneResult } from '../solvers/spap';

/** A key/value group's size in the units the solver and the budget count. */
export interface GroupShape {
  /** Key/value groups per block (num_key_value_heads). */
  groups: number;
  /** Query heads per group. */
  queriesPerGroup: number;
  headDim: number;
  /** o_proj columns per group: queriesPerGroup·headDim. */
  columns: number;
}

export function groupShape(c: ModelConfig): GroupShape {
  const queriesPerGroup = c.heads / c.kvHeads;
  return { groups: c.kvHeads, queriesPerGroup, headDim: c.headDim, columns: queriesPerGroup * c.headDim };
}

/**
 * Families whose Hugging Face attention reads head_dim from config.json, so a model with fewer
 * heads of the same head_dim can be written. GPT-2's and OPT's attention derive head_dim as
 * hidden/heads, so fewer heads would change head_dim: those two cannot lose heads.
 */
const HEAD_FIELDS: Partial<Record<Family, { heads: string; kvHeads: string | null }>> = {
  llama: { heads: 'num_attention_heads', kvHeads: 'num_key_value_heads' },
  phi3: { heads: 'num_attention_heads', kvHeads: 'num_key_value_heads' },
  gemma3: { heads: 'num_attention_heads', kvHeads: 'num_key_value_heads' },
};

export class HeadPruningError extends Error {
  override name = 'HeadPruningError';
}

/** Refuses families whose checkpoint format cannot express fewer heads (one line, what to do). */
export function assertHeadsRemovable(c: ModelConfig): void {
  if (!HEAD_FIELDS[c.family]) {
    throw new HeadPruningError(
      `${c.family === 'gpt2' ? 'GPT-2' : 'OPT'} checkpoints cannot lose attention heads: transformers derives head_dim = hidden/heads for this family, so fewer heads would change head_dim. Use --structures mlp.`,
    );
  }
}

/** config.json fields after keeping `keptGroups` groups per block (head_dim written explicitly, since some configs derive it). */
export function headConfigPatch(c: ModelConfig, keptGroups: number): Record<string, number> {
  const f = HEAD_FIELDS[c.family]!;
  const g = groupShape(c);
  return { [f.heads]: keptGroups * g.queriesPerGroup, ...(f.kvHeads ? { [f.kvHeads]: keptGroups } : {}), head_dim: c.headDim };
}

/** How many of a block's groups a fraction removes (rounded to whole groups; at least one stays). */
export function groupsToRemove(groups: number, fraction: number): number {
  if (!Number.isFinite(fraction) || fraction < 0 || fraction >= 1) throw new HeadPruningError(`The fraction of key/value groups to remove must be in [0, 1), got ${fraction}.`);
  return Math.min(groups - 1, Math.round(fraction * groups));
}

/** Rows of an attention input projection (q, k, v or fused q|k|v) that belong to the kept groups. */
export function headRows(spec: LinearSpec, c: ModelConfig, kept: readonly number[]): number[] {
  const g = groupShape(c);
  const q = c.heads * c.headDim;
  const kv = c.kvHeads * c.headDim;
  const span = (start: number, width: number) => kept.flatMap((j) => Array.from({ length: width }, (_, t) => start + j * width + t));
  if (spec.role === 'q') return span(0, g.columns);
  if (spec.role === 'k' || spec.role === 'v') return span(0, c.headDim);
  if (spec.role === 'qkv') return [...span(0, g.columns), ...span(q, c.headDim), ...span(q + kv, c.headDim)];
  throw new Error(`${spec.name} is not an attention input projection.`);
}

/** Parameters one group holds in a block: its q, k, v rows (and biases) and its output-projection columns. */
export function groupParameters(linears: readonly LinearSpec[], c: ModelConfig): number {
  let total = 0;
  for (const spec of linears) {
    if (spec.site === 'attn_in') total += (headRows(spec, c, [0]).length * (spec.in + (spec.bias ? 1 : 0)));
    else if (spec.role === 'o') total += groupShape(c).columns * spec.out;
  }
  return total;
}

export interface HeadChoice {
  selection: ChannelSelection;
  remove: number;
  spap?: Partial<SpapOptions>;
  control?: RunControl;
  onStep?: (step: SpapStep) => void;
}

/** Chooses the groups to remove on the output projection's problem (W0 [d, heads·head_dim], gram of its inputs) and refits it. */
export async function selectHeads(
  gpu: Gpu,
  c: ModelConfig,
  o: { weight: Float32Array; gram: Float32Array; out: number },
  choice: HeadChoice,
): Promise<ChannelPruneResult & { keptGroups: number[]; removedGroups: number[] }> {
  const g = groupShape(c);
  const n = c.heads * c.headDim;
  const result = await pruneChannels(gpu, { m: o.out, n, weight: o.weight, gram: o.gram }, choice.remove, choice.selection, {
    spap: choice.spap,
    control: choice.control,
    onStep: choice.onStep,
    groupSize: g.columns,
  });
  const toGroups = (cols: number[]) => cols.filter((col) => col % g.columns === 0).map((col) => col / g.columns);
  return { ...result, keptGroups: toGroups(result.kept), removedGroups: toGroups(result.removed) };
}

/** Cuts the kept groups' rows out of the attention input projections and returns them with their biases. */
export async function cutHeadRows(
  runner: ModelRunner,
  readBias: (name: string) => Promise<Float32Array>,
  block: number,
  spec: LinearSpec,
  c: ModelConfig,
  keptGroups: readonly number[],
): Promise<{ rows: number[]; weight: Float32Array; bias?: Float32Array }> {
  const rows = headRows(spec, c, keptGroups);
  const w = await runner.getLinear(block, spec.name);
  const weight = new Float32Array(rows.length * spec.in);
  rows.forEach((r, i) => weight.set(w.subarray(r * spec.in, (r + 1) * spec.in), i * spec.in));
  if (!spec.bias) return { rows, weight };
  const b = await readBias(spec.bias);
  return { rows, weight, bias: Float32Array.from(rows, (r) => b[r]) };
}
