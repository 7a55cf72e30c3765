/**
 * What the forward stages read and write: a batch's hidden states and the GPU copies of the
 * weights (as the weight store holds them). Plain data, so the stages stay stateless.
 */
import type { GpuTensor } from '../gpu/runtime';
import type { WeightFormat } from '../kernels/packed';
import type { LinearSpec } from './architectures';

export class ForwardError extends Error {
  override name = 'ForwardError';
}

/** Hidden states of a batch: `windows` windows of `seqlen` tokens, rows = windows·seqlen. */
export interface Hidden {
  x: GpuTensor;
  windows: number;
  seqlen: number;
  rows: number;
}

export interface Norm {
  w: GpuTensor;
  b: GpuTensor | null;
}

/** Rows start…start+count−1 of a weight, in one storage binding. */
export interface RowChunk {
  start: number;
  count: number;
  t: GpuTensor;
}

/**
 * A [rows, cols] weight on the GPU, cut into row chunks that each fit one storage binding (one
 * chunk when it fits whole): f32, or the checkpoint's BF16/F16 values packed two per u32.
 */
export interface Weight {
  format: WeightFormat;
  rows: number;
  cols: number;
  chunks: RowChunk[];
}

/** A linear layer on the GPU, [out, in] (nn.Linear layout), possibly narrower than its spec. */
export interface Linear {
  spec: LinearSpec;
  w: Weight;
  b: GpuTensor | null;
  out: number;
  in: number;
}

export interface BlockWeights {
  attnNorm: Norm;
  mlpNorm: Norm;
  /** Per-head q/k norms and Gemma's output norms, when the architecture has them. */
  qNorm: Norm | null;
  kNorm: Norm | null;
  postAttnNorm: Norm | null;
  postMlpNorm: Norm | null;
  linears: Map<string, Linear>;
  lastUse: number;
}

/** A [vocab, hidden] table (embedding or lm_head) in row chunks, each within one storage binding. */
export type VocabTable = Weight;

export function freeWeight(w: Weight): void {
  for (const c of w.chunks) c.t.dispose();
}

export function freeNorm(n: Norm): void {
  n.w.dispose();
  n.b?.dispose();
}

export function freeLinear(l: Linear): void {
  freeWeight(l.w);
  l.b?.dispose();
}

export function freeBlock(b: BlockWeights): void {
  for (const n of [b.attnNorm, b.mlpNorm, b.qNorm, b.kNorm, b.postAttnNorm, b.postMlpNorm]) if (n) freeNorm(n);
  for (const l of b.linears.values()) freeLinear(l);
}

