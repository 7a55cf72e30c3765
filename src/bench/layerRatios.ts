/**
 * The docs/algorithms.md check on a real model: every linear layer's dense problem (grams from
 * calibration text), pruned by every method, and the geometric means of the error ratios.
 * Shared by scripts/layer-ratios.ts (prints the table) and test/ratios.test.ts (asserts).
 */
import type { Gpu } from '../gpu/runtime';
import type { OpenedModel } from '../model/loader';
import { calibrationWindows } from '../pipeline/calibration';
import { denseLayerProblems } from '../pipeline/prune';
import type { Method } from '../shared/methods';
import type { Pattern } from '../shared/pattern';
import { solveLayer } from '../solvers';

export interface RatioRow {
  layer: string;
  shape: [number, number];
  errors: Record<Method, number>;
  nnz: Record<Method, number>;
}

export interface RatioReport {
  rows: RatioRow[];
  /** Geometric mean over layers of errors[a] / errors[b]. */
  geomeanRatio(a: Method, b: Method): number;
}

export async function layerRatios(
  gpu: Gpu,
  model: OpenedModel,
  text: string,
  pattern: Pattern,
  o: { nsamples: number; seqlen: number; seed: number; methods: Method[]; layers?: (id: string) => boolean; onRow?: (row: RatioRow) => void },
): Promise<RatioReport> {
  if (!model.tokenizer) throw new Error(`${model.name} has no tokenizer.json`);
  const windows = calibrationWindows(model.tokenizer, text, o);
  const problems = await denseLayerProblems(gpu, model, windows, o.seqlen);
  const rows: RatioRow[] = [];
  for (const [layer, problem] of problems) {
    if (o.layers && !o.layers(layer)) continue;
    const errors = {} as Record<Method, number>;
    const nnz = {} as Record<Method, number>;
    for (const method of o.methods) {
      const r = await solveLayer(gpu, problem, method, pattern);
      errors[method] = r.relError;
      nnz[method] = r.nnz;
    }
    const row: RatioRow = { layer, shape: [problem.m, problem.n], errors, nnz };
    rows.push(row);
    o.onRow?.(row);
  }
  return {
    rows,
    geomeanRatio(a, b) {
      const logs = rows.map((r) => Math.log(r.errors[a] / r.errors[b]));
      return Math.exp(logs.reduce((x, y) => x + y, 0) / logs.length);
    },
  };
}
