/**
 * Float64 CPU forward pass, written plainly from the Hugging Face model definitions (LlamaModel /
 * Qwen2 / Mistral / Qwen3, Phi3Model, Gemma3TextModel, GPT2Model, OPTDecoder). It is the oracle the
 * GPU pass is tested against, so it shares nothing with it but the tensor names: it reads the
 * tensors in their stored layouts (GPT-2's Conv1D as x·W + b with W [in, out]; fused c_attn,
 * qkv_proj and gate_up_proj split after the product), computes rotary angles itself, masks the
 * sliding window by comparing positions, and repeats key/value heads explicitly.
 */
import type { Architecture, LinearSpec, NormSpec } from './architectures';
import { attentionScale, ropeCosSinFactor, ropeInvFreq, type Activation } from './config';

export type TensorGetter = (name: string) => Float32Array;

type Mat = { data: Float64Array; rows: number; cols: number };

function mat(rows: number, cols: number): Mat {
  return { data: new Float64Array(rows * cols), rows, cols };
}

/** Consecutive column blocks of x of the given widths. */
function splitColumns(x: Mat, widths: number[]): Mat[] {
  let start = 0;
  return widths.map((w) => {
    const part = mat(x.rows, w);
    for (let r = 0; r < x.rows; r++) for (let i = 0; i < w; i++) part.data[r * w + i] = x.data[r * x.cols + start + i];
    start += w;
    return part;
  });
}

/** y = x·Wᵀ + b for nn.Linear (W [out, in]); y = x·W + b for Conv1D (W [in, out]). */
function applyLinear(x: Mat, spec: LinearSpec, get: TensorGetter, conv1d: boolean): Mat {
  const W = get(spec.weight);
  const b = spec.bias ? get(spec.bias) : null;
  const { out, in: inp } = spec;
  const y = mat(x.rows, out);
  for (let r = 0; r < x.rows; r++) {
    const xr = x.data.subarray(r * inp, (r + 1) * inp);
    for (let o = 0; o < out; o++) {
      let s = b ? b[o] : 0;
      if (conv1d) for (let i = 0; i < inp; i++) s += xr[i] * W[i * out + o];
      else for (let i = 0; i < inp; i++) s += xr[i] * W[o * inp + i];
      y.data[r * out + o] = s;
    }
  }
  return y;
}

/** Norm of each row of x, or of each `x.cols / w.length`-wide head of it (q/k norms). Gemma: × (1 + w). */
function applyNorm(x: Mat, spec: NormSpec, kind: 'rms' | 'layer', eps: number, get: TensorGetter, offset = 0): Mat {
  const w = get(spec.weight);
  if (w.length !== x.cols) {
    const heads = x.cols / w.length;
    const split = applyNorm({ data: x.data, rows: x.rows * heads, cols: w.length }, spec, kind, eps, get, offset);
    return { data: split.data, rows: x.rows, cols: x.cols };
  }
  const b = spec.bias ? get(spec.bias) : null;
  const y = mat(x.rows, x.cols);
  const n = x.cols;
  for (let r = 0; r < x.rows; r++) {
    const xr = x.data.subarray(r * n, (r + 1) * n);
    let mean = 0;
    if (kind === 'layer') {
      for (let i = 0; i < n; i++) mean += xr[i];
      mean /= n;
    }
    let v = 0;
    for (let i = 0; i < n; i++) v += (xr[i] - mean) ** 2;
    const inv = 1 / Math.sqrt(v / n + eps);
    for (let i = 0; i < n; i++) y.data[r * n + i] = (xr[i] - mean) * inv * (offset + w[i]) + (b ? b[i] : 0);
  }
  return y;
}

/** erf by its Maclaurin series (accurate to ~1e-9 for |x| < 4; beyond, |1 − |erf|| < 2e-8). */
function erf(x: number): number {
  if (Math.abs(x) >= 4) return Math.sign(x);
  let term = x;
  let sum = x;
  for (let n = 1; n < 200; n++) {
    term *= (-x * x) / n;
    const add = term / (2 * n + 1);
    sum += add;
    if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}

function act(x: number, a: Activation): number {
  switch (a) {
    case 'silu':
      return x / (1 + Math.exp(-x));
    case 'relu':
      return Math.max(0, x);
    case 'gelu':
      return 0.5 * x * (1 + erf(x / Math.SQRT2));
    case 'gelu_tanh':
      return 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));
  }
}

/**
 * HF rotate-half rotary embedding of `heads` heads of width hd in x [T, heads·hd], positions
 * 0..T−1, on the first 2·invFreq.length dimensions of each head (partial rotary), cos and sin × factor.
 */
function rotate(x: Mat, heads: number, hd: number, invFreq: Float64Array, factor: number): void {
  const half = invFreq.length;
  for (let t = 0; t < x.rows; t++) {
    for (let h = 0; h < heads; h++) {
      const base = t * x.cols + h * hd;
      for (let i = 0; i < half; i++) {
        const angle = t * invFreq[i];
        const c = factor * Math.cos(angle);
        const s = factor * Math.sin(angle);
        const x1 = x.data[base + i];
        const x2 = x.data[base + i + half];
        x.data[base + i] = x1 * c - x2 * s;
        x.data[base + i + half] = x2 * c + x1 * s;
      }
    }
  }
}

/** Logits [T, vocab] of one window of tokens (positions 0..T−1), in float64. */
export function referenceLogits(arch: Architecture, get: TensorGetter, tokens: ArrayLike<number>): Float64Array {
  const c = arch.config;
  const T = tokens.length;
  const d = c.hidden;
  const H = c.heads;
  const KV = c.kvHeads;
  const hd = c.headDim;

  // Embeddings (+ learned positions; OPT's table starts at offset 2).
  const x = mat(T, d);
  const E = get(arch.embed);
  const P = arch.positions ? get(arch.positions) : null;
  for (let t = 0; t < T; t++) {
    for (let i = 0; i < d; i++) {
      x.data[t * d + i] = E[tokens[t] * d + i] * c.embedScale + (P ? P[(t + c.positionOffset) * d + i] : 0);
    }
  }
  const norm = (input: Mat, spec: NormSpec) => applyNorm(input, spec, c.norm, c.normEps, get, c.normOffset);
  /** x += y, or x += norm(y) with Gemma's post-norm. */
  const residual = (y: Mat, post: NormSpec | null) => {
    const add = post ? norm(y, post) : y;
    for (let i = 0; i < x.data.length; i++) x.data[i] += add.data[i];
  };

  for (const block of arch.blocks) {
    const roles = new Map(block.linears.map((l) => [l.role, l]));
    // Every GPT-2 linear is a Conv1D (stored [in, out]); decided here by family, not by the spec's flag.
    const linear = (input: Mat, role: LinearSpec['role']) => applyLinear(input, roles.get(role)!, get, c.family === 'gpt2');
    // --- self-attention
    const hAttn = norm(x, block.attnNorm);
    let q: Mat;
    let k: Mat;
    let v: Mat;
    if (roles.has('qkv')) {
      // c_attn (GPT-2) and qkv_proj (Phi-3) produce [q | k | v] along the feature axis.
      [q, k, v] = splitColumns(linear(hAttn, 'qkv'), [H * hd, KV * hd, KV * hd]);
    } else {
      q = linear(hAttn, 'q');
      k = linear(hAttn, 'k');
      v = linear(hAttn, 'v');
    }
    if (block.qNorm) q = norm(q, block.qNorm);
    if (block.kNorm) k = norm(k, block.kNorm);
    if (c.positions === 'rotary') {
      // Layer-dependent (Gemma 3's local layers) and length-dependent (LongRoPE) frequencies.
      const invFreq = ropeInvFreq(c, T, block.index);
      const factor = ropeCosSinFactor(c, block.index);
      rotate(q, H, hd, invFreq, factor);
      rotate(k, KV, hd, invFreq, factor);
    }
    const scale = attentionScale(c, block.index);
    // transformers' sliding_window_overlay: key j is visible to query t when j > t − window.
    const window = block.slidingWindow ?? Infinity;
    const attn = mat(T, H * hd);
    const scores = new Float64Array(T);
    for (let h = 0; h < H; h++) {
      const g = Math.floor(h / (H / KV)); // repeat_kv: query head h reads key/value head h // n_rep
      for (let t = 0; t < T; t++) {
        const first = Math.max(0, t - window + 1);
        let max = -Infinity;
        for (let j = first; j <= t; j++) {
          let s = 0;
          for (let i = 0; i < hd; i++) s += q.data[t * H * hd + h * hd + i] * k.data[j * KV * hd + g * hd + i];
          scores[j] = s * scale;
          max = Math.max(max, scores[j]);
        }
        let sum = 0;
        for (let j = first; j <= t; j++) {
          scores[j] = Math.exp(scores[j] - max);
          sum += scores[j];
        }
        for (let i = 0; i < hd; i++) {
          let o = 0;
          for (let j = first; j <= t; j++) o += scores[j] * v.data[j * KV * hd + g * hd + i];
          attn.data[t * H * hd + h * hd + i] = o / sum;
        }
      }
    }
    residual(linear(attn, 'o'), block.postAttnNorm);

    // --- MLP
    const hMlp = norm(x, block.mlpNorm);
    let mid: Mat;
    if (roles.has('gate_up')) {
      // Phi-3: gate_up_proj's output chunks into gate | up.
      const fused = linear(hMlp, 'gate_up');
      const [gate, up] = splitColumns(fused, [fused.cols / 2, fused.cols / 2]);
      mid = gate;
      for (let i = 0; i < mid.data.length; i++) mid.data[i] = act(gate.data[i], c.activation) * up.data[i];
    } else if (c.gatedMlp) {
      const gate = linear(hMlp, 'gate');
      const up = linear(hMlp, 'up');
      mid = gate;
      for (let i = 0; i < mid.data.length; i++) mid.data[i] = act(gate.data[i], c.activation) * up.data[i];
    } else {
      mid = linear(hMlp, 'fc');
      for (let i = 0; i < mid.data.length; i++) mid.data[i] = act(mid.data[i], c.activation);
    }
    residual(linear(mid, 'down'), block.postMlpNorm);
  }

  const hf = norm(x, arch.finalNorm);
  const W = get(arch.lmHead);
  const V = c.vocab;
  const logits = new Float64Array(T * V);
  for (let t = 0; t < T; t++) {
    for (let vi = 0; vi < V; vi++) {
      let s = 0;
      for (let i = 0; i < d; i++) s += hf.data[t * d + i] * W[vi * d + i];
      logits[t * V + vi] = c.finalSoftcap === null ? s : c.finalSoftcap * Math.tanh(s / c.finalSoftcap);
    }
  }
  return logits;
}

/** NLL of tokens[t+1] given tokens[0..t], for t = 0..T−2, in float64. */
export function referenceNll(arch: Architecture, get: TensorGetter, tokens: ArrayLike<number>): Float64Array {
  const V = arch.config.vocab;
  const logits = referenceLogits(arch, get, tokens);
  const out = new Float64Array(tokens.length - 1);
  for (let t = 0; t + 1 < tokens.length; t++) {
    const row = logits.subarray(t * V, (t + 1) * V);
    let max = -Infinity;
    for (const v of row) max = Math.max(max, v);
    let sum = 0;
    for (const v of row) sum += Math.exp(v - max);
    out[t] = max + Math.log(sum) - row[tokens[t + 1]];
  }
  return out;
}
