/**
 * Magnitude pruning on the CPU, written here independently of the project's GPU method, for tests
 * and benchmarks that need a pruned model fast: N:M per row (the n largest |w| of every m along the
 * inputs kept, a short last group keeping n of its own), or the smallest fraction zeroed over the
 * whole layer or in each row. Ties at the cut go in index order, so exactly the asked count is zeroed.
 */
import type { ModelRunner } from '../../src/model/forward';

export type MagnitudeRule = { n: number; m: number } | { sparsity: number; per?: 'layer' | 'row' };

/** Zeroes the `cut` smallest |v| of `v` in place (ties at the threshold in index order). */
function zeroSmallest(v: Float32Array, cut: number): void {
  if (cut <= 0) return;
  const threshold = Float32Array.from(v, Math.abs).sort()[cut - 1];
  let left = cut;
  for (let i = 0; i < v.length && left > 0; i++) {
    if (Math.abs(v[i]) < threshold) {
      v[i] = 0;
      left--;
    }
  }
  for (let i = 0; i < v.length && left > 0; i++) {
    if (Math.abs(v[i]) === threshold && v[i] !== 0) {
      v[i] = 0;
      left--;
    }
  }
}

/** A copy of the [rows, cols] weight `w` (row-major) pruned by `rule`. */
export function magnitudePrune(w: Float32Array, rows: number, cols: number, rule: MagnitudeRule): Float32Array {
  const out = w.slice();
  if ('n' in rule) {
    for (let j = 0; j < rows; j++) {
      for (let g = 0; g < cols; g += rule.m) {
        const len = Math.min(rule.m, cols - g);
        const group = Array.from({ length: len }, (_, t) => j * cols + g + t).sort((a, b) => Math.abs(w[a]) - Math.abs(w[b]));
        for (let t = 0; t < len - rule.n; t++) out[group[t]] = 0;
      }
    }
  } else if (rule.per === 'row') {
    for (let j = 0; j < rows; j++) zeroSmallest(out.subarray(j * cols, (j + 1) * cols), Math.round(rule.sparsity * cols));
  } else {
    zeroSmallest(out, Math.round(rule.sparsity * w.length));
  }
  return out;
}

/** Prunes every linear of the runner's blocks through setLinear (f32 overrides). */
export async function pruneRunnerLinears(runner: ModelRunner, rule: MagnitudeRule): Promise<void> {
  for (const block of runner.arch.blocks) {
    for (const spec of block.linears) {
      const w = await runner.getLinear(block.index, spec.name);
      runner.setLinear(block.index, spec.name, magnitudePrune(w, spec.out, spec.in, rule));
    }
  }
}
