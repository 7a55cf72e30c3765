/**
 * The support-convergence frames: the GPU's per-cell count of a u32 mask (`view_mask_cells`) against
 * a float64 CPU reference on edge shapes, and ALPS's frames (one per ρ update, plus the start)
 * against its own iteration history.
 */
import { describe, expect, it } from 'vitest';
import { cellGrid, maskCells } from '../src/kernels/layerView';
import { alps } from '../src/solvers/alps';
import type { LayerProblem } from '../src/shared/problem';
import type { AlpsIteration, SupportFrame } from '../src/shared/telemetry';
import { testGpu } from './helpers/gpu';
import { f32, randn, rng } from './helpers/reference';
import { correlatedGram } from './helpers/solversReference';

/** Kept entries per cell, counted in float64 with the cell rule written out independently. */
function maskCellsRef(mask: Uint32Array, m: number, n: number, maxCells: number): { rows: number; cols: number; kept: number[] } {
  const cellRows = Math.ceil(m / maxCells);
  const cellCols = Math.ceil(n / maxCells);
  const rows = Math.ceil(m / cellRows);
  const cols = Math.ceil(n / cellCols);
  const kept = new Array<number>(rows * cols).fill(0);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) if (mask[i * n + j] !== 0) kept[Math.floor(i / cellRows) * cols + Math.floor(j / cellCols)] += 1;
  return { rows, cols, kept };
}

describe('view_mask_cells', () => {
  // One entry, one row, one column, cells that do not divide the shape, and a full-resolution grid.
  for (const [m, n, maxCells] of [
    [1, 1, 128],
    [1, 37, 8],
    [37, 1, 8],
    [5, 130, 16],
    [129, 67, 128],
    [300, 7, 64],
  ] as const) {
    it(`${m}×${n} at ${maxCells} cells per side matches the CPU count`, async () => {
      const gpu = await testGpu();
      const r = rng(m * 1000 + n);
      // Any non-zero u32 is "kept", not only 1.
      const mask = Uint32Array.from({ length: m * n }, () => (r() < 0.45 ? (r() < 0.5 ? 1 : 7) : 0));
      const grid = cellGrid(m, n, maxCells);
      const ref = maskCellsRef(mask, m, n, maxCells);
      expect([grid.rows, grid.cols]).toEqual([ref.rows, ref.cols]);
      const maskBuf = gpu.upload(mask);
      const kept = gpu.tensor([grid.rows * grid.cols], 'u32');
      try {
        maskCells(gpu, maskBuf, m, n, grid, kept);
        expect(Array.from(await gpu.readU32(kept))).toEqual(ref.kept);
      } finally {
        maskBuf.dispose();
        kept.dispose();
      }
    });
  }
});

function problem(m: number, n: number, seed: number): LayerProblem {
  return { m, n, weight: f32(randn(m * n, seed + 10)), gram: f32(correlatedGram(4 * n, n, seed, randn)) };
}

describe('ALPS support frames', () => {
  for (const [pattern, label] of [
    [{ kind: 'unstructured', sparsity: 0.6 }, '60 %'],
    [{ kind: 'nm', n: 2, m: 4 }, '2:4'],
  ] as const) {
    it(`${label}: the start and one frame per ρ update, each with k kept entries, in step with the history`, async () => {
      const gpu = await testGpu();
      const [m, n] = [7, 40];
      const frames: SupportFrame[] = [];
      const out = await alps(gpu, problem(m, n, 3), pattern, { alps: { maxIterations: 60, updateEvery: 3 }, supportFrames: { maxCells: 16, onFrame: (f) => frames.push(f) } });
      out.weight.dispose();
      const checks = out.history.filter((h): h is AlpsIteration & { supportChange: number } => h.supportChange !== null);
      expect(checks.length).toBeGreaterThan(1);
      expect(frames.map((f) => f.iter)).toEqual([0, ...checks.map((h) => h.iter)]);
      const k = pattern.kind === 'nm' ? (m * n * pattern.n) / pattern.m : m * n - Math.round(0.6 * m * n);
      const grid = cellGrid(m, n, 16);
      for (const f of frames) {
        expect({ m: f.m, n: f.n, rows: f.rows, cols: f.cols, cellRows: f.cellRows, cellCols: f.cellCols, k: f.k }).toEqual({ m, n, ...grid, k });
        expect(f.kept.reduce((a, b) => a + b, 0)).toBe(k);
      }
      expect(frames[0].supportChange).toBeNull();
      expect(frames[0].rho).toBe(frames[1].rho);
      for (const [i, h] of checks.entries()) {
        const f = frames[i + 1];
        expect(f.supportChange).toBe(h.supportChange);
        expect(f.rho).toBe(h.rho);
        // The update: the next iteration runs with the frame's nextRho.
        const next = out.history.find((x) => x.iter === h.iter + 1);
        if (next) expect(next.rho).toBe(f.nextRho);
      }
    });
  }

  it('leaves the solve as it is: the same weight and history with and without frames', async () => {
    const gpu = await testGpu();
    const p = problem(4, 24, 5);
    const pattern = { kind: 'unstructured', sparsity: 0.5 } as const;
    const plain = await alps(gpu, p, pattern, { alps: { maxIterations: 30 } });
    let count = 0;
    const framed = await alps(gpu, p, pattern, { alps: { maxIterations: 30 }, supportFrames: { onFrame: () => count++ } });
    try {
      expect(count).toBeGreaterThan(1);
      expect(Array.from(await gpu.read(framed.weight))).toEqual(Array.from(await gpu.read(plain.weight)));
      expect(framed.history).toEqual(plain.history);
    } finally {
      plain.weight.dispose();
      framed.weight.dispose();
    }
  });
});
