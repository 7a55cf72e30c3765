import { describe, expect, it } from 'vitest';
import { bytesSource } from '../src/formats/byteSource';
import { LayerProblemFileError, readLayerProblem, writeLayerProblem } from '../src/formats/layerProblem';
import { SafetensorsError, writeSafetensors, type TensorToWrite } from '../src/formats/safetensors';

function problem(m: number, n: number) {
  const weight = new Float32Array(m * n).map((_, i) => Math.sin(i + 1));
  const gram = new Float32Array(n * n).map((_, i) => (i % (n + 1) === 0 ? n : 0.1));
  return { m, n, weight, gram };
}

const read = (bytes: Uint8Array, name = 'layer.safetensors') => readLayerProblem(bytesSource(bytes, name));

async function rejects(bytes: Uint8Array, pattern: RegExp): Promise<void> {
  const err = await read(bytes).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(LayerProblemFileError);
  expect((err as Error).message).toMatch(/^layer\.safetensors: /);
  expect((err as Error).message).toMatch(pattern);
}

const tensors = (w: Partial<TensorToWrite> | null, g: Partial<TensorToWrite> | null): TensorToWrite[] => {
  const p = problem(4, 8);
  const out: TensorToWrite[] = [];
  if (w) out.push({ name: 'weight', dtype: 'F32', shape: [4, 8], data: p.weight, ...w });
  if (g) out.push({ name: 'gram', dtype: 'F32', shape: [8, 8], data: p.gram, ...g });
  return out;
};

describe('layer problem files', () => {
  it('round trips weight, gram, rows and provenance', async () => {
    const p = { ...problem(6, 16), rows: 512, meta: { model: 'stories260K', layer: 'model.layers.0.mlp.up_proj' } };
    const back = await read(writeLayerProblem(p));
    expect(back.m).toBe(6);
    expect(back.n).toBe(16);
    expect(Array.from(back.weight)).toEqual(Array.from(p.weight));
    expect(Array.from(back.gram)).toEqual(Array.from(p.gram));
    expect(back.rows).toBe(512);
    expect(back.meta).toEqual({ model: 'stories260K', layer: 'model.layers.0.mlp.up_proj' });
    const bare = await read(writeLayerProblem(problem(2, 3)));
    expect(bare.rows).toBeUndefined();
    expect(bare.meta).toBeUndefined();
  });

  it('names a missing tensor', async () => {
    await rejects(writeSafetensors(tensors({}, null)), /missing tensor "gram"/);
    await rejects(writeSafetensors(tensors(null, {})), /missing tensor "weight"/);
    await rejects(writeSafetensors(tensors({ name: 'W' }, {})), /missing tensor "weight".*found "W"/);
  });

  it('rejects a wrong dtype or shape', async () => {
    await rejects(writeSafetensors(tensors({ dtype: 'F16' }, {})), /tensor "weight" has dtype F16, expected F32/);
    await rejects(writeSafetensors(tensors({}, { dtype: 'BF16' })), /tensor "gram" has dtype BF16, expected F32/);
    await rejects(writeSafetensors(tensors({ shape: [32] }, {})), /"weight" has shape \[32\], expected a matrix/);
    await rejects(writeSafetensors(tensors({}, { shape: [4, 16] })), /gram has shape \[4,16\], it must be square/);
    await rejects(
      writeSafetensors(tensors({ shape: [8, 4] }, {})),
      /gram is 8×8 but the weight is 8×4; the gram's side must equal the weight's width \(4\)/,
    );
  });

  it('reports the first NaN or Inf with its tensor and index', async () => {
    const p = problem(4, 8);
    p.weight[13] = NaN;
    p.weight[20] = Infinity;
    await rejects(writeLayerProblem(p), /tensor "weight" has a non-finite value \(NaN\) at index 13 \(row 1, column 5\)/);
    const q = problem(4, 8);
    q.gram[9] = -Infinity;
    await rejects(writeLayerProblem(q), /tensor "gram" has a non-finite value \(-Infinity\) at index 9/);
  });

  it('rejects a malformed rows field', async () => {
    const p = problem(2, 2);
    await rejects(writeLayerProblem({ ...p, meta: { rows: 'many' } }), /metadata "rows" is "many"/);
    await rejects(writeLayerProblem({ ...p, meta: { rows: '-3' } }), /metadata "rows"/);
  });

  it('passes safetensors errors through', async () => {
    const bytes = writeLayerProblem(problem(2, 2)).slice(0, 40);
    await expect(read(bytes)).rejects.toBeInstanceOf(SafetensorsError);
  });

  it('refuses to write inconsistent problems', () => {
    const p = problem(2, 4);
    expect(() => writeLayerProblem({ ...p, m: 3 })).toThrow(/weight holds 8 values, expected 3×4/);
    expect(() => writeLayerProblem({ ...p, gram: new Float32Array(3) })).toThrow(/gram holds 3 values/);
  });
});
