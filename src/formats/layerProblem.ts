/**
 * The layer problem file: a safetensors file with `weight` (F32 [m, n]) and `gram` (F32 [n, n]);
 * `__metadata__` may carry `rows` (calibration rows N), `model` and `layer`. The studio exports one
 * per layer and `prune-studio prune-layer` reads it.
 */
import type { LayerProblem } from '../shared/problem';
import type { ByteSource } from './byteSource';
import { openSafetensors, writeSafetensors, type SafetensorsFile, type TensorInfo } from './safetensors';

/** The file is valid safetensors but not a valid layer problem. */
export class LayerProblemFileError extends Error {
  override name = 'LayerProblemFileError';
}

function requireTensor(file: SafetensorsFile, name: 'weight' | 'gram'): TensorInfo {
  const t = file.tensors.get(name);
  if (!t) {
    const others = [...file.tensors.keys()].slice(0, 6).map((k) => `"${k}"`).join(', ');
    throw new LayerProblemFileError(
      `${file.name}: missing tensor "${name}"; a layer problem needs "weight" (F32 [m, n]) and "gram" (F32 [n, n])${others ? ` (found ${others})` : ''}`,
    );
  }
  if (t.dtype !== 'F32') throw new LayerProblemFileError(`${file.name}: tensor "${name}" has dtype ${t.dtype}, expected F32`);
  if (t.shape.length !== 2) {
    throw new LayerProblemFileError(`${file.name}: tensor "${name}" has shape ${JSON.stringify(t.shape)}, expected a matrix`);
  }
  if (t.shape[0]! < 1 || t.shape[1]! < 1) throw new LayerProblemFileError(`${file.name}: tensor "${name}" is empty (shape ${JSON.stringify(t.shape)})`);
  return t;
}

/** Index of the first NaN or ±Inf, or −1. */
export function firstNonFinite(values: Float32Array): number {
  for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i]!)) return i;
  return -1;
}

function checkFinite(file: string, name: string, values: Float32Array, cols: number): void {
  const i = firstNonFinite(values);
  if (i >= 0) {
    throw new LayerProblemFileError(
      `${file}: tensor "${name}" has a non-finite value (${values[i]}) at index ${i} (row ${Math.floor(i / cols)}, column ${i % cols})`,
    );
  }
}

/** Reads and validates a layer problem file. */
export async function readLayerProblem(src: ByteSource): Promise<LayerProblem> {
  const file = await openSafetensors(src);
  const w = requireTensor(file, 'weight');
  const g = requireTensor(file, 'gram');
  const [m, n] = w.shape as [number, number];
  if (g.shape[0] !== g.shape[1]) {
    throw new LayerProblemFileError(`${file.name}: gram has shape ${JSON.stringify(g.shape)}, it must be square`);
  }
  if (g.shape[0] !== n) {
    throw new LayerProblemFileError(
      `${file.name}: gram is ${g.shape[0]}×${g.shape[1]} but the weight is ${m}×${n}; the gram's side must equal the weight's width (${n})`,
    );
  }
  const meta = { ...file.metadata };
  let rows: number | undefined;
  if (meta.rows !== undefined) {
    const text = meta.rows.trim();
    rows = /^\d+$/.test(text) ? Number(text) : NaN;
    if (!Number.isSafeInteger(rows)) {
      throw new LayerProblemFileError(`${file.name}: metadata "rows" is ${JSON.stringify(meta.rows)}, expected a non-negative integer`);
    }
    delete meta.rows;
  }
  const weight = await file.readF32('weight');
  checkFinite(file.name, 'weight', weight, n);
  const gram = await file.readF32('gram');
  checkFinite(file.name, 'gram', gram, n);
  const problem: LayerProblem = { m, n, weight, gram };
  if (rows !== undefined) problem.rows = rows;
  if (Object.keys(meta).length > 0) problem.meta = meta;
  return problem;
}

/** Serialises a layer problem; `rows` and `meta` go to the metadata. */
export function writeLayerProblem(p: LayerProblem): Uint8Array<ArrayBuffer> {
  const { m, n } = p;
  if (!Number.isSafeInteger(m) || !Number.isSafeInteger(n) || m < 1 || n < 1) {
    throw new LayerProblemFileError(`a layer problem needs m, n ≥ 1, got ${m}×${n}`);
  }
  if (p.weight.length !== m * n) throw new LayerProblemFileError(`weight holds ${p.weight.length} values, expected ${m}×${n}`);
  if (p.gram.length !== n * n) throw new LayerProblemFileError(`gram holds ${p.gram.length} values, expected ${n}×${n}`);
  const metadata: Record<string, string> = { ...(p.meta ?? {}) };
  if (p.rows !== undefined) metadata.rows = String(p.rows);
  return writeSafetensors(
    [
      { name: 'weight', dtype: 'F32', shape: [m, n], data: p.weight },
      { name: 'gram', dtype: 'F32', shape: [n, n], data: p.gram },
    ],
    metadata,
  );
}
