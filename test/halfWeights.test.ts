/**
 * Weights at 2 bytes on the GPU: the packed BF16/F16 product and gather kernels against float64 on
 * edge shapes; the forward pass of BF16 and F16 checkpoints against the same checkpoint uploaded as
 * f32; every kind of weight split over a lowered binding limit; 16-bit tensors read by row range
 * from a Node file and a browser File.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bytesSource } from '../src/formats/byteSource';
import { bf16ToF32, f16ToF32, f32ToBf16Array, f32ToF16Array, openSafetensors, type WritableDType } from '../src/formats/safetensors';
import type { Gpu } from '../src/gpu/runtime';
import { addPositions, embedTokens } from '../src/kernels/embedding';
import { packedLinear, type PackedFormat } from '../src/kernels/packed';
import { resolveArchitecture } from '../src/model/architectures';
import { parseConfig } from '../src/model/config';
import { ModelRunner, type RunnerOptions } from '../src/model/forward';
import { filesFolder, openModel, safetensorsSource, type TensorSource } from '../src/model/loader';
import { readWeight } from '../src/model/gpuWeights';
import { openModelDir } from '../src/model/nodeFolder';
import { checkpointFile, gpt2Checkpoint, llamaCheckpoint, randomTokens, type Checkpoint } from './helpers/checkpoints';
import { testGpu } from './helpers/gpu';
import { maxAbs, maxAbsDiff, randn, rng } from './helpers/reference';

/** 16-bit patterns of `values` in `format` and the values they stand for. */
function halves(values: ArrayLike<number>, format: PackedFormat): { bits: Uint16Array; exact: Float64Array } {
  const bits = format === 'bf16' ? f32ToBf16Array(Float32Array.from(values)) : f32ToF16Array(Float32Array.from(values));
  const exact = Float64Array.from(bits, (b) => (format === 'bf16' ? bf16ToF32(b) : f16ToF32(b)));
  return { bits, exact };
}

/** Packed two per u32, low half first, written here independently of the loader. */
function pack(bits: Uint16Array): Uint32Array {
  const words = new Uint32Array(Math.ceil(bits.length / 2));
  for (let i = 0; i < bits.length; i++) words[i >> 1] = (words[i >> 1] | (bits[i] << (16 * (i & 1)))) >>> 0;
  return words;
}

/** Weight values with the awkward ones mixed in: zeros, signed zeros, F16 subnormals, large magnitudes. */
function weights(n: number, seed: number): Float64Array {
  const w = randn(n, seed);
  const specials = [0, -0, 3e-6, -5e-7, 60000, -1.5e-5];
  for (let i = 0; i < n; i += 7) w[i] = specials[(i / 7) % specials.length];
  return w;
}

describe('packed 16-bit kernels against float64', () => {
  it('packedLinear (scalar and vec4 variants): Y = X·Wᵀ, placed with offsets or accumulated, BF16 and F16 weights, edge shapes', async () => {
    const gpu = await testGpu();
    // One row, one column, odd K (pairs straddling rows), sizes off the 32 × 32 tile; K % 4 = 0 also runs the vec4 variant.
    const shapes: [number, number, number][] = [
      [1, 1, 1],
      [1, 7, 2],
      [4, 1, 9],
      [33, 37, 31],
      [2, 65, 64],
      [40, 3, 1],
      [1, 1, 4],
      [5, 33, 8],
      [35, 2, 12],
    ];
    const cases = (['bf16', 'f16'] as const).flatMap((format) =>
      shapes.flatMap((s) => (s[2] % 4 === 0 ? (['scalar', 'vec4'] as const) : (['scalar'] as const)).map((variant) => ({ format, s, variant }))),
    );
    for (const { format, s: [M, N, K], variant } of cases) {
      const { bits, exact: w } = halves(weights(N * K, M + N + K), format);
      const lda = K + 4;
      const ldc = N + 5;
      const offA = lda; // start at row 1 of X
      const offC = 3;
      const X = Float32Array.from(randn((M + 1) * lda, 3 * M + K));
      const Y0 = Float32Array.from(randn(M * ldc + offC, N));
      for (const accumulate of [false, true]) {
        const tX = gpu.upload(X);
        const tW = gpu.upload(pack(bits));
        const tY = gpu.upload(Y0);
        packedLinear(gpu, tX, tW, tY, { M, N, K, format, lda, offA, ldc, offC, accumulate, variant });
        const got = await gpu.read(tY);
        const ref = Float64Array.from(Y0);
        for (let i = 0; i < M; i++) {
          for (let j = 0; j < N; j++) {
            let s = 0;
            for (let k = 0; k < K; k++) s += X[offA + i * lda + k] * w[j * K + k];
            ref[offC + i * ldc + j] = (accumulate ? Y0[offC + i * ldc + j] : 0) + s;
          }
        }
        expect(maxAbsDiff(got, ref), `${format} ${variant} ${M}×${N}×${K} accumulate=${accumulate}`).toBeLessThan(2e-6 * (1 + maxAbs(ref)));
        for (const t of [tX, tW, tY]) t.dispose();
      }
    }
  });

  it('embedding: packed token rows gathered and packed position rows added, chunk by chunk, odd sizes', async () => {
    const gpu = await testGpu();
    for (const format of ['bf16', 'f16'] as const) {
      for (const [rows, cols, seqlen, posOffset] of [
        [1, 1, 1, 0],
        [13, 3, 5, 2],
        [9, 65, 4, 0],
      ]) {
        const vocab = 37;
        // Chunks of odd element counts start in the middle of a word of the whole table: each is packed on its own.
        const chunks = [
          [0, 15],
          [15, 21],
          [36, 1],
        ];
        const r = rng(rows + cols);
        const tok = Uint32Array.from({ length: rows }, (_, i) => (i === 0 ? 36 : i === 1 ? 14 : Math.floor(r() * vocab)));
        const E = halves(weights(vocab * cols, cols), format);
        const positions = seqlen + posOffset;
        const P = halves(weights(positions * cols, seqlen), format);
        const pChunks = [
          [0, 1],
          [1, positions - 1],
        ].filter(([, n]) => n > 0);
        const tTok = gpu.upload(tok);
        const X = gpu.upload(new Float32Array(rows * cols).fill(-9));
        const tables = chunks.map(([s, n]) => gpu.upload(pack(E.bits.slice(s * cols, (s + n) * cols))));
        const pTables = pChunks.map(([s, n]) => gpu.upload(pack(P.bits.slice(s * cols, (s + n) * cols))));
        chunks.forEach(([vStart, vCount], i) => embedTokens(gpu, tTok, tables[i], X, { rows, cols, vStart, vCount, seqlen, posOffset, format }));
        pChunks.forEach(([vStart, vCount], i) => addPositions(gpu, pTables[i], X, { rows, cols, vStart, vCount, seqlen, posOffset, format }));
        const ref = new Float64Array(rows * cols);
        for (let i = 0; i < rows; i++) {
          for (let c = 0; c < cols; c++) ref[i * cols + c] = E.exact[tok[i] * cols + c] + P.exact[((i % seqlen) + posOffset) * cols + c];
        }
        expect(maxAbsDiff(await gpu.read(X), ref), `${format} ${rows}×${cols}`).toBeLessThanOrEqual(1e-7 * maxAbs(ref));
        for (const t of [tTok, X, ...tables, ...pTables]) t.dispose();
      }
    }
  });
});

/** The same checkpoint file, read as stored (16-bit) and with the 16-bit reads hidden (converted to f32 on the CPU). */
async function sources(ck: Checkpoint, dtype: WritableDType): Promise<{ packed: TensorSource; f32: TensorSource }> {
  const packed = safetensorsSource(await openSafetensors(bytesSource(checkpointFile(ck, dtype), 'model.safetensors')));
  return { packed, f32: { shapes: packed.shapes, readF32: (name) => packed.readF32(name) } };
}

function runnerFor(gpu: Gpu, ck: Checkpoint, source: TensorSource, options?: RunnerOptions): ModelRunner {
  const arch = resolveArchitecture(parseConfig(ck.config), source.shapes);
  return new ModelRunner(gpu, arch, source, options);
}

async function logits(gpu: Gpu, ck: Checkpoint, source: TensorSource, tokens: number[], windows: number, options?: RunnerOptions) {
  const run = runnerFor(gpu, ck, source, options);
  const out = await run.forwardLogits(tokens, windows, tokens.length / windows);
  const bytes = run.store.gpuBytes();
  run.dispose();
  return { out, bytes };
}

describe('forward pass on BF16 and F16 checkpoints', () => {
  it('gives the logits of the f32-upload path with the tables at 2 bytes per weight (llama BF16/F16, gpt2 Conv1D + learned positions)', async () => {
    const gpu = await testGpu();
    const cases: [string, Checkpoint, WritableDType][] = [
      ['llama bf16', llamaCheckpoint({ seed: 41, intermediate: 41 }), 'BF16'],
      ['llama f16 tied', llamaCheckpoint({ seed: 42, tie: true }), 'F16'],
      ['gpt2 bf16', gpt2Checkpoint({ seed: 43 }), 'BF16'],
    ];
    for (const [label, ck, dtype] of cases) {
      const { packed, f32 } = await sources(ck, dtype);
      const tokens = randomTokens(2 * 7, 50, 5);
      const a = await logits(gpu, ck, packed, tokens, 2);
      const b = await logits(gpu, ck, f32, tokens, 2);
      expect(maxAbsDiff(a.out, b.out) / maxAbs(b.out), label).toBeLessThanOrEqual(1e-6);
      // 50 × 32 values: 3200 bytes packed (a 4 KiB buffer), 6400 as f32 (8 KiB), per table.
      expect(a.bytes.tables * 2, label).toBe(b.bytes.tables);
      expect(a.bytes.blocks, label).toBeLessThan(0.6 * b.bytes.blocks);
    }
  });

  it('splits a vocabulary table, linears and a position table over a lowered binding limit: the same NLL as unsplit', async () => {
    const gpu = await testGpu();
    // Rows of 32 values: 64 bytes packed, so 7 rows per chunk (448 of 450 bytes); down_proj's rows
    // of 41 values take 5 per chunk (205 values, an odd count, padded to 103 words: 412 bytes).
    const cases: [string, Checkpoint, WritableDType, number, number][] = [
      ['llama bf16', llamaCheckpoint({ seed: 44, intermediate: 41 }), 'BF16', 450, 7],
      ['gpt2 f16', gpt2Checkpoint({ seed: 45 }), 'F16', 450, 7],
      ['gpt2 f32', gpt2Checkpoint({ seed: 46 }), 'F32', 450, 3],
      ['gpt2 bf16, 3 rows per chunk', gpt2Checkpoint({ seed: 50 }), 'BF16', 250, 3],
    ];
    for (const [label, ck, dtype, limit, tableRows] of cases) {
      const { packed } = await sources(ck, dtype);
      const T = 9;
      const tokens = randomTokens(2 * T, 50, 6);
      const whole = runnerFor(gpu, ck, packed);
      const split = runnerFor(gpu, ck, packed, { maxTableChunkBytes: limit });
      const a = await whole.windowsNll(tokens, 2, T);
      const b = await split.windowsNll(tokens, 2, T);
      const blocks = split.store;
      const table = await blocks.vocabTable(split.arch.embed);
      expect(table.chunks.length, label).toBe(Math.ceil(50 / tableRows));
      const first = await blocks.block(0);
      for (const l of first.linears.values()) expect(l.w.chunks.length, `${label} ${l.spec.name}`).toBeGreaterThan(1);
      const positions = await blocks.positions();
      if (positions) expect(positions.chunks.length, label).toBeGreaterThan(1);
      whole.dispose();
      split.dispose();
      const mean = (x: Float64Array) => [...x].filter((v) => !Number.isNaN(v)).reduce((s, v) => s + v, 0) / (2 * (T - 1));
      expect(Math.abs(mean(a) - mean(b)) / mean(a), label).toBeLessThanOrEqual(1e-6);
      expect(Math.exp(mean(b)), label).toBeGreaterThan(1);
    }
  });
});

describe('overrides on a 16-bit checkpoint', () => {
  it('replaces packed linears of a resident block with f32 ones (same shape, and a narrower MLP) as the f32-upload path does', async () => {
    const gpu = await testGpu();
    const ck = llamaCheckpoint({ seed: 48, intermediate: 40 });
    const { packed, f32 } = await sources(ck, 'BF16');
    const tokens = randomTokens(6, 50, 9);
    const results: Float32Array[] = [];
    for (const source of [packed, f32]) {
      const run = runnerFor(gpu, ck, source);
      await run.forwardLogits(tokens, 1, 6); // blocks resident: setLinear must replace their GPU weights
      const q = new Float32Array(await run.getLinear(0, 'self_attn.q_proj'));
      for (let i = 0; i < q.length; i += 2) q[i] = 0;
      run.setLinear(0, 'self_attn.q_proj', q);
      const keep = 24;
      const gate = (await run.getLinear(1, 'mlp.gate_proj')).slice(0, keep * 32);
      const up = (await run.getLinear(1, 'mlp.up_proj')).slice(0, keep * 32);
      const down = await run.getLinear(1, 'mlp.down_proj');
      const downKept = new Float32Array(32 * keep);
      for (let r = 0; r < 32; r++) downKept.set(down.subarray(r * 40, r * 40 + keep), r * keep);
      run.setLinear(1, 'mlp.gate_proj', gate, { out: keep });
      run.setLinear(1, 'mlp.up_proj', up, { out: keep });
      run.setLinear(1, 'mlp.down_proj', downKept, { in: keep });
      const block = await run.store.block(1);
      expect(block.linears.get('mlp.down_proj')!.w.format).toBe('f32');
      expect((await run.store.block(0)).linears.get('self_attn.k_proj')!.w.format).toBe(source === packed ? 'bf16' : 'f32');
      results.push(await run.forwardLogits(tokens, 1, 6));
      run.dispose();
    }
    expect(maxAbsDiff(results[0], results[1]) / maxAbs(results[1])).toBeLessThanOrEqual(1e-6);
  });
});

describe('16-bit weights uploaded as stored', () => {
  it('cuts a BF16/F16 weight into row chunks within the limit, filled piece by piece, each chunk holding its rows\' bit patterns', async () => {
    const gpu = await testGpu();
    const ck = gpt2Checkpoint({ seed: 49 });
    for (const dtype of ['BF16', 'F16'] as const) {
      const { packed } = await sources(ck, dtype);
      // wte [50, 32]: 5 rows (320 bytes) per chunk of at most 330; pieces of 6 values: 160 values per chunk → 27 pieces.
      const name = 'transformer.wte.weight';
      const w = await readWeight(gpu, packed, name, 50, 32, 330, { readValues: 7 });
      expect(w.format).toBe(dtype === 'BF16' ? 'bf16' : 'f16');
      expect(w.chunks.map((c) => [c.start, c.count])).toEqual(Array.from({ length: 10 }, (_, i) => [5 * i, 5]));
      const all = await packed.readHalf!(name);
      for (const c of w.chunks) {
        const words = new Uint32Array((await gpu.read(c.t)).buffer);
        expect(words).toEqual(pack(all.slice(c.start * 32, (c.start + c.count) * 32)));
      }
      // A Conv1D weight [in 32, out 96] as stored: transposed in 16 bits, then rows of 32 in chunks of 5 (the last of one row).
      const conv = 'transformer.h.0.attn.c_attn.weight';
      const cw = await readWeight(gpu, packed, conv, 96, 32, 330, { transposed: true });
      const stored = await packed.readHalf!(conv);
      const linear = new Uint16Array(96 * 32);
      for (let o = 0; o < 96; o++) for (let i = 0; i < 32; i++) linear[o * 32 + i] = stored[i * 96 + o];
      expect(cw.chunks.length).toBe(Math.ceil(96 / 5));
      for (const c of cw.chunks) expect(new Uint32Array((await gpu.read(c.t)).buffer)).toEqual(pack(linear.slice(c.start * 32, (c.start + c.count) * 32)));
      for (const c of [...w.chunks, ...cw.chunks]) c.t.dispose();
    }
  });
});

describe('16-bit tensors read as stored', () => {
  it('reads row ranges of a BF16 tensor from a Node file and from a browser File, as their bit patterns', async () => {
    const ck = llamaCheckpoint({ seed: 47 });
    const bytes = checkpointFile(ck, 'BF16');
    const dir = mkdtempSync(join(tmpdir(), 'half-weights-'));
    try {
      writeFileSync(join(dir, 'model.safetensors'), bytes);
      writeFileSync(join(dir, 'config.json'), JSON.stringify(ck.config));
      const fromDisk = await openModelDir(dir);
      const fromFile = await openModel(filesFolder([new File([bytes], 'model.safetensors'), new File([JSON.stringify(ck.config)], 'config.json')], 'm'));
      const name = 'model.embed_tokens.weight';
      const expected = f32ToBf16Array(ck.tensors.get(name)!.data);
      for (const model of [fromDisk, fromFile]) {
        const w = model.weights;
        expect(w.halfDType?.(name)).toBe('BF16');
        expect(await w.readHalf!(name)).toEqual(expected);
        // An odd start and count: elements 33…33+95−1.
        expect(await w.readHalf!(name, 33, 95)).toEqual(expected.slice(33, 128));
        await expect(w.readHalf!(name, 50 * 32 - 1, 2)).rejects.toThrow(/outside its 3200 bytes/);
        await model.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
