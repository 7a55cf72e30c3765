/**
 * Pruned weights kept at the checkpoint's dtype (src/formats/weightTable.ts): a BF16 or F16 model's
 * whole-model run holds 2 bytes per pruned weight, feeds the rounded values to the next blocks, and
 * a run continued from a block checkpoint (which stores those bits) computes exactly the weights of
 * the run that never stopped; the export holds the kept bits; the stored run survives structured
 * cloning (IndexedDB).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bf16ToF32Array, f16ToF32Array, f32ToBf16Array, f32ToF16Array, openSafetensors, type WritableDType } from '../src/formats/safetensors';
import { bytesSource } from '../src/formats/byteSource';
import { WeightTable } from '../src/formats/weightTable';
import { EnginePersistence, type PrunedRun } from '../src/engine/persistence';
import { openModelDir } from '../src/model/nodeFolder';
import { decodeBlock, encodeBlock, parseManifest } from '../src/pipeline/checkpoint';
import { exportPrunedModel } from '../src/pipeline/export';
import { pruneModel, prunedWeightTable } from '../src/pipeline/prune';
import { memoryKv } from '../src/shared/kv';
import type { LayerOutcome } from '../src/shared/outcome';
import { checkpointFile, llamaCheckpoint, randomTokens } from './helpers/checkpoints';
import { testGpu } from './helpers/gpu';

function writeModel(dtype: WritableDType, seed: number): string {
  const ck = llamaCheckpoint({ seed, layers: 3, intermediate: 41 });
  const dir = mkdtempSync(join(tmpdir(), `pruned-${dtype}-`));
  writeFileSync(join(dir, 'model.safetensors'), checkpointFile(ck, dtype));
  writeFileSync(join(dir, 'config.json'), JSON.stringify(ck.config));
  return dir;
}

const roundTrip = (dtype: WritableDType, v: Float32Array) =>
  dtype === 'BF16' ? bf16ToF32Array(f32ToBf16Array(v)) : dtype === 'F16' ? f16ToF32Array(f32ToF16Array(v)) : v;

describe('WeightTable', () => {
  it('rounds to the tensor dtype once, returns what it kept, stores 2 bytes per half weight, and clones as plain data', () => {
    const t = new WeightTable((name) => (name.startsWith('b') ? 'BF16' : name.startsWith('h') ? 'F16' : 'F32'));
    const v = Float32Array.from([0, -0, 1 / 3, -2.71828, 1e-6, 65504, 3.3e38]);
    for (const name of ['bw', 'hw', 'fw']) {
      const kept = t.set(name, v);
      const dtype = name === 'bw' ? 'BF16' : name === 'hw' ? 'F16' : 'F32';
      expect([...kept]).toEqual([...roundTrip(dtype, v)]);
      expect([...t.get(name)!]).toEqual([...kept]);
      expect(t.stored(name)!.dtype).toBe(dtype);
    }
    expect(t.bytes).toBe(2 * 7 + 2 * 7 + 4 * 7);
    expect([...t.keys()]).toEqual(['bw', 'hw', 'fw']);
    const back = WeightTable.fromStored(structuredClone(t.toStored()));
    for (const [name, values] of t) expect([...back.get(name)!], name).toEqual([...values]);
  });
});

describe('whole-model runs on half-precision checkpoints', () => {
  it('keep 2 bytes per pruned weight; a run continued from a block checkpoint equals the uninterrupted one bit for bit', async () => {
    const gpu = await testGpu();
    for (const [dtype, seed] of [['BF16', 61], ['F16', 62]] as const) {
      const model = await openModelDir(writeModel(dtype, seed));
      const seqlen = 8;
      const windows = Uint32Array.from(randomTokens(4 * seqlen, 50, 7));
      const settings = { method: 'sparsegpt' as const, pattern: { kind: 'unstructured' as const, sparsity: 0.5 }, windows, seqlen };
      const blockFiles: Uint8Array[] = [];
      // The uninterrupted run, checkpointing each block as the CLI and the studio do.
      const finished = { weights: prunedWeightTable(model), report: [] as LayerOutcome[] };
      const whole = await pruneModel(gpu, model, {
        ...settings,
        done: finished,
        onBlockDone: (index) => void blockFiles.push(encodeBlock(model, index, finished.weights, finished.report)),
      });
      const linears = model.arch.blocks.flatMap((b) => b.linears);
      const count = linears.reduce((a, l) => a + l.out * l.in, 0);
      expect(whole.weights.bytes, dtype).toBe(2 * count);
      for (const l of linears) {
        const w = whole.weights.get(l.weight)!;
        expect([...roundTrip(dtype, w)], `${dtype} ${l.weight} is representable`).toEqual([...w]);
        expect(w.filter((x) => x === 0).length, l.weight).toBeGreaterThanOrEqual(l.out * Math.floor(l.in / 2));
      }
      // A block file holds the block at the model's dtype (F32 would be twice the data).
      const block0 = model.arch.blocks[0].linears.reduce((a, l) => a + l.out * l.in, 0);
      const file0 = await openSafetensors(bytesSource(blockFiles[0], 'block-0000.safetensors'));
      expect([...file0.tensors.values()].every((t) => t.dtype === dtype)).toBe(true);
      expect([...file0.tensors.values()].reduce((a, t) => a + t.end - t.begin, 0)).toBe(2 * block0);

      // Continue after block 0 from its checkpoint file alone.
      const restored = await decodeBlock(model, 0, blockFiles[0], 'block-0000.safetensors');
      const done = { weights: prunedWeightTable(model), report: restored.outcomes };
      for (const [name, w] of restored.weights) done.weights.setStored(name, w);
      const resumed = await pruneModel(gpu, model, { ...settings, done });
      for (const l of linears) {
        expect(Buffer.compare(Buffer.from(resumed.weights.stored(l.weight)!.data.buffer), Buffer.from(whole.weights.stored(l.weight)!.data.buffer)), `${dtype} ${l.weight}`).toBe(0);
      }

      // The export stores exactly the kept bits.
      const files = await exportPrunedModel(model, whole);
      const out = await openSafetensors(bytesSource(files.find((f) => f.name === 'model.safetensors')!.bytes, 'model.safetensors'));
      for (const l of linears) {
        expect(out.tensors.get(l.weight)!.dtype).toBe(dtype);
        const kept = new Uint8Array(whole.weights.stored(l.weight)!.data.buffer);
        expect(Buffer.compare(Buffer.from(await out.readRaw(l.weight)), Buffer.from(kept)), l.weight).toBe(0);
      }

      // The studio's stored run: cloned into storage and back, the same weights.
      const kv = memoryKv();
      const store = new EnginePersistence(kv);
      const run = { model: whole, settings: { method: 'sparsegpt', pattern: settings.pattern } } as unknown as PrunedRun;
      store.savePruned('fp', run);
      await new Promise((r) => setTimeout(r, 0));
      const loaded = (await store.loadPruned('fp'))!;
      for (const l of linears) expect([...loaded.model.weights.get(l.weight)!], l.weight).toEqual([...whole.weights.get(l.weight)!]);
      await model.close();
    }
  });

  it('refuses a version-1 (float32) checkpoint with what to do', () => {
    expect(() => parseManifest(JSON.stringify({ format: 'prune-studio whole-model checkpoint', version: 1 }), 'checkpoint.json')).toThrow(/earlier prune-studio.*start the run over/);
  });
});
