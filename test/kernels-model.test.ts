// The forward pass's kernels (attention, embedding, loss, norm, rotary) against float64 CPU
// references on edge shapes: one row, one column, sizes that are not multiples of the workgroup,
// grids folded past 65535 workgroups, windows, grouped key/value heads, vocabulary chunks.
import { describe, expect, it } from 'vitest';
import { causalAttention, expandTemplate, type AttentionShape } from '../src/kernels/attention';
import { embedTokens } from '../src/kernels/embedding';
import { IGNORE_TARGET, lossChunk, nllFromState } from '../src/kernels/loss';
import { headNorm, rowNorm } from '../src/kernels/norm';
import { applyRotary, rotaryTable } from '../src/kernels/rotary';
import { testGpu } from './helpers/gpu';
import { f32, maxAbs, maxAbsDiff, randn, rng } from './helpers/reference';

/** Largest 1-D grid of 64-invocation workgroups that fits one dimension. */
const UNFOLDED = 65535 * 64;

/** Causal attention per window and head in float64, key/value head h / group (HF repeat_kv). */
function attentionRef(X: Float32Array, s: AttentionShape): Float64Array {
  const { windows: W, seqlen: T, heads: H, kvHeads: KV, headDim: hd, ld, outLd } = s;
  const out = new Float64Array(W * T * outLd);
  const group = H / KV;
  for (let w = 0; w < W; w++) {
    for (let h = 0; h < H; h++) {
      const kCol = s.kOff + Math.floor(h / group) * hd;
      const vCol = s.vOff + Math.floor(h / group) * hd;
      for (let t = 0; t < T; t++) {
        const q = (w * T + t) * ld + h * hd;
        // Sliding window: only keys j > t − window (transformers' sliding_window_overlay).
        const first = Math.max(0, t - (s.window ?? Infinity) + 1);
        const scores = new Float64Array(t + 1).fill(-Infinity);
        for (let j = first; j <= t; j++) {
          let dot = 0;
          for (let d = 0; d < hd; d++) dot += X[q + d] * X[(w * T + j) * ld + kCol + d];
          scores[j] = s.scale * dot;
        }
        const m = Math.max(...scores);
        let sum = 0;
        for (let j = first; j <= t; j++) sum += (scores[j] = Math.exp(scores[j] - m));
        for (let d = 0; d < hd; d++) {
          let acc = 0;
          for (let j = first; j <= t; j++) acc += scores[j] * X[(w * T + j) * ld + vCol + d];
          out[(w * T + t) * outLd + h * hd + d] = acc / sum;
        }
      }
    }
  }
  return out;
}

describe('attention kernel against float64', () => {
  // windows, seqlen, heads, kvHeads, headDim, extra columns in the q|k|v row and in the output row
  const cases: [number, number, number, number, number, number, number][] = [
    [1, 1, 1, 1, 4, 0, 0], // one token, one head, one vec4
    [2, 5, 3, 1, 8, 4, 4], // multi-query (one k/v head), padded rows
    [3, 13, 6, 2, 16, 0, 8], // grouped k/v heads (group 3), several windows
    [1, 130, 4, 4, 32, 4, 0], // multi-head, more queries than one workgroup covers
    [2, 67, 2, 1, 64, 0, 4], // wide heads (one query per invocation), 67 = 64 + 3
  ];
  for (const [W, T, H, KV, hd, padIn, padOut] of cases) {
    it(`${W} window(s) of ${T}, ${H} heads over ${KV} k/v heads of width ${hd}`, async () => {
      const gpu = await testGpu();
      const ld = (H + 2 * KV) * hd + padIn;
      const outLd = H * hd + padOut;
      const X = f32(randn(W * T * ld, W + T + H + hd));
      const shape: AttentionShape = { windows: W, seqlen: T, heads: H, kvHeads: KV, headDim: hd, ld, kOff: H * hd, vOff: (H + KV) * hd, outLd, scale: 1 / Math.sqrt(hd) };
      const ref = attentionRef(X, shape);
      const qkv = gpu.upload(X, [W * T, ld]);
      for (const qb of [undefined, 1, 3]) {
        const sentinel = new Float32Array(W * T * outLd).fill(7);
        const out = gpu.upload(sentinel, [W * T, outLd]);
        causalAttention(gpu, qkv, out, { ...shape, queriesPerInvocation: qb });
        const got = await gpu.read(out);
        // Columns past the heads are not written.
        for (let r = 0; r < W * T; r++) for (let c = H * hd; c < outLd; c++) ref[r * outLd + c] = 7;
        expect(maxAbsDiff(got, ref)).toBeLessThan(2e-6 * (1 + maxAbs(ref)));
        out.dispose();
      }
      qkv.dispose();
    });
  }

  // windows, seqlen, heads, kvHeads, headDim, sliding window
  const sliding: [number, number, number, number, number, number][] = [
    [1, 1, 1, 1, 4, 1], // one token, a window of one
    [2, 9, 2, 1, 8, 1], // each query sees only itself
    [3, 13, 6, 2, 16, 4], // window smaller than the queries one invocation holds together (QB 2)
    [1, 130, 2, 2, 12, 67], // window past one workgroup's queries, 130 = 2·64 + 2
    [2, 7, 2, 1, 32, 7], // window = seqlen: plain causal
  ];
  for (const [W, T, H, KV, hd, window] of sliding) {
    it(`sliding window of ${window} over ${W} window(s) of ${T}, ${H}/${KV} heads of width ${hd}`, async () => {
      const gpu = await testGpu();
      const ld = (H + 2 * KV) * hd;
      const X = f32(randn(W * T * ld, 100 + T + window));
      const shape: AttentionShape = { windows: W, seqlen: T, heads: H, kvHeads: KV, headDim: hd, ld, kOff: H * hd, vOff: (H + KV) * hd, outLd: H * hd, scale: 0.7, window };
      const ref = attentionRef(X, shape);
      const qkv = gpu.upload(X, [W * T, ld]);
      for (const qb of [undefined, 1, 3]) {
        const out = gpu.tensor([W * T, H * hd]);
        causalAttention(gpu, qkv, out, { ...shape, queriesPerInvocation: qb });
        expect(maxAbsDiff(await gpu.read(out), ref)).toBeLessThan(2e-6 * (1 + maxAbs(ref)));
        out.dispose();
      }
      // A window shorter than the sequence changes the result (the mask is really applied).
      if (window < T) expect(maxAbsDiff(ref, attentionRef(X, { ...shape, window: null }))).toBeGreaterThan(1e-3);
      qkv.dispose();
    });
  }

  it('reads k and v from anywhere in the row (v before k)', async () => {
    const gpu = await testGpu();
    const [W, T, H, KV, hd] = [1, 9, 2, 1, 8];
    const ld = 40;
    const X = f32(randn(W * T * ld, 11));
    const shape: AttentionShape = { windows: W, seqlen: T, heads: H, kvHeads: KV, headDim: hd, ld, kOff: 28, vOff: 16, outLd: H * hd, scale: 0.7 };
    const qkv = gpu.upload(X, [W * T, ld]);
    const out = gpu.tensor([W * T, H * hd]);
    causalAttention(gpu, qkv, out, shape);
    const ref = attentionRef(X, shape);
    expect(maxAbsDiff(await gpu.read(out), ref)).toBeLessThan(2e-6 * (1 + maxAbs(ref)));
    qkv.dispose();
    out.dispose();
  });

  it('refuses heads that do not group and rows that are not vec4-aligned', async () => {
    const gpu = await testGpu();
    const t = gpu.tensor([64]);
    const base: AttentionShape = { windows: 1, seqlen: 1, heads: 2, kvHeads: 2, headDim: 4, ld: 24, kOff: 8, vOff: 16, outLd: 8, scale: 1 };
    expect(() => causalAttention(gpu, t, t, { ...base, heads: 3 })).toThrow(/not a multiple/);
    expect(() => causalAttention(gpu, t, t, { ...base, headDim: 6, ld: 36, kOff: 12, vOff: 24, outLd: 12 })).toThrow(/multiples of 4/);
    expect(() => causalAttention(gpu, t, t, { ...base, kOff: 9 })).toThrow(/multiples of 4/);
    t.dispose();
  });

  it('unrolls nested //#for blocks and refuses malformed ones', () => {
    expect(expandTemplate('a\n//#for i\nx{i}\n//#for d\ny{i}{d}\n//#end\n//#end\nb{i}', { i: 2, d: 2 })).toBe('a\nx0\ny00\ny01\nx1\ny10\ny11\nb{i}');
    expect(() => expandTemplate('//#for i\nx', { i: 1 })).toThrow(/not closed/);
    expect(() => expandTemplate('x\n//#end', {})).toThrow(/unmatched/);
    expect(() => expandTemplate('//#for q\n//#end', {})).toThrow(/no count/);
  });
});

describe('embedding kernel against float64', () => {
  it('gathers token rows chunk by chunk, with and without learned positions', async () => {
    const gpu = await testGpu();
    for (const [rows, cols, seqlen, posOffset] of [
      [1, 1, 1, 0],
      [13, 3, 5, 2],
      [70, 65, 7, 0],
    ]) {
      const vocab = 37;
      const chunks = [
        [0, 16],
        [16, 20],
        [36, 1],
      ];
      const r = rng(rows + cols);
      const tok = Uint32Array.from({ length: rows }, (_, i) => (i === 0 ? 36 : i === 1 ? 15 : Math.floor(r() * vocab)));
      const E = f32(randn(vocab * cols, cols));
      const P = f32(randn((seqlen + posOffset) * cols, seqlen));
      for (const withPositions of [false, true]) {
        const tTok = gpu.upload(tok);
        const tP = gpu.upload(P);
        const X = gpu.upload(new Float32Array(rows * cols).fill(-9));
        const tables = chunks.map(([start, count]) => gpu.upload(E.slice(start * cols, (start + count) * cols)));
        chunks.forEach(([vStart, vCount], i) =>
          embedTokens(gpu, tTok, tables[i], X, { rows, cols, vStart, vCount, seqlen, posOffset, positions: withPositions ? tP : null }),
        );
        const ref = new Float64Array(rows * cols);
        for (let i = 0; i < rows; i++) {
          for (let c = 0; c < cols; c++) ref[i * cols + c] = E[tok[i] * cols + c] + (withPositions ? P[((i % seqlen) + posOffset) * cols + c] : 0);
        }
        expect(maxAbsDiff(await gpu.read(X), ref)).toBeLessThan(1e-6 * (1 + maxAbs(ref)));
        for (const t of [tTok, tP, X, ...tables]) t.dispose();
      }
    }
  });

  it('leaves rows whose token is outside the chunk alone, on a grid folded past 65535 workgroups', async () => {
    const gpu = await testGpu();
    const cols = 1024;
    const rows = Math.floor(UNFOLDED / cols) + 1;
    const tok = Uint32Array.from({ length: rows }, (_, i) => i % 5);
    const E = f32(randn(5 * cols, 2));
    const tTok = gpu.upload(tok);
    const table = gpu.upload(E.slice(2 * cols, 5 * cols));
    const X = gpu.upload(new Float32Array(rows * cols).fill(-9));
    embedTokens(gpu, tTok, table, X, { rows, cols, vStart: 2, vCount: 3, seqlen: rows });
    const got = await gpu.read(X);
    let worst = 0;
    for (let i = 0; i < rows; i++) {
      for (let c = 0; c < cols; c++) worst = Math.max(worst, Math.abs(got[i * cols + c] - (tok[i] >= 2 ? E[tok[i] * cols + c] : -9)));
    }
    expect(worst).toBe(0);
    for (const t of [tTok, table, X]) t.dispose();
  });
});

describe('loss kernel against float64', () => {
  it('streams logsumexp − target logit over vocabulary chunks and row blocks', async () => {
    const gpu = await testGpu();
    for (const [rows, vocab, ld] of [
      [1, 1, 1],
      [3, 5, 7],
      [70, 130, 130],
    ]) {
      const logits = f32(randn(rows * ld, rows + vocab).map((v) => 4 * v));
      const r = rng(vocab);
      const targets = Uint32Array.from({ length: rows }, (_, i) => (i === rows - 1 && rows > 1 ? IGNORE_TARGET : Math.floor(r() * vocab)));
      const tTargets = gpu.upload(targets);
      const state = gpu.tensor([rows * 3]);
      // Vocabulary chunks of at most 48 ids; rows in two blocks (rowOff) where there are two rows or more.
      const split = Math.ceil(rows / 2);
      const blocks = rows > 1 ? [[0, split], [split, rows - split]] : [[0, rows]];
      const uploads = [];
      for (const [rowOff, n] of blocks) {
        for (let vStart = 0; vStart < vocab; vStart += 48) {
          const cols = Math.min(48, vocab - vStart);
          // The chunk [n, cols] of rows rowOff… is a view into logits with row length ld.
          const chunk = new Float32Array(n * ld);
          for (let i = 0; i < n; i++) for (let c = 0; c < cols; c++) chunk[i * ld + c] = logits[(rowOff + i) * ld + vStart + c];
          const L = gpu.upload(chunk);
          uploads.push(L);
          lossChunk(gpu, L, tTargets, state, { rows: n, cols, ld, vStart, rowOff, first: vStart === 0 });
        }
      }
      const nll = nllFromState(await gpu.read(state), targets);
      for (let i = 0; i < rows; i++) {
        if (targets[i] === IGNORE_TARGET) {
          expect(nll[i]).toBeNaN();
          continue;
        }
        const row = Array.from(logits.subarray(i * ld, i * ld + vocab));
        const m = Math.max(...row);
        const ref = m + Math.log(row.reduce((a, v) => a + Math.exp(v - m), 0)) - row[targets[i]];
        expect(Math.abs(nll[i] - ref)).toBeLessThan(2e-5 * (1 + Math.abs(ref)));
      }
      for (const t of [tTargets, state, ...uploads]) t.dispose();
    }
  });
});

describe('norm kernel against float64', () => {
  function normRef(X: Float32Array, rows: number, cols: number, eps: number, w: Float32Array, b: Float32Array | null): Float64Array {
    const out = new Float64Array(rows * cols);
    for (let r = 0; r < rows; r++) {
      const x = X.subarray(r * cols, (r + 1) * cols);
      const mean = b ? x.reduce((a, v) => a + v, 0) / cols : 0;
      const ms = x.reduce((a, v) => a + (v - mean) ** 2, 0) / cols;
      const inv = 1 / Math.sqrt(ms + eps);
      for (let c = 0; c < cols; c++) out[r * cols + c] = (x[c] - mean) * inv * w[c] + (b ? b[c] : 0);
    }
    return out;
  }

  it('RMSNorm and LayerNorm (offset rows) on one row, one column and non-multiples of 64', async () => {
    const gpu = await testGpu();
    for (const [rows, cols] of [
      [1, 1],
      [65, 1],
      [1, 300],
      [130, 7],
    ]) {
      // An offset of 30 checks that LayerNorm centres before squaring.
      const X = f32(randn(rows * cols, rows + cols).map((v) => 2 * v + 30));
      const w = f32(randn(cols, cols + 1));
      const b = f32(randn(cols, cols + 2));
      for (const layer of [false, true]) {
        const tX = gpu.upload(X);
        const tW = gpu.upload(w);
        const tB = gpu.upload(b);
        const Y = gpu.tensor([rows * cols]);
        rowNorm(gpu, tX, Y, { rows, cols, eps: 1e-5, weight: tW, bias: layer ? tB : null });
        const ref = normRef(X, rows, cols, 1e-5, w, layer ? b : null);
        expect(maxAbsDiff(await gpu.read(Y), ref)).toBeLessThan(2e-5 * (1 + maxAbs(ref)));
        for (const t of [tX, tW, tB, Y]) t.dispose();
      }
    }
  });

  it('Gemma (1 + w) accumulated into Y, and per-head RMSNorm in place on strided heads of a q|k|v row', async () => {
    const gpu = await testGpu();
    const rows = 67;
    const cols = 9;
    const X = f32(randn(rows * cols, 3));
    const w = f32(randn(cols, 4));
    const Y0 = f32(randn(rows * cols, 5));
    const tX = gpu.upload(X);
    const tW = gpu.upload(w);
    const Y = gpu.upload(Y0);
    rowNorm(gpu, tX, Y, { rows, cols, eps: 1e-6, weight: tW, offset: 1, accumulate: true });
    const ref = normRef(X, rows, cols, 1e-6, f32(w.map((v) => 1 + v)), null).map((v, i) => v + Y0[i]);
    expect(maxAbsDiff(await gpu.read(Y), ref)).toBeLessThan(2e-5 * (1 + maxAbs(ref)));
    // 3 heads of width 8 from column 4 of rows 36 wide; the other columns stay as they are.
    const ld = 36;
    const hd = 8;
    const Q = f32(randn(rows * ld, 6));
    const hw = f32(randn(hd, 7));
    const tQ = gpu.upload(Q);
    const tHw = gpu.upload(hw);
    headNorm(gpu, tQ, { rows, heads: 3, cols: hd, ld, off: 4, eps: 1e-6, weight: tHw });
    const expected = Float64Array.from(Q);
    for (let r = 0; r < rows; r++) {
      for (let h = 0; h < 3; h++) {
        const at = r * ld + 4 + h * hd;
        expected.set(normRef(Q.subarray(at, at + hd), 1, hd, 1e-6, hw, null), at);
      }
    }
    expect(maxAbsDiff(await gpu.read(tQ), expected)).toBeLessThan(2e-5 * (1 + maxAbs(expected)));
    for (const t of [tX, tW, Y, tQ, tHw]) t.dispose();
  });

  it('normalises every row of a grid folded past 65535 workgroups', async () => {
    const gpu = await testGpu();
    const rows = UNFOLDED + 3;
    const X = f32(randn(rows, 5));
    const tX = gpu.upload(X);
    const tW = gpu.upload(f32([0.5]));
    const tB = gpu.upload(f32([0.25]));
    const Y = gpu.tensor([rows]);
    // One column: RMSNorm gives 0.5·x/sqrt(x² + eps) = ±0.5 (up to eps); LayerNorm gives the bias.
    rowNorm(gpu, tX, Y, { rows, cols: 1, eps: 1e-6, weight: tW });
    let got = await gpu.read(Y);
    let worst = 0;
    for (let i = 0; i < rows; i++) worst = Math.max(worst, Math.abs(got[i] - (0.5 * X[i]) / Math.sqrt(X[i] * X[i] + 1e-6)));
    expect(worst).toBeLessThan(1e-5);
    rowNorm(gpu, tX, Y, { rows, cols: 1, eps: 1e-6, weight: tW, bias: tB });
    got = await gpu.read(Y);
    expect(got.every((v) => v === 0.25)).toBe(true);
    for (const t of [tX, tW, tB, Y]) t.dispose();
  });
});

describe('rotary kernel against float64', () => {
  it('rotates the q and k heads of each window (rotate-half order) and leaves v alone', async () => {
    const gpu = await testGpu();
    // rows, seqlen, rotated heads, head_dim, extra (v and padding) columns, position offset (KV-cache decoding)
    for (const [rows, seqlen, heads, hd, extra, posOffset] of [
      [1, 1, 1, 2, 0, 0],
      [13, 5, 3, 6, 7, 0],
      [70, 70, 2, 64, 64, 0],
      [1, 1, 3, 6, 7, 11],
      [3, 3, 2, 8, 0, 5],
    ]) {
      const half = hd / 2;
      const invFreq = Array.from({ length: half }, (_, i) => 10000 ** ((-2 * i) / hd));
      const table = rotaryTable(invFreq, seqlen + posOffset);
      const ld = heads * hd + extra;
      const X0 = f32(randn(rows * ld, rows + hd));
      const X = gpu.upload(X0);
      const tTable = gpu.upload(table);
      applyRotary(gpu, X, tTable, { rows, seqlen, ld, heads, headDim: hd, posOffset });
      const ref = Float64Array.from(X0);
      for (let r = 0; r < rows; r++) {
        const pos = (r % seqlen) + posOffset;
        for (let h = 0; h < heads; h++) {
          for (let i = 0; i < half; i++) {
            const a = r * ld + h * hd + i;
            const [c, s] = [Math.cos(pos * invFreq[i]), Math.sin(pos * invFreq[i])];
            ref[a] = X0[a] * c - X0[a + half] * s;
            ref[a + half] = X0[a + half] * c + X0[a] * s;
          }
        }
      }
      expect(maxAbsDiff(await gpu.read(X), ref)).toBeLessThan(2e-6 * (1 + maxAbs(ref)));
      X.dispose();
      tTable.dispose();
    }
  });

  it('covers a grid folded past 65535 workgroups', async () => {
    const gpu = await testGpu();
    const [heads, hd] = [2, 128];
    const rows = Math.floor(UNFOLDED / (heads * (hd / 2))) + 1;
    const seqlen = 3;
    const invFreq = Array.from({ length: hd / 2 }, (_, i) => 10000 ** ((-2 * i) / hd));
    const table = rotaryTable(invFreq, seqlen);
    const X0 = f32(randn(rows * heads * hd, 9));
    const X = gpu.upload(X0);
    const tTable = gpu.upload(table);
    applyRotary(gpu, X, tTable, { rows, seqlen, ld: heads * hd, heads, headDim: hd });
    const got = await gpu.read(X);
    let worst = 0;
    for (let r = 0; r < rows; r++) {
      for (let h = 0; h < heads; h++) {
        for (let i = 0; i < hd / 2; i++) {
          const a = (r * heads + h) * hd + i;
          const t = ((r % seqlen) * (hd / 2) + i) * 2;
          worst = Math.max(worst, Math.abs(got[a] - (X0[a] * table[t] - X0[a + hd / 2] * table[t + 1])));
        }
      }
    }
    expect(worst).toBeLessThan(1e-5);
    X.dispose();
    tTable.dispose();
  });
});
