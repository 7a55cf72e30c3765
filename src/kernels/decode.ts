/** The KV-cache kernels of incremental decoding (shaders/decode.wgsl). */
import file from '../../shaders/decode.wgsl?raw';
import { defineKernel, wgslConsts, wgslSections } from '../gpu/kernel';
import type { Binding, Gpu } from '../gpu/runtime';
import { expandTemplate } from './unroll';

const wgsl = wgslSections(file);

const appendKernel = defineKernel({
  name: 'kv_append',
  uniforms: { rows: 'u32', pos: 'u32', ld: 'u32', qCols: 'u32', kvCols: 'u32' },
  bindings: { QKV: { type: 'f32' }, KV: { type: 'f32', access: 'read_write' } },
  workgroupSize: [64],
  source: () => wgsl.section('kv_append'),
});

const attentionKernel = defineKernel({
  name: 'decode_attention',
  uniforms: { rows: 'u32', pos: 'u32', heads: 'u32', group: 'u32', ld: 'u32', kvCols: 'u32', outLd: 'u32', window: 'u32', scale: 'f32' },
  bindings: { QKV: { type: 'vec4<f32>' }, KV: { type: 'vec4<f32>' }, O: { type: 'vec4<f32>', access: 'read_write' } },
  workgroupSize: [64],
  source: (f: { hv: number }) => wgslConsts({ HV: f.hv }) + expandTemplate(wgsl.section('decode_attention'), { d: f.hv }),
});

export interface KvShape {
  /** New rows (tokens) and the position of the first. */
  rows: number;
  pos: number;
  /** Row length of the fused q|k|v rows and where k starts (v follows k). */
  ld: number;
  qCols: number;
  kvCols: number;
}

/** Cache rows pos…pos+rows−1 (k|v, 2·kvCols wide) ← the k and v columns of the new fused q|k|v rows. */
export function kvAppend(gpu: Gpu, QKV: Binding, KV: Binding, s: KvShape): void {
  appendKernel.run(gpu, { uniforms: { rows: s.rows, pos: s.pos, ld: s.ld, qCols: s.qCols, kvCols: s.kvCols }, bindings: { QKV, KV }, threads: s.rows * 2 * s.kvCols });
}

export interface DecodeAttentionShape extends KvShape {
  heads: number;
  kvHeads: number;
  headDim: number;
  scale: number;
  /** Sliding window (keys per query, itself included); null: all earlier ones. */
  window: number | null;
}

/** O [rows, heads·headDim] = attention of the new rows' queries (positions pos…) to the cached keys and values. */
export function decodeAttention(gpu: Gpu, QKV: Binding, KV: Binding, O: Binding, s: DecodeAttentionShape): void {
  if (s.headDim % 4 !== 0 || s.ld % 4 !== 0 || s.kvCols % 4 !== 0) throw new Error(`decodeAttention: head_dim ${s.headDim} and the row layout must be multiples of 4 (vec4 loads)`);
  attentionKernel.run(gpu, {
    flags: { hv: s.headDim / 4 },
    uniforms: {
      rows: s.rows, pos: s.pos, heads: s.heads, group: s.heads / s.kvHeads, ld: s.ld, kvCols: s.kvCols,
      outLd: s.heads * s.headDim, window: s.window ?? 0xffffffff, scale: s.scale,
    },
    bindings: { QKV, KV, O },
    threads: s.rows * s.heads,
  });
}
