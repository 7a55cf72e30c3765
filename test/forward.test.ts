import { describe, expect, it } from 'vitest';
import { resolveArchitecture, type Architecture } from '../src/model/architectures';
import { parseConfig } from '../src/model/config';
import { ModelRunner, nextTokenTargets, type CapturedInput, type RunnerOptions } from '../src/model/forward';
import { memorySource } from '../src/model/loader';
import { referenceLogits, referenceNll } from '../src/model/reference';
import { matmul } from '../src/kernels/matmul';
import { gpt2Checkpoint, llamaCheckpoint, optCheckpoint, randomTokens, type Checkpoint } from './helpers/checkpoints';
import { testGpu } from './helpers/gpu';
import { gramRef, maxAbs, maxAbsDiff } from './helpers/reference';

function setup(ck: Checkpoint): { arch: Architecture; get: (n: string) => Float32Array } {
  const arch = resolveArchitecture(parseConfig(ck.config), new Map([...ck.tensors].map(([n, t]) => [n, t.shape])));
  return { arch, get: (n) => ck.tensors.get(n)!.data };
}

async function runner(ck: Checkpoint, options?: RunnerOptions): Promise<{ run: ModelRunner; arch: Architecture; get: (n: string) => Float32Array }> {
  const gpu = await testGpu();
  const { arch, get } = setup(ck);
  return { run: new ModelRunner(gpu, arch, memorySource(ck.tensors), options), arch, get };
}

/** GPU logits of `windows` windows vs the float64 reference run on each window alone. */
async function compareLogits(ck: Checkpoint, windows: number, seqlen: number, options?: RunnerOptions): Promise<number> {
  const { run, arch, get } = await runner(ck, options);
  const V = arch.config.vocab;
  const tokens = randomTokens(windows * seqlen, V, 99);
  const gpuLogits = await run.forwardLogits(tokens, windows, seqlen);
  run.dispose();
  let worst = 0;
  for (let w = 0; w < windows; w++) {
    const ref = referenceLogits(arch, get, tokens.slice(w * seqlen, (w + 1) * seqlen));
    const got = gpuLogits.subarray(w * seqlen * V, (w + 1) * seqlen * V);
    worst = Math.max(worst, maxAbsDiff(got, ref) / Math.max(1, maxAbs(ref)));
  }
  return worst;
}

describe('GPU forward pass vs float64 reference', () => {
  it('llama with grouped-query attention and an untied head', async () => {
    expect(await compareLogits(llamaCheckpoint({ heads: 4, kvHeads: 2 }), 2, 9)).toBeLessThan(1e-4);
  });

  it('llama with a tied head, attention and MLP biases, head_dim 16', async () => {
    const ck = llamaCheckpoint({ hidden: 32, heads: 2, kvHeads: 1, tie: true, attentionBias: true, mlpBias: true, seed: 3 });
    expect(await compareLogits(ck, 2, 7)).toBeLessThan(1e-4);
  });

  it('qwen2 (q/k/v biases, sliding window from max_window_layers) and mistral (sliding window, longer and shorter than the window)', async () => {
    expect(await compareLogits(llamaCheckpoint({ modelType: 'qwen2', ropeTheta: 1e6, seed: 5 }), 2, 8)).toBeLessThan(1e-4);
    const qwen2 = llamaCheckpoint({ modelType: 'qwen2', seed: 4, extraConfig: { use_sliding_window: true, sliding_window: 3, max_window_layers: 1 } });
    expect(setup(qwen2).arch.blocks.map((b) => b.slidingWindow)).toEqual([null, 3]);
    expect(await compareLogits(qwen2, 1, 9)).toBeLessThan(1e-4);
    const mistral = llamaCheckpoint({ modelType: 'mistral', seed: 6, extraConfig: { sliding_window: 16 } });
    expect(await compareLogits(mistral, 1, 10)).toBeLessThan(1e-4);
    const short = llamaCheckpoint({ modelType: 'mistral', seed: 6, extraConfig: { sliding_window: 4 } });
    expect(await compareLogits(short, 2, 10)).toBeLessThan(1e-4);
  });

  it('gpt2 (Conv1D, fused c_attn, learned positions, gelu_new), both tensor-name prefixes', async () => {
    expect(await compareLogits(gpt2Checkpoint(), 2, 9)).toBeLessThan(1e-4);
    expect(await compareLogits(gpt2Checkpoint({ prefix: '', activation: 'gelu', seed: 8 }), 1, 6)).toBeLessThan(1e-4);
  });

  it('opt (positions offset 2, relu, tied and untied head)', async () => {
    expect(await compareLogits(optCheckpoint(), 2, 9)).toBeLessThan(1e-4);
    expect(await compareLogits(optCheckpoint({ tie: false, seed: 21 }), 1, 6)).toBeLessThan(1e-4);
  });

  it('splits the vocabulary table and the logits into chunks when buffers are small', async () => {
    // 32 floats per row: 10 rows per weight chunk, 2 rows × 10 columns per logits chunk.
    const opts = { maxTableChunkBytes: 10 * 32 * 4 + 4, maxLogitsBytes: 2 * 10 * 4 + 4 };
    const ck = llamaCheckpoint({ tie: true, seed: 11 });
    expect(await compareLogits(ck, 2, 5, opts)).toBeLessThan(1e-4);
    expect(await compareLogits(gpt2Checkpoint({ seed: 12 }), 1, 5, opts)).toBeLessThan(1e-4);
  });

  it('streams one block at a time and gives the same NLL as the reference', async () => {
    const ck = llamaCheckpoint({ layers: 3, seed: 17 });
    const { run, arch, get } = await runner(ck, { maxResidentBlocks: 1 });
    const T = 8;
    const tokens = randomTokens(2 * T, arch.config.vocab, 5);
    const h = await run.embed(tokens, 2, T);
    for (let l = 0; l < 3; l++) {
      await run.block(l, h);
      expect(run.residentBlocks()).toEqual([l]);
    }
    const nll = await run.headNll(h, nextTokenTargets(tokens, 2, T));
    h.x.dispose();
    run.dispose();
    for (let w = 0; w < 2; w++) {
      const ref = referenceNll(arch, get, tokens.slice(w * T, (w + 1) * T));
      for (let t = 0; t < T - 1; t++) expect(Math.abs(nll[w * T + t] - ref[t])).toBeLessThan(1e-4);
      expect(nll[w * T + T - 1]).toBeNaN();
    }
  });

  it('uses replaced (pruned) weights, and a narrower MLP', async () => {
    const ck = llamaCheckpoint({ seed: 19, intermediate: 40 });
    const { run, arch } = await runner(ck);
    const T = 6;
    const tokens = randomTokens(T, arch.config.vocab, 8);
    await run.forwardLogits(tokens, 1, T); // blocks now resident: setLinear must update them

    // Prune half of block 0's q_proj and all of block 1's o_proj to zero.
    const q = new Float32Array(await run.getLinear(0, 'self_attn.q_proj'));
    for (let i = 0; i < q.length; i += 2) q[i] = 0;
    run.setLinear(0, 'self_attn.q_proj', q);
    run.setLinear(1, 'self_attn.o_proj', new Float32Array(32 * 32));
    // Keep MLP channels 0..23 of block 1 (structured pruning shrinks gate/up rows and down columns).
    const keep = 24;
    const gate = (await run.getLinear(1, 'mlp.gate_proj')).slice(0, keep * 32);
    const up = (await run.getLinear(1, 'mlp.up_proj')).slice(0, keep * 32);
    const downFull = await run.getLinear(1, 'mlp.down_proj');
    const down = new Float32Array(32 * keep);
    for (let r = 0; r < 32; r++) for (let c = 0; c < keep; c++) down[r * keep + c] = downFull[r * 40 + c];
    run.setLinear(1, 'mlp.gate_proj', gate, { out: keep });
    run.setLinear(1, 'mlp.up_proj', up, { out: keep });
    run.setLinear(1, 'mlp.down_proj', down, { in: keep });
    const got = await run.forwardLogits(tokens, 1, T);

    // The same model written as a checkpoint: modified tensors; the narrower MLP as zero channels.
    const mod = new Map(ck.tensors);
    mod.set('model.layers.0.self_attn.q_proj.weight', { shape: [32, 32], data: q });
    mod.set('model.layers.1.self_attn.o_proj.weight', { shape: [32, 32], data: new Float32Array(32 * 32) });
    const g2 = new Float32Array(40 * 32);
    g2.set(gate);
    mod.set('model.layers.1.mlp.gate_proj.weight', { shape: [40, 32], data: g2 });
    const ref = referenceLogits(arch, (n) => mod.get(n)!.data, tokens);
    expect(maxAbsDiff(got, ref) / maxAbs(ref)).toBeLessThan(1e-4);

    // Reloading from scratch (overrides kept on the CPU) gives the same result.
    for (const l of run.residentBlocks()) run.releaseBlock(l);
    expect(maxAbsDiff(await run.forwardLogits(tokens, 1, T), got)).toBeLessThan(1e-6);
    run.dispose();
  });

  it('captures each linear input; stopAfter leaves the hidden state unchanged', async () => {
    const gpu = await testGpu();
    const ck = gpt2Checkpoint({ seed: 23 });
    const { run, arch } = await runner(ck);
    const T = 7;
    const W = 2;
    const d = arch.config.hidden;
    const rows = W * T;
    const tokens = randomTokens(rows, arch.config.vocab, 4);
    const h = await run.embed(tokens, W, T);
    const x0 = await gpu.read(h.x);

    // A gram accumulated from the capture, as a calibration pipeline does, vs one from read-back inputs.
    const G = gpu.zeros([d, d]);
    let seen: CapturedInput | null = null;
    await run.block(0, h, {
      stopAfter: 'attn_in',
      capture: (c) => {
        seen = c;
        matmul(gpu, c.input, c.input, G, { M: c.cols, N: c.cols, K: c.rows, transA: true, beta: 1 });
      },
    });
    expect(seen!.linears).toEqual(['attn.c_attn']);
    expect(maxAbsDiff(await gpu.read(h.x), x0)).toBe(0);

    const inputs = new Map<string, Float32Array>();
    await run.block(0, h, { capture: async (c) => void inputs.set(c.site, await gpu.read(c.input, c.rows * c.cols)) });
    const x1 = await gpu.read(h.x);
    const gram = await gpu.read(G);
    const ref = gramRef(inputs.get('attn_in')!, rows, d);
    expect(maxAbsDiff(gram, ref) / maxAbs(ref)).toBeLessThan(1e-5);
    G.dispose();

    // x1 = x0 + c_proj(attn_out) + mlp.c_proj(mlp_mid), with Conv1D y = x·W + b.
    const get = (n: string) => ck.tensors.get(n)!.data;
    const conv = (x: Float32Array, w: string, inp: number, out: number) => {
      const Wt = get(`transformer.h.0.${w}.weight`);
      const b = get(`transformer.h.0.${w}.bias`);
      const y = new Float64Array(rows * out);
      for (let r = 0; r < rows; r++) for (let o = 0; o < out; o++) {
        let s = b[o];
        for (let i = 0; i < inp; i++) s += x[r * inp + i] * Wt[i * out + o];
        y[r * out + o] = s;
      }
      return y;
    };
    const attnOut = conv(inputs.get('attn_out')!, 'attn.c_proj', d, d);
    const mlpOut = conv(inputs.get('mlp_mid')!, 'mlp.c_proj', 4 * d, d);
    const expectX1 = x0.map((v, i) => v + attnOut[i] + mlpOut[i]);
    expect(maxAbsDiff(x1, expectX1)).toBeLessThan(1e-4);
    // mlp_in is LayerNorm(x0 + attention output): check its per-row mean ≈ ln_2 bias mean pattern via a
    // direct recomputation.
    const lnw = get('transformer.h.0.ln_2.weight');
    const lnb = get('transformer.h.0.ln_2.bias');
    const mlpIn = inputs.get('mlp_in')!;
    let worst = 0;
    for (let r = 0; r < rows; r++) {
      const row = Array.from({ length: d }, (_, i) => x0[r * d + i] + attnOut[r * d + i]);
      const mean = row.reduce((a, b) => a + b, 0) / d;
      const v = row.reduce((a, b) => a + (b - mean) ** 2, 0) / d;
      for (let i = 0; i < d; i++) worst = Math.max(worst, Math.abs((row[i] - mean) / Math.sqrt(v + 1e-5) * lnw[i] + lnb[i] - mlpIn[r * d + i]));
    }
    expect(worst).toBeLessThan(1e-4);
    // mlp_mid is gelu_new(c_fc(mlp_in)).
    const fc = conv(mlpIn, 'mlp.c_fc', d, 4 * d);
    const gelu = (u: number) => 0.5 * u * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (u + 0.044715 * u ** 3)));
    expect(maxAbsDiff(inputs.get('mlp_mid')!, fc.map(gelu))).toBeLessThan(1e-4);

    // stopAfter a later site also leaves the residual stream alone.
    await run.block(1, h, { stopAfter: 'mlp_mid', capture: () => undefined });
    expect(maxAbsDiff(await gpu.read(h.x), x1)).toBe(0);
    h.x.dispose();
    run.dispose();
  });
});

describe('attention kernel', () => {
  it('gives the same result for 1–4 queries per invocation, with windows not a multiple of them', async () => {
    const gpu = await testGpu();
    const { causalAttention } = await import('../src/kernels/attention');
    const { randn } = await import('./helpers/reference');
    const H = 4, KV = 2, hd = 8, W = 2, T = 13;
    const ld = (H + 2 * KV) * hd;
    const qkv = gpu.upload(Float32Array.from(randn(W * T * ld, 3)), [W * T, ld]);
    const out = gpu.tensor([W * T, H * hd]);
    const results: Float32Array[] = [];
    for (const qb of [1, 2, 3, 4]) {
      causalAttention(gpu, qkv, out, { windows: W, seqlen: T, heads: H, kvHeads: KV, headDim: hd, ld, kOff: H * hd, vOff: (H + KV) * hd, outLd: H * hd, scale: 0.4, queriesPerInvocation: qb });
      results.push(await gpu.read(out));
    }
    for (const r of results.slice(1)) expect(maxAbsDiff(r, results[0])).toBeLessThan(1e-6);
    qkv.dispose();
    out.dispose();
  });
});

describe('refusals at run time', () => {
  it('refuses windows longer than the learned positions, and unknown tokens', async () => {
    const gpt2 = await runner(gpt2Checkpoint({ positions: 16 }));
    await expect(gpt2.run.embed(randomTokens(20, 50, 1), 1, 20)).rejects.toThrow(/16 learned positions/);
    await expect(gpt2.run.embed([1, 2, 50, 3], 1, 4)).rejects.toThrow(/Token id 50 at position 2/);
  });
});
