import file from '../../shaders/embedding.wgsl?raw';
import { defineKernel, wgslConsts, wgslSections } from '../gpu/kernel';
import type { Binding, Gpu } from '../gpu/runtime';
import { packedReaders, type WeightFormat } from './packed';

const wgsl = wgslSections(file);

type EmbedFlags = {
  /** Rows indexed by token id (else by position, added to X). */
  byToken: boolean;
  /** An f32 position table added in the token pass. */
  withPositions: boolean;
  /** The table as f32 (E) or packed 16-bit values (W); exactly one is true. */
  plain: boolean;
  packed: boolean;
  bf16: boolean;
};

const embedKernel = defineKernel({
  name: 'embed',
  uniforms: { rows: 'u32', cols: 'u32', vStart: 'u32', vCount: 'u32', seqlen: 'u32', posOffset: 'u32' },
  bindings: {
    tokens: { type: 'u32', when: 'byToken' },
    E: { type: 'f32', when: 'plain' },
    W: { type: 'u32', when: 'packed' },
    P: { type: 'f32', when: 'withPositions' },
    X: { type: 'f32', access: 'read_write' },
  },
  workgroupSize: [64],
  source: (f: EmbedFlags) =>
    wgslConsts({ BY_TOKEN: f.byToken }) +
    (f.byToken
      ? 'fn table_row(r: u32) -> u32 { return tokens[r]; }\n'
      : 'fn table_row(r: u32) -> u32 { return r % p.seqlen + p.posOffset; }\n') +
    (f.packed ? packedReaders(f.bf16 ? 'bf16' : 'f16') + 'fn table_at(e: u32) -> f32 { return weight_at(e); }\n' : 'fn table_at(e: u32) -> f32 { return E[e]; }\n') +
    (f.withPositions
      ? 'fn with_position(v: f32, r: u32, c: u32) -> f32 { return v + P[(r % p.seqlen + p.posOffset) * p.cols + c]; }\n'
      : 'fn with_position(v: f32, r: u32, c: u32) -> f32 { return v; }\n') +
    wgsl.section('embed'),
});

interface GatherOptions {
  rows: number;
  cols: number;
  vStart: number;
  vCount: number;
  seqlen: number;
  posOffset?: number;
  /** How the table chunk is held (default f32). */
  format?: WeightFormat;
}

function tableBinding(table: Binding, format: WeightFormat): { E: Binding } | { W: Binding } {
  return format === 'f32' ? { E: table } : { W: table };
}

function formatFlags(format: WeightFormat): Pick<EmbedFlags, 'plain' | 'packed' | 'bf16'> {
  return { plain: format === 'f32', packed: format !== 'f32', bf16: format === 'bf16' };
}

/**
 * X[r, :] = table[tok[r] − vStart, :] (+ positions[r mod seqlen + posOffset, :], an f32 table) for
 * the rows whose token lies in this chunk of the vocabulary [vStart, vStart + vCount).
 */
export function embedTokens(gpu: Gpu, tokens: Binding, table: Binding, X: Binding, o: GatherOptions & { positions?: Binding | null }): void {
  const format = o.format ?? 'f32';
  const withPositions = o.positions != null;
  embedKernel.run(gpu, {
    flags: { byToken: true, withPositions, ...formatFlags(format) },
    uniforms: { rows: o.rows, cols: o.cols, vStart: o.vStart, vCount: o.vCount, seqlen: o.seqlen, posOffset: o.posOffset ?? 0 },
    bindings: { tokens, X, ...tableBinding(table, format), ...(withPositions ? { P: o.positions! } : {}) },
    threads: o.rows * o.cols,
  });
}

/**
 * X[r, :] += positions[r mod seqlen + posOffset − vStart, :] for the rows whose position lies in
 * this chunk [vStart, vStart + vCount) of a learned position table.
 */
export function addPositions(gpu: Gpu, positions: Binding, X: Binding, o: GatherOptions): void {
  const format = o.format ?? 'f32';
  embedKernel.run(gpu, {
    flags: { byToken: false, withPositions: false, ...formatFlags(format) },
    uniforms: { rows: o.rows, cols: o.cols, vStart: o.vStart, vCount: o.vCount, seqlen: o.seqlen, posOffset: o.posOffset ?? 0 },
    bindings: { X, ...tableBinding(positions, format) },
    threads: o.rows * o.cols,
  });
}
