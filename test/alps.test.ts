/**
 * ALPS's (Ĝ + ρI)⁻¹ machineries and its deferred readbacks keep the specification's schedule: on
 * small problems every route gives the float64 reference's ρ sequence, iteration count and final
 * support (docs/algorithms.md, ALPS).
 */
import { describe, expect, it } from 'vitest';
import { withScope } from '../src/gpu/scope';
import { alps } from '../src/solvers/alps';
import { chooseRidge, makeRidge, type RidgeMethod } from '../src/solvers/alpsRidge';
import type { LayerProblem } from '../src/shared/problem';
import type { SolverEvent } from '../src/shared/telemetry';
import { testGpu } from './helpers/gpu';
import { f32, randn } from './helpers/reference';
import { alpsRef, choleskySolve, correlatedGram, relErrorRef } from './helpers/solversReference';

function problem(m: number, n: number, seed: number): LayerProblem {
  const gram = f32(correlatedGram(4 * n, n, seed, randn));
  const weight = f32(randn(m * n, seed + 10));
  return { m, n, weight, gram };
}

/** A unit-diagonal SPD matrix like ALPS's Ĝ (damped by 1 % of the mean diagonal, then scaled). */
function scaledGram(n: number, seed: number): Float64Array {
  const G = correlatedGram(2 * n, n, seed, randn);
  let trace = 0;
  for (let i = 0; i < n; i++) trace += G[i * n + i];
  for (let i = 0; i < n; i++) G[i * n + i] += (0.01 * trace) / n;
  const d = Array.from({ length: n }, (_, i) => Math.sqrt(G[i * n + i]));
  return G.map((g, idx) => g / (d[Math.floor(idx / n)] * d[idx % n]));
}

describe('ALPS routes to (Ĝ + ρI)⁻¹', () => {
  // One row, a width off every tile, and one past the stripe threshold.
  for (const [m, n] of [
    [1, 37],
    [5, 64],
    [3, 261],
  ] as const) {
    it(`${m}×${n}: every route applies (Ĝ + ρI)⁻¹ like a float64 solve, across ρ changes`, async () => {
      const gpu = await testGpu();
      const G = scaledGram(n, n);
      const rhs = randn(m * n, 7);
      const rhsT = new Float64Array(n * m);
      for (let r = 0; r < m; r++) for (let i = 0; i < n; i++) rhsT[i * m + r] = rhs[r * n + i];
      for (const method of ['eigen', 'explicit', 'factors', 'ldl'] as RidgeMethod[]) {
        if (method === 'eigen' && n > 64) continue; // slow here; test/eigen.test.ts covers the decomposition
        await withScope(gpu, async (scope) => {
          const ridge = await makeRidge(scope, scope.upload(f32(G), [n, n]), m, n, method);
          const R = scope.tensor([m, n]);
          const out = scope.tensor([m, n]);
          for (const rho of [0.1, 0.02, 0.026]) {
            ridge.refresh(rho);
            gpu.write(R, f32(rhs)); // apply may overwrite its right-hand side
            ridge.apply(R, out);
            const got = await gpu.read(out);
            const A = G.map((g, idx) => g + (idx % (n + 1) === 0 ? rho : 0));
            const want = choleskySolve(A, n, rhsT, m);
            let err = 0;
            let norm = 0;
            for (let r = 0; r < m; r++) for (let i = 0; i < n; i++) {
              err += (got[r * n + i] - want[i * m + r]) ** 2;
              norm += want[i * m + r] ** 2;
            }
            expect(Math.sqrt(err / norm), `${method} ρ = ${rho}`).toBeLessThan(2e-3);
          }
          await ridge.check();
        });
      }
    });
  }

  const cases: [number, number, number][] = [
    [24, 40, 3],
    // n ≥ 256: the triangular products run in stripes.
    [6, 260, 4],
  ];
  for (const [m, n, seed] of cases) {
    const p = problem(m, n, seed);
    const ref = alpsRef(p.weight, p.gram, m, n, 0.7);
    for (const method of ['eigen', 'explicit', 'factors', 'ldl'] as RidgeMethod[]) {
      if (method === 'eigen' && n > 64) continue; // the Jacobi route is covered by test/eigen.test.ts at this size
      it(`${m}×${n}, ${method}: the reference's ρ sequence, stopping and support`, async () => {
        const gpu = await testGpu();
        const events: SolverEvent[] = [];
        const out = await alps(gpu, p, { kind: 'unstructured', sparsity: 0.7 }, { onEvent: (e) => events.push(e) }, method);
        const weight = await gpu.read(out.weight);
        out.weight.dispose();
        expect(out.history.map((h) => h.rho)).toEqual(ref.rhos);
        expect(out.iterations).toBe(ref.iterations);
        expect(Array.from(weight, (w) => (w !== 0 ? 1 : 0))).toEqual(Array.from(ref.support));
        expect(Math.abs(out.relError - ref.relError) / ref.relError).toBeLessThan(0.05);
        expect(Math.abs(relErrorRef(weight, p.weight, p.gram, m, n) - out.relError) / out.relError).toBeLessThan(1e-3);
        // Events: one per iteration in order; the objective is measured at least on every check.
        const iters = events.flatMap((e) => (e.type === 'iteration' ? [e.data.iter] : []));
        expect(iters).toEqual(Array.from({ length: out.iterations }, (_, i) => i + 1));
        for (const h of out.history) expect(h.relError).toBeGreaterThan(0);
      });
    }
  }

  it('chooses per shape', () => {
    expect(chooseRidge(512, 512)).toBe('ldl');
    expect(chooseRidge(256, 4096)).toBe('ldl');
    expect(chooseRidge(1536, 576)).toBe('ldl');
    expect(chooseRidge(300, 256)).toBe('factors');
    expect(chooseRidge(1024, 256)).toBe('explicit');
  });
});
