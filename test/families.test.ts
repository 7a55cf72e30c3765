// Qwen3, Gemma 3 text and Phi-3: the GPU forward pass against the float64 reference on tiny random
// checkpoints (q/k norms, head_dim ≠ hidden/heads, four norms with (1 + w), √hidden embeddings,
// sliding-window layers with their own rope, logit soft-capping, fused qkv/gate_up, partial rotary,
// LongRoPE short and long), and pruning of the fused layers as the stored matrices (unstructured,
// 2:4, SPAP channels across both halves of gate_up_proj) through export and reload.
import { channelsToRemove } from '../src/solvers/spap';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeSafetensors } from '../src/formats/safetensors';
import { resolveArchitecture, type Architecture } from '../src/model/architectures';
import { parseConfig, ropeInvFreq } from '../src/model/config';
import { ModelRunner } from '../src/model/forward';
import { memorySource } from '../src/model/loader';
import { openModelDir } from '../src/model/nodeFolder';
import { referenceLogits } from '../src/model/reference';
import { exportModel, exportPrunedModel } from '../src/pipeline/export';
import { pruneModel } from '../src/pipeline/prune';
import { applyStructured, pruneMlpChannels, structuredEdits } from '../src/pipeline/structured';
import { gemma3Checkpoint, phi3Checkpoint, qwen3Checkpoint, randomTokens, type Checkpoint } from './helpers/checkpoints';
import { testGpu } from './helpers/gpu';
import { maxAbs, maxAbsDiff } from './helpers/reference';

function setup(ck: Checkpoint): { arch: Architecture; get: (n: string) => Float32Array } {
  const arch = resolveArchitecture(parseConfig(ck.config), new Map([...ck.tensors].map(([n, t]) => [n, t.shape])));
  return { arch, get: (n) => ck.tensors.get(n)!.data };
}

/** Worst |GPU − float64| logit over `windows` windows, relative to the largest reference logit (≥ 1). */
async function compareLogits(ck: Checkpoint, windows: number, seqlen: number): Promise<number> {
  const gpu = await testGpu();
  const { arch, get } = setup(ck);
  const run = new ModelRunner(gpu, arch, memorySource(ck.tensors), { maxResidentBlocks: 1 });
  const V = arch.config.vocab;
  const tokens = randomTokens(windows * seqlen, V, 7 + seqlen);
  const got = await run.forwardLogits(tokens, windows, seqlen);
  run.dispose();
  let worst = 0;
  for (let w = 0; w < windows; w++) {
    const ref = referenceLogits(arch, get, tokens.slice(w * seqlen, (w + 1) * seqlen));
    worst = Math.max(worst, maxAbsDiff(got.subarray(w * seqlen * V, (w + 1) * seqlen * V), ref) / Math.max(1, maxAbs(ref)));
  }
  return worst;
}

function writeCheckpoint(ck: Checkpoint): string {
  const dir = mkdtempSync(join(tmpdir(), 'family-'));
  const tensors = [...ck.tensors].map(([name, t]) => ({ name, dtype: 'F32' as const, shape: t.shape, data: t.data }));
  writeFileSync(join(dir, 'model.safetensors'), writeSafetensors(tensors));
  writeFileSync(join(dir, 'config.json'), JSON.stringify(ck.config));
  return dir;
}

describe('new families: GPU forward pass vs float64 reference', () => {
  it('qwen3: q/k norms per head, head_dim 12 ≠ hidden/heads, untied and tied head', async () => {
    const c = parseConfig(qwen3Checkpoint().config);
    expect(c).toMatchObject({ family: 'llama', qkNorm: true, headDim: 12, normOffset: 0, ropeTheta: 1e6, slidingWindow: null });
    expect(await compareLogits(qwen3Checkpoint(), 2, 7)).toBeLessThan(1e-4);
    expect(await compareLogits(qwen3Checkpoint({ tie: true, heads: 2, kvHeads: 1, headDim: 16, seed: 33 }), 1, 9)).toBeLessThan(1e-4);
  });

  it('gemma3_text: sliding layers (window 3 of 9 tokens) with the local rope, (1 + w) norms, √hidden, soft-capped logits', async () => {
    const c = parseConfig(gemma3Checkpoint().config);
    expect(c).toMatchObject({ family: 'gemma3', normOffset: 1, sandwichNorms: true, qkNorm: true, slidingWindow: 3, finalSoftcap: 4.5, tieEmbeddings: true });
    expect(c.slidingLayers).toEqual([true, true, false]);
    expect(c.embedScale).toBe(Math.fround(Math.sqrt(32)));
    // The local layers rotate with rope_local_base_freq, the global ones with rope_theta.
    expect(ropeInvFreq(c, 9, 0)[1]).toBeCloseTo(Math.pow(10000, -2 / 12), 14);
    expect(ropeInvFreq(c, 9, 2)[1]).toBeCloseTo(Math.pow(1e6, -2 / 12), 14);
    expect(await compareLogits(gemma3Checkpoint(), 2, 9)).toBeLessThan(1e-4);
    // The older config layout (sliding_window_pattern, rope_local_base_freq) reads the same.
    const old = parseConfig(gemma3Checkpoint({ style: 'pattern' }).config);
    expect(old.slidingLayers).toEqual(c.slidingLayers);
    expect(old.localRope).toEqual(c.localRope);
    expect(await compareLogits(gemma3Checkpoint({ style: 'pattern', finalSoftcap: null, slidingWindow: 5, headDim: 16, seed: 43 }), 1, 11)).toBeLessThan(1e-4);
  });

  it('phi3: fused qkv and gate_up, partial rotary, LongRoPE short (≤ 8 tokens) and long, sliding window', async () => {
    const c = parseConfig(phi3Checkpoint().config);
    expect(c).toMatchObject({ family: 'phi3', rotaryDim: 4, ropeScaling: { type: 'longrope', originalMaxPositions: 8 } });
    expect(c.ropeScaling.type === 'longrope' && c.ropeScaling.attentionFactor).toBeCloseTo(Math.sqrt(1 + Math.log(4) / Math.log(8)), 14);
    expect(ropeInvFreq(c, 8)[1]).toBeCloseTo(Math.pow(10000, -2 / 4) / 1.75, 14);
    expect(ropeInvFreq(c, 9)[1]).toBeCloseTo(Math.pow(10000, -2 / 4) / 3.25, 14);
    expect(await compareLogits(phi3Checkpoint(), 2, 6)).toBeLessThan(1e-4);
    expect(await compareLogits(phi3Checkpoint(), 1, 12)).toBeLessThan(1e-4);
    expect(await compareLogits(phi3Checkpoint({ slidingWindow: 4, longropeOriginal: null, partialRotary: 0.75, tie: true, heads: 2, kvHeads: 2, seed: 53 }), 1, 10)).toBeLessThan(1e-4);
  });

  it('refuses what it does not reproduce, by name', () => {
    const phi = phi3Checkpoint().config;
    expect(() => parseConfig({ ...phi, rope_scaling: { type: 'dynamic', factor: 2 } })).toThrow(/rope_scaling type "dynamic" for phi3.*longrope/);
    expect(() => parseConfig({ ...phi, rope_scaling: { type: 'longrope', short_factor: [1], long_factor: [1, 2] } })).toThrow(/short_factor as 2 positive numbers/);
    expect(() => parseConfig({ ...qwen3Checkpoint().config, rope_parameters: { rope_type: 'yarn', factor: 4 } })).toThrow(/rope_scaling type "yarn".*longrope/);
    expect(() => parseConfig({ ...gemma3Checkpoint().config, use_bidirectional_attention: true })).toThrow(/use_bidirectional_attention/);
    expect(() => parseConfig({ ...gemma3Checkpoint().config, model_type: 'gemma3' })).toThrow(/Unsupported model_type "gemma3".*gemma3_text, phi3.*Gemma3ForCausalLM/);
    expect(() => parseConfig({ ...gemma3Checkpoint().config, layer_types: ['sliding_attention'] })).toThrow(/layer_types.*3 entries/);
  });
});

describe('pruning the fused Phi-3 layers as stored', () => {
  it('lists qkv_proj and gate_up_proj with their parts; 2:4 prunes them as one matrix each and exports them', async () => {
    const ck = phi3Checkpoint({ longropeOriginal: null });
    const dir = writeCheckpoint(ck);
    const model = await openModelDir(dir);
    const block = model.arch.blocks[0];
    expect(block.groups).toEqual([['self_attn.qkv_proj'], ['self_attn.o_proj'], ['mlp.gate_up_proj'], ['mlp.down_proj']]);
    expect(block.linears[0].parts).toEqual([{ name: 'q', rows: 32 }, { name: 'k', rows: 16 }, { name: 'v', rows: 16 }]);
    const gpu = await testGpu();
    const seqlen = 8;
    const windows = Uint32Array.from(randomTokens(4 * seqlen, 50, 3));
    const pruned = await pruneModel(gpu, model, { method: 'sparsegpt', pattern: { kind: 'nm', n: 2, m: 4 }, windows, seqlen });
    const qkv = pruned.weights.get('model.layers.1.self_attn.qkv_proj.weight')!;
    expect(qkv.length).toBe(64 * 32);
    for (let g = 0; g < qkv.length; g += 4) expect([...qkv.subarray(g, g + 4)].filter((v) => v === 0).length).toBeGreaterThanOrEqual(2);
    const out = mkdtempSync(join(tmpdir(), 'phi3-24-'));
    for (const f of await exportPrunedModel(model, pruned)) writeFileSync(join(out, f.name), f.bytes);
    const reloaded = await openModelDir(out);
    expect(reloaded.weights.shapes.get('model.layers.0.mlp.gate_up_proj.weight')).toEqual([72, 32]);
    const gu = await reloaded.weights.readF32('model.layers.0.mlp.gate_up_proj.weight');
    expect(gu.filter((v) => v === 0).length).toBeGreaterThanOrEqual(gu.length / 2);
    await reloaded.close();
    await model.close();
  });

  it('SPAP removes channel i from both halves of gate_up_proj and from down_proj; the export reloads and runs the same', async () => {
    const ck = phi3Checkpoint({ longropeOriginal: null, seed: 57 });
    const model = await openModelDir(writeCheckpoint(ck));
    const gpu = await testGpu();
    const seqlen = 8;
    const windows = Uint32Array.from(randomTokens(4 * seqlen, 50, 5));
    const s = await pruneMlpChannels(gpu, model, { selection: 'spap', fraction: 0.25, windows, seqlen });
    expect(s.configPatch).toEqual({ intermediate_size: 27 });
    const kept = s.report[0].kept;
    const original = ck.tensors.get('model.layers.0.mlp.gate_up_proj.weight')!.data;
    const cut = s.weights.get('model.layers.0.mlp.gate_up_proj.weight')!;
    expect(s.shapes.get('model.layers.0.mlp.gate_up_proj.weight')).toEqual([54, 32]);
    // Row i of the cut matrix is gate row kept[i]; row 27 + i is up row kept[i] (36 + kept[i] in the original).
    kept.forEach((ch, i) => {
      expect([...cut.subarray(i * 32, (i + 1) * 32)]).toEqual([...original.subarray(ch * 32, (ch + 1) * 32)]);
      expect([...cut.subarray((27 + i) * 32, (28 + i) * 32)]).toEqual([...original.subarray((36 + ch) * 32, (37 + ch) * 32)]);
    });
    const out = mkdtempSync(join(tmpdir(), 'phi3-spap-'));
    for (const f of await exportModel(model, structuredEdits(s))) writeFileSync(join(out, f.name), f.bytes);
    const reloaded = await openModelDir(out);
    expect(reloaded.config.intermediate).toBe(27);
    expect(reloaded.weights.shapes.get('model.layers.1.mlp.down_proj.weight')).toEqual([32, 27]);
    const tokens = randomTokens(9, 50, 11);
    const inMemory = new ModelRunner(gpu, model.arch, model.weights);
    applyStructured(inMemory, model, s);
    const a = await inMemory.forwardLogits(tokens, 1, 9);
    inMemory.dispose();
    const tensors = new Map<string, Float32Array>();
    for (const name of reloaded.weights.shapes.keys()) tensors.set(name, await reloaded.weights.readF32(name));
    const ref = referenceLogits(reloaded.arch, (n) => tensors.get(n)!, tokens);
    expect(maxAbsDiff(a, ref) / Math.max(1, maxAbs(ref))).toBeLessThan(1e-4);
    await reloaded.close();
    await model.close();
  });

  it('SPAP on Gemma 3 and Qwen3 cuts gate/up/down and writes intermediate_size', async () => {
    const gpu = await testGpu();
    for (const ck of [gemma3Checkpoint({ layers: 2 }), qwen3Checkpoint({ layers: 1 })]) {
      const model = await openModelDir(writeCheckpoint(ck));
      const windows = Uint32Array.from(randomTokens(4 * 8, 50, 9));
      const s = await pruneMlpChannels(gpu, model, { selection: 'spap', fraction: 0.5, windows, seqlen: 8 });
      const I = model.config.intermediate;
      // Half the channels, the kept width a multiple of 8 where the dense one is (channelsToRemove).
      const kept = I - channelsToRemove(I, 0.5);
      expect(Math.abs(kept - I / 2)).toBeLessThanOrEqual(4);
      expect(s.configPatch).toEqual({ intermediate_size: kept });
      expect(s.shapes.get('model.layers.0.mlp.up_proj.weight')).toEqual([kept, 32]);
      await model.close();
    }
  });
});
