import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EngineSession } from '../src/engine/session';
import { writeLayerProblem } from '../src/formats/layerProblem';
import { openNodeGpu } from '../src/gpu/node';
import { memoryKv } from '../src/shared/kv';
import { DEFAULT_ALPS } from '../src/shared/methods';
import type { Gpu } from '../src/gpu/runtime';
import { diagonalHealth, HEALTH_POWER_STEPS, healthCsvCells, HEALTH_THRESHOLDS, healthWarnings, powerStart, type LayerHealth } from '../src/shared/health';
import { layerHealth } from '../src/solvers/health';
import { bundledAssets } from './helpers/bundledRun';
import { cli } from './helpers/cli';
import { testGpu } from './helpers/gpu';
import { choleskyLower, f32, gramRef, jacobiEigenvaluesRef, randn } from './helpers/reference';

/** Ĝ = D⁻¹(G + λI)D⁻¹ in float64, as ALPS's preparation (docs/algorithms.md). */
function scaledRef(G: ArrayLike<number>, n: number, fraction: number): Float64Array {
  let trace = 0;
  for (let i = 0; i < n; i++) trace += G[i * n + i];
  const lambda = (fraction * trace) / n;
  const d = Array.from({ length: n }, (_, i) => Math.sqrt(G[i * n + i] + lambda) + 1e-8);
  const H = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) H[i * n + j] = (G[i * n + j] + (i === j ? lambda : 0)) / (d[i] * d[j]);
  return H;
}

/** The last Rayleigh quotient of `steps` power-iteration steps of x ↦ apply(x) from powerStart, float64. */
function powerRef(apply: (x: Float64Array) => Float64Array, n: number, steps: number): number {
  let x = powerStart(n);
  let q = 0;
  for (let k = 0; k < steps; k++) {
    const y = apply(x);
    q = 0;
    let s = 0;
    for (let i = 0; i < n; i++) {
      q += x[i] * y[i];
      s += y[i] * y[i];
    }
    x = y.map((v) => v / Math.sqrt(s));
  }
  return q;
}

function matvec(A: Float64Array, x: Float64Array, n: number): Float64Array {
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) y[i] += A[i * n + j] * x[j];
  return y;
}

/** A⁻¹x by the float64 Cholesky factor. */
function solveRef(L: Float64Array, x: Float64Array, n: number): Float64Array {
  const z = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = x[i];
    for (let k = 0; k < i; k++) s -= L[i * n + k] * z[k];
    z[i] = s / L[i * n + i];
  }
  for (let i = n - 1; i >= 0; i--) {
    let s = z[i];
    for (let k = i + 1; k < n; k++) s -= L[k * n + i] * z[k];
    z[i] = s / L[i * n + i];
  }
  return z;
}


/** XᵀX of N rows with the given inputs silenced (their column of X is 0). */
function gramOf(N: number, n: number, seed: number, dead: number[] = []): Float64Array {
  const X = randn(N * n, seed);
  // Uneven input energies, as activations have.
  for (let r = 0; r < N; r++) for (let j = 0; j < n; j++) X[r * n + j] *= dead.includes(j) ? 0 : 1 + (j % 5);
  return gramRef(X, N, n);
}

async function health(gpu: Gpu, G: Float64Array, n: number, rows: number, fraction = 0.01): Promise<LayerHealth> {
  return layerHealth(gpu, { m: 1, n, weight: new Float32Array(n), gram: f32(G), rows }, { fraction, factored: true });
}

describe('layer health: condition estimate on the GPU against float64', () => {
  const cases: { name: string; n: number; rows: number; dead?: number[] }[] = [
    { name: 'n = 1', n: 1, rows: 4 },
    { name: 'n = 33 (not a multiple of the workgroup)', n: 33, rows: 80 },
    { name: 'n = 300 (more inputs than the workgroup holds)', n: 300, rows: 700 },
    { name: 'dead inputs', n: 40, rows: 100, dead: [0, 7, 39] },
    { name: 'rank-deficient: rows < n', n: 64, rows: 16 },
    { name: 'rank-deficient with dead inputs, n = 257', n: 257, rows: 100, dead: [3, 256] },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const gpu = await testGpu();
      const G = gramOf(c.rows, c.n, 11 + c.n, c.dead);
      const h = await health(gpu, G, c.n, c.rows);
      const H = scaledRef(G, c.n, 0.01);
      const L = choleskyLower(H, c.n);
      const steps = HEALTH_POWER_STEPS;
      const lambdaMax = powerRef((x) => matvec(H, x, c.n), c.n, steps);
      const lambdaMin = 1 / powerRef((x) => solveRef(L, x, c.n), c.n, steps);
      expect(h.factorises).toBe(true);
      expect(h.condition!.lambdaMax).toBeCloseTo(lambdaMax, 3);
      expect(Math.abs(h.condition!.lambdaMin! / lambdaMin - 1)).toBeLessThan(5e-3);
      // Against the true spectrum: the estimate errs inwards (a lower bound of κ), and not by much.
      if (c.n <= 64) {
        const ev = jacobiEigenvaluesRef(H, c.n);
        const kappa = ev[c.n - 1] / ev[0];
        expect(h.condition!.estimate!).toBeLessThanOrEqual(kappa * 1.001);
        expect(h.condition!.estimate!).toBeGreaterThan(0.5 * kappa);
      }
      expect(h.deadInputs).toBe(c.dead?.length ?? 0);
      expect(h.rankDeficient).toBe(c.rows < c.n);
      expect(h.rows).toBe(c.rows);
      expect(h.damping.lambda).toBeCloseTo((0.01 * Array.from({ length: c.n }, (_, i) => G[i * c.n + i]).reduce((a, b) => a + b)) / c.n, 3);
      const kinds = healthWarnings(h).map((w) => w.kind);
      expect(kinds.includes('dead-inputs')).toBe((c.dead?.length ?? 0) > 0);
      expect(kinds.includes('rank-deficient')).toBe(c.rows < c.n);
    });
  }

  it('an undamped gram with dead inputs fails the factorisation, and says so', async () => {
    const gpu = await testGpu();
    const n = 20;
    const G = gramOf(50, n, 5, [4]);
    const h = await health(gpu, G, n, 50, 0);
    expect(h.factorises).toBe(false);
    expect(h.condition!.lambdaMin).toBeNull();
    expect(h.condition!.estimate).toBeNull();
    expect(healthWarnings(h).map((w) => w.kind)).toEqual(['dead-inputs', 'not-factorisable']);
  });

  it('for a method that never factors the gram (magnitude, Wanda): shifted power iteration, a lower bound within 10× of κ, nothing claimed about factoring', async () => {
    const gpu = await testGpu();
    for (const [n, rows] of [[33, 8], [300, 600]] as const) {
      const G = gramOf(rows, n, 5, [3]);
      const h = await layerHealth(gpu, { m: 1, n, weight: new Float32Array(n), gram: f32(G), rows }, { fraction: 0.01, factored: false });
      expect(h.factorises).toBeNull();
      expect(h.condition.by).toBe('shifted-power');
      const ev = jacobiEigenvaluesRef(scaledRef(G, n, 0.01), n);
      const kappa = ev[n - 1] / ev[0];
      expect(h.condition.estimate!).toBeLessThanOrEqual(kappa * 1.01);
      // 24 products converge slowly to a clustered bottom: an order-of-magnitude estimate (measured 0.18 κ at n = 33).
      expect(h.condition.estimate!).toBeGreaterThan(0.1 * kappa);
      expect(healthWarnings(h).map((w) => w.kind)).toEqual(rows < n ? ['dead-inputs', 'rank-deficient'] : ['dead-inputs']);
      expect(healthCsvCells(h)[8]).toBe('');
    }
  });

  it('an ill-conditioned gram (nearly repeated inputs, tiny damping) is flagged', async () => {
    const gpu = await testGpu();
    const n = 12;
    const N = 40;
    const X = randn(N * n, 3);
    for (let r = 0; r < N; r++) X[r * n + 1] = X[r * n] * (1 + 1e-4) + 1e-5 * X[r * n + 2];
    const G = gramRef(X, N, n);
    const h = await health(gpu, G, n, N, 1e-9);
    const H = scaledRef(G, n, 1e-9);
    const ev = jacobiEigenvaluesRef(H, n);
    expect(ev[n - 1] / ev[0]).toBeGreaterThan(HEALTH_THRESHOLDS.condition);
    if (h.factorises) {
      expect(h.condition!.estimate!).toBeGreaterThan(HEALTH_THRESHOLDS.condition);
      expect(healthWarnings(h).map((w) => w.kind)).toContain('ill-conditioned');
    } else {
      expect(healthWarnings(h).map((w) => w.kind)).toContain('not-factorisable');
    }
  });
});

describe('layer health: diagonal and warnings', () => {
  it('counts dead inputs and the spread and median of the live diagonal', () => {
    const n = 5;
    const G = new Float64Array(n * n);
    [4, 0, 1, 9, 0].forEach((v, i) => (G[i * n + i] = v));
    expect(diagonalHealth(G, n)).toEqual({ deadInputs: 2, diagonal: { min: 1, max: 9, median: 4, spread: 9 } });
    expect(diagonalHealth(new Float64Array(4), 2)).toEqual({ deadInputs: 2, diagonal: null });
    G[4 * n + 4] = 6;
    expect(diagonalHealth(G, n).diagonal!.median).toBe(5);
  });

  const base: LayerHealth = {
    n: 576,
    deadInputs: 0,
    diagonal: { min: 1, max: 10, median: 3, spread: 10 },
    rows: 2048,
    rankDeficient: false,
    damping: { fraction: 0.01, lambda: 0.05, factored: true },
    condition: { lambdaMax: 3, lambdaMin: 0.01, estimate: 300, steps: HEALTH_POWER_STEPS, by: 'inverse-iteration' },
    factorises: true,
  };

  it('a healthy layer has no warning', () => {
    expect(healthWarnings(base)).toEqual([]);
  });

  it('each problem gives one line with what to do', () => {
    const h: LayerHealth = {
      ...base,
      deadInputs: 12,
      rows: 64,
      rankDeficient: true,
      condition: { ...base.condition!, estimate: 1.2e9 },
      diagonal: { min: 1e-3, max: 1e5, median: 1, spread: 1e8 },
    };
    const lines = healthWarnings(h).map((w) => w.text);
    expect(lines).toEqual([
      '12 of 576 inputs never fire (dead): their weights are pruned for free; more calibration text may wake them',
      '64 calibration rows for 576 inputs: the gram is rank-deficient; use more samples or longer windows',
      'condition number ~1e9 at damping 0.01: raise damping',
      'input energies span ~1e8 (max/min of diag G): the weakest inputs are lost to f32 rounding; check the calibration text for outlier tokens',
    ]);
    for (const line of lines) expect(line).not.toContain('\n');
  });

  it('unknown rows raise no rank warning; a failed factorisation replaces the condition warning', () => {
    const h: LayerHealth = { ...base, rows: null, rankDeficient: null, factorises: false, condition: { ...base.condition!, lambdaMin: null, estimate: null } };
    expect(healthWarnings(h).map((w) => w.kind)).toEqual(['not-factorisable']);
  });
});

describe('layer health in `prune-layer`', () => {
  const dir = mkdtempSync(join(tmpdir(), 'prune-studio-health-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const write = (name: string, m: number, n: number, N: number, dead: number[]) => {
    const file = join(dir, name);
    const weight = f32(randn(m * n, 2));
    writeFileSync(file, writeLayerProblem({ m, n, weight, gram: f32(gramOf(N, n, 21, dead)), rows: N, meta: { layer: name } }));
    return file;
  };

  it('a problem with dead inputs and one with fewer rows than inputs raise their warnings in --json and in the summary', async () => {
    const dead = write('dead.safetensors', 6, 24, 96, [2, 5, 11]);
    const short = write('short.safetensors', 6, 40, 10, []);
    const json = await cli(['prune-layer', dead, '--method', 'sparsegpt', '--sparsity', '0.5', '--json', '--quiet']);
    expect(json.code).toBe(0);
    const r = JSON.parse(json.stdout.trim().split('\n').pop()!) as { health: LayerHealth; warnings: string[] };
    expect(r.health.deadInputs).toBe(3);
    expect(r.health.rows).toBe(96);
    expect(r.health.rankDeficient).toBe(false);
    expect(r.health.factorises).toBe(true);
    expect(r.health.damping.fraction).toBe(0.01);
    expect(r.warnings).toEqual(['3 of 24 inputs never fire (dead): their weights are pruned for free; more calibration text may wake them']);

    const human = await cli(['prune-layer', short, '--method', 'wanda', '--sparsity', '0.5', '--quiet']);
    expect(human.code).toBe(0);
    expect(human.stdout).toContain('  warning: 10 calibration rows for 40 inputs: the gram is rank-deficient; use more samples or longer windows');
    const shortJson = await cli(['prune-layer', short, '--method', 'alps', '--sparsity', '0.5', '--json', '--quiet']);
    const s = JSON.parse(shortJson.stdout.trim().split('\n').pop()!) as { health: LayerHealth; warnings: string[] };
    expect(s.health.rankDeficient).toBe(true);
    expect(s.warnings.some((w) => w.startsWith('10 calibration rows for 40 inputs'))).toBe(true);
  }, 120_000);
});

describe('layer health through the engine session (what the studio shows)', () => {
  const opened: Gpu[] = [];
  afterAll(() => opened.forEach((gpu) => gpu.destroy()));

  it('the bundled model calibrated with one window of 8 tokens: fewer rows than inputs, in the outcome and its warnings', async () => {
    const session = new EngineSession({
      openGpu: async () => {
        const gpu = await openNodeGpu();
        opened.push(gpu);
        return gpu;
      },
      assets: bundledAssets,
      kv: memoryKv(),
    });
    const summary = await session.loadDefault();
    const layer = summary.linears[0]!;
    const settings = { method: 'sparsegpt' as const, pattern: { kind: 'unstructured' as const, sparsity: 0.5 }, alps: DEFAULT_ALPS };
    const outcome = await session.pruneLayer(layer.id, settings, { nsamples: 1, seqlen: 8, seed: 0 }, () => undefined);
    const h = outcome.health!;
    expect(h.rows).toBe(8);
    expect(h.n).toBeGreaterThan(8);
    expect(h.rankDeficient).toBe(true);
    expect(h.factorises).toBe(true);
    expect(healthWarnings(h).map((w) => w.text)).toContain(`8 calibration rows for ${h.n} inputs: the gram is rank-deficient; use more samples or longer windows`);
  }, 120_000);
});
