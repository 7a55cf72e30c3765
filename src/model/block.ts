/**
 * One decoder block as a stateless stage: norm → attention → residual, norm → MLP → residual, on
 * weights the caller resolved (Gemma 3 also normalises each sublayer's output before its residual
 * add; Qwen3 and Gemma 3 normalise q and k per head before rotary). It can hand out the input of every linear group as it becomes
 * available (a calibration pipeline accumulates XᵀX from them) and stop right after one.
 */
import type { Gpu, GpuTensor } from '../gpu/runtime';
import { withScope } from '../gpu/scope';
import type { Activation } from '../shared/activation';
import { activate, biasAct, gatedAct, gatedFusedAct } from '../kernels/activation';
import { causalAttention } from '../kernels/attention';
import { headNorm, rowNorm } from '../kernels/norm';
import { applyRotary } from '../kernels/rotary';
import { SITES, type Architecture, type LinearSpec, type Site } from './architectures';
import { attentionScale } from './config';
import { weightProduct, type ProductOptions } from './gpuWeights';
import type { BlockWeights, Hidden, Linear, Norm } from './tensors';

/** The input of one or more linear layers of a block, as captured during block(). */
export interface CapturedInput {
  layer: number;
  site: Site;
  /** Names of the linears (module paths in the block) that read this input. */
  linears: string[];
  /** Dense [rows, cols]; valid only during the callback (record GPU work on it, or copy it). */
  input: GpuTensor;
  rows: number;
  cols: number;
}

export interface BlockOptions {
  /** Called when the input of a linear group is ready; GPU work it records runs in order. */
  capture?: (c: CapturedInput) => void | Promise<void>;
  /** Sites to hand to `capture` (default: all four). */
  captureSites?: readonly Site[];
  /** Stop right after capturing this site; the hidden state is then left unchanged. */
  stopAfter?: Site;
  /** Write the block's output here instead of in place (same shape as the input). */
  out?: GpuTensor;
  /** Replaces the product Y = X·Wᵀ of each linear (the decode path's sparse kernels, src/model/decodeLinears.ts). */
  product?: LinearProduct;
  /** Replaces rotary and causal attention on the fused q|k|v rows [rows, ld] (the decode path's KV cache, src/model/decode.ts). */
  attend?: (layer: number, qkv: GpuTensor, attn: GpuTensor, shape: AttendShape) => void;
}

/** The fused q|k|v rows handed to `attend`: q heads at column 0, k at qCols, v at qCols + kvCols. */
export interface AttendShape {
  rows: number;
  ld: number;
  heads: number;
  kvHeads: number;
  qCols: number;
  kvCols: number;
}

/** Y = X·Wᵀ of one linear of block `layer`, placed and accumulated as weightProduct does. */
export type LinearProduct = (layer: number, lin: Linear, X: GpuTensor, Y: GpuTensor, o: ProductOptions) => void;

/**
 * out = input·Wᵀ (+ bias), written at column `off` of rows `ld` long, or accumulated (beta 1); the
 * weight's row chunks (f32 or packed 16-bit) each write their columns. `act` fuses an activation
 * into the bias pass (without a bias it runs on its own).
 */
function linear(
  { gpu, product }: { gpu: Gpu; product?: (lin: Linear, X: GpuTensor, Y: GpuTensor, o: ProductOptions) => void },
  lin: Linear,
  input: GpuTensor,
  rows: number,
  out: GpuTensor,
  o: { ld?: number; off?: number; beta?: number; act?: Activation } = {},
): void {
  const ld = o.ld ?? lin.out;
  const off = o.off ?? 0;
  const po = { rows, ldc: ld, offC: off, accumulate: (o.beta ?? 0) !== 0 };
  if (product) product(lin, input, out, po);
  else weightProduct(gpu, input, lin.w, out, po);
  if (lin.b) biasAct(gpu, out, lin.b, { rows, cols: lin.out, ld, off }, o.act);
  else if (o.act) activate(gpu, out, { rows, cols: lin.out, ld, off }, o.act);
}

/**
 * Runs block `layer` on the batch, in place (or into options.out). With `capture`, hands out the
 * input of each linear group as it becomes available; with `stopAfter`, returns right after that
 * capture and leaves the hidden state untouched (for true-sequential re-capture). `rotary` is the
 * cos/sin table of the batch's window length (rotary models; null otherwise).
 */
export async function runBlock(
  gpu: Gpu,
  arch: Architecture,
  layer: number,
  w: BlockWeights,
  h: Hidden,
  rotary: GpuTensor | null,
  options: BlockOptions = {},
): Promise<void> {
  const c = arch.config;
  const rows = h.rows;
  const d = c.hidden;
  const linears = arch.blocks[layer].linears;
  const get = (role: LinearSpec['role']) => {
    const spec = linears.find((l) => l.role === role);
    return spec ? w.linears.get(spec.name)! : undefined;
  };
  const sites = new Set(options.captureSites ?? SITES);
  const custom = options.product;
  const ctx = { gpu, product: custom && ((lin: Linear, X: GpuTensor, Y: GpuTensor, o: ProductOptions) => custom(layer, lin, X, Y, o)) };
  // Returns true when the caller asked to stop here.
  const capture = async (site: Site, input: GpuTensor, cols: number): Promise<boolean> => {
    if (options.capture && sites.has(site)) {
      const names = linears.filter((l) => l.site === site).map((l) => l.name);
      await options.capture({ layer, site, linears: names, input, rows, cols });
    }
    return options.stopAfter === site;
  };
  await withScope(gpu, async (scratch) => {
    // The residual stream: in place, into `out`, or into a scratch copy when stopping early.
    let res: GpuTensor;
    if (options.stopAfter) res = options.stopAfter === 'mlp_in' || options.stopAfter === 'mlp_mid' ? scratch.tensor([rows, d]) : h.x;
    else res = options.out ?? h.x;
    if (res !== h.x) gpu.copy(h.x, res, rows * d * 4);

    const eps = c.normEps;
    const offset = c.normOffset;
    /** A sublayer's output `y` into the residual stream: res += y, or res += norm(y) (Gemma's post-norms). */
    const addOutput = (lin: Linear, input: GpuTensor, post: Norm | null) => {
      if (!post) return linear(ctx, lin, input, rows, res, { beta: 1 });
      const y = scratch.tensor([rows, d]);
      linear(ctx, lin, input, rows, y);
      rowNorm(gpu, y, res, { rows, cols: d, eps, weight: post.w, offset, accumulate: true });
    };

    // --- attention
    const normed = scratch.tensor([rows, d]);
    rowNorm(gpu, h.x, normed, { rows, cols: d, eps, weight: w.attnNorm.w, bias: w.attnNorm.b, offset });
    if (await capture('attn_in', normed, d)) return;
    // Head counts come from the output projection's width: a structured run may have removed whole
    // key/value groups (with their query heads) from this block, keeping head_dim and the grouping.
    const hd = c.headDim;
    const heads = get('o')!.in / hd;
    const kvHeads = heads / (c.heads / c.kvHeads);
    const qCols = heads * hd;
    const kvCols = kvHeads * hd;
    const ld = qCols + 2 * kvCols;
    const qkv = scratch.tensor([rows, ld]);
    const fused = get('qkv');
    if (fused) linear(ctx, fused, normed, rows, qkv);
    else {
      linear(ctx, get('q')!, normed, rows, qkv, { ld, off: 0 });
      linear(ctx, get('k')!, normed, rows, qkv, { ld, off: qCols });
      linear(ctx, get('v')!, normed, rows, qkv, { ld, off: qCols + kvCols });
    }
    if (w.qNorm) headNorm(gpu, qkv, { rows, heads, cols: hd, ld, off: 0, eps, weight: w.qNorm.w, offset });
    if (w.kNorm) headNorm(gpu, qkv, { rows, heads: kvHeads, cols: hd, ld, off: qCols, eps, weight: w.kNorm.w, offset });
    const attn = scratch.tensor([rows, qCols]);
    if (options.attend) options.attend(layer, qkv, attn, { rows, ld, heads, kvHeads, qCols, kvCols });
    else {
      if (rotary) applyRotary(gpu, qkv, rotary, { rows, seqlen: h.seqlen, ld, heads: heads + kvHeads, headDim: hd, rotaryDim: c.rotaryDim });
      causalAttention(gpu, qkv, attn, {
        windows: h.windows,
        seqlen: h.seqlen,
        heads,
        kvHeads,
        headDim: hd,
        ld,
        kOff: qCols,
        vOff: qCols + kvCols,
        outLd: qCols,
        scale: attentionScale(c, layer),
        window: arch.blocks[layer].slidingWindow,
      });
    }
    if (await capture('attn_out', attn, qCols)) return;
    addOutput(get('o')!, attn, w.postAttnNorm);

    // --- MLP
    rowNorm(gpu, res, normed, { rows, cols: d, eps, weight: w.mlpNorm.w, bias: w.mlpNorm.b, offset });
    if (await capture('mlp_in', normed, d)) return;
    const down = get('down')!;
    const width = down.in;
    const mid = scratch.tensor([rows, width]);
    const fusedGateUp = get('gate_up');
    if (fusedGateUp) {
      const gateUp = scratch.tensor([rows, 2 * width]);
      linear(ctx, fusedGateUp, normed, rows, gateUp);
      gatedFusedAct(gpu, gateUp, mid, rows, width, c.activation);
    } else if (c.gatedMlp) {
      const up = scratch.tensor([rows, width]);
      linear(ctx, get('gate')!, normed, rows, mid);
      linear(ctx, get('up')!, normed, rows, up);
      gatedAct(gpu, mid, up, rows * width, c.activation);
    } else {
      linear(ctx, get('fc')!, normed, rows, mid, { act: c.activation });
    }
    if (await capture('mlp_mid', mid, width)) return;
    addOutput(down, mid, w.postMlpNorm);
  });
}
