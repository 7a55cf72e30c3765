/**
 * The real-size benchmark's measurements: the buffer pool's live/peak byte counters it reports,
 * and `scripts/bench-model.ts` end to end at a toy shape of the same structure (Qwen2: q/k/v
 * biases, grouped-query heads, tied head), so that the script cannot rot between real-size runs.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sizeClass } from '../src/gpu/pool';
import { benchModel } from '../scripts/bench-model';
import { testGpu } from './helpers/gpu';

describe('buffer pool counters', () => {
  it('tracks live and held bytes and their peaks through acquire, release, reuse and trim', async () => {
    const gpu = await testGpu();
    gpu.trimPool();
    const base = gpu.poolStats;
    const a = gpu.acquire(1000); // 1024-byte class
    const b = gpu.acquire(3 << 20); // 3 MiB class
    const both = sizeClass(1000) + (3 << 20);
    expect(gpu.poolStats.liveBytes - base.liveBytes).toBe(both);
    expect(gpu.poolStats.heldBytes - base.heldBytes).toBe(both);
    expect(gpu.poolStats.peakLiveBytes).toBeGreaterThanOrEqual(base.liveBytes + both);
    gpu.release(b);
    gpu.release(b); // a second release is ignored, and must not be counted twice
    expect(gpu.poolStats.liveBytes - base.liveBytes).toBe(sizeClass(1000));
    expect(gpu.poolStats.heldBytes - base.heldBytes).toBe(both); // b is pooled, still held from the driver
    const again = gpu.acquire(3 << 20); // reuses b: nothing new is held
    expect(again).toBe(b);
    expect(gpu.poolStats.heldBytes - base.heldBytes).toBe(both);
    gpu.release(again);
    gpu.release(a);
    const peak = gpu.poolStats.peakHeldBytes;
    gpu.trimPool();
    expect(gpu.poolStats.liveBytes).toBe(base.liveBytes);
    expect(gpu.poolStats.heldBytes).toBe(base.liveBytes); // only what is still handed out stays held
    expect(gpu.poolStats.peakHeldBytes).toBe(peak); // peaks are never lowered
  });
});

describe('bench:model', () => {
  it('writes a checkpoint, loads, evaluates, calibrates and prunes the chosen linears of block 0 with every method, and writes JSON', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-model-test-'));
    try {
      const out = join(dir, 'tiny.json');
      const r = await benchModel({ shape: 'tiny', dtype: 'bf16', alpsIters: 6, windows: 2, seqlen: 16, layers: ['q_proj', 'mlp.down_proj'], alpsMaxInputs: 64, out, print: false });
      // 300×64 embedding, 2 blocks of q/k/v (with biases), o, gate/up/down and 2 norms, the final norm.
      const block = 64 * 64 + 64 + 2 * (32 * 64 + 32) + 64 * 64 + 3 * 96 * 64 + 2 * 64;
      expect(r.parameters).toBe(300 * 64 + 2 * block + 64);
      expect(r.fileBytes).toBeGreaterThan(2 * r.parameters);
      expect(r.forward.tokens).toBe(32);
      // Random init: near-uniform predictions, perplexity close to the vocabulary size.
      expect(r.forward.perplexity).toBeGreaterThan(150);
      expect(r.forward.perplexity).toBeLessThan(600);
      expect(r.prune.map((p) => `${p.layer} ${p.shape.join('×')} ${p.method}`)).toEqual(
        ['self_attn.q_proj 64×64 magnitude', 'self_attn.q_proj 64×64 wanda', 'self_attn.q_proj 64×64 sparsegpt', 'self_attn.q_proj 64×64 alps', 'mlp.down_proj 64×96 magnitude', 'mlp.down_proj 64×96 wanda', 'mlp.down_proj 64×96 sparsegpt'],
      );
      expect(r.skipped).toEqual(['mlp.down_proj (alps: 96 inputs > --alps-max-inputs 64)']);
      for (const p of r.prune) {
        expect(p.ms).toBeGreaterThan(0);
        expect(p.relError).toBeGreaterThan(0);
        expect(p.relError).toBeLessThan(1);
      }
      expect(r.prune.filter((p) => p.method === 'alps').every((p) => p.iterations <= 6)).toBe(true);
      expect(r.peakGpuLiveBytes).toBeGreaterThan(300 * 64 * 4);
      expect(r.peakGpuHeldBytes).toBeGreaterThanOrEqual(r.peakGpuLiveBytes);
      expect(r.peakRssBytes).toBeGreaterThan(0);
      expect(JSON.parse(readFileSync(out, 'utf8'))).toEqual(r);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 20_000);

  it('refuses an unknown shape or a depth beyond the model in one line', async () => {
    await expect(benchModel({ shape: 'gpt-9', print: false })).rejects.toThrow(/--shape must be one of smollm-135m, qwen2\.5-0\.5b, llama-3\.2-1b, tiny/);
    await expect(benchModel({ shape: 'tiny', blocks: 3, print: false })).rejects.toThrow(/--blocks must be 1\.\.2 for tiny; got 3/);
    expect(existsSync('bench-results/model-gpt-9.json')).toBe(false);
  });
});
