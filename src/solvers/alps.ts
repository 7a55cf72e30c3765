import { checkpoint } from '../shared/control';
import type { Gpu } from '../gpu/runtime';
import { withScope } from '../gpu/scope';
import { admmDual, admmRhs, admmShift, pcgInit, pcgStep, rhoFactor, unscaleWeight } from '../kernels/admm';
import { symmetricEigen } from '../kernels/eigen';
import { matmul } from '../kernels/matmul';
import { objectiveRows, reduceSlots } from '../kernels/objective';
import { applyMask } from '../kernels/select';
import { projectionFor } from './projection';
import { relativeTo, scaleProblem } from './scaled';
import { DEFAULT_ALPS, type AlpsOptions } from '../shared/methods';
import type { Pattern } from '../shared/pattern';
import type { LayerProblem } from '../shared/problem';
import type { AlpsIteration, PcgStep } from '../shared/telemetry';
import type { SolveOptions, SolverOutput } from './types';

/**
 * ALPS (Meng et al., 2024) for one layer, as docs/algorithms.md states it: ADMM on the
 * damped, diagonally scaled problem with the ρ schedule and restart rule, then PCG on the fixed
 * support. All matrices live on the GPU in the [m, n] (outputs × inputs) layout; per iteration
 * only a handful of scalars (objective, residual norms, support change) are read back.
 */
export async function alps(gpu: Gpu, problem: LayerProblem, pattern: Pattern, options: SolveOptions = {}): Promise<SolverOutput> {
  const o: AlpsOptions = { ...DEFAULT_ALPS, ...options.alps };
  const { m, n } = problem;
  const s = { m, n };
  const emit = options.onEvent ?? (() => {});
  const projection = projectionFor(gpu, pattern, m, n);
  const k = projection.k;
  return withScope(gpu, async (scope) => {
    const mat = () => scope.tensor([m, n]);
    // ---- preparation: damping, scaling, target, eigendecomposition
    emit({ type: 'phase', phase: 'prepare' });
    const sp = await scaleProblem(scope, problem, o.damping);
    const { Ghat, d, B0, Y, lambda } = sp;
    emit({ type: 'phase', phase: 'eigendecomposition' });
    const eigen = await symmetricEigen(gpu, Ghat, n);
    scope.keep(eigen.Q);
    scope.keep(eigen.lambda);

    const partials = scope.tensor([3 * m]);
    const counter = scope.zeros([1], 'u32');
    const stats = scope.tensor([4]);
    const relative = (f: number) => relativeTo(sp, f);

    // ---- ADMM state
    const B = mat();
    const D = mat();
    const V = mat();
    const Dinit = mat();
    const Z = mat(); // B + V/ρ, then P_k(B) for the telemetry
    const T = mat(); // right-hand side, then its product with Q, then P_k(B)·Ĝ
    const T2 = mat();
    const mask = scope.tensor([m, n], 'u32');
    const support = scope.tensor([m, n], 'u32');
    const supportInit = scope.tensor([m, n], 'u32');
    const Qrho = scope.tensor([n, n]);
    const bytes = m * n * 4;

    projection.project(B0, supportInit);
    applyMask(gpu, B0, supportInit, Dinit, { count: m * n });
    const restart = () => {
      gpu.copy(B0, B, bytes);
      gpu.copy(Dinit, D, bytes);
      gpu.clear(V);
      gpu.copy(supportInit, support, bytes);
    };
    restart();

    let rho = o.rho0;
    let rhoIncreased = false;
    rhoFactor(gpu, n, eigen.Q, eigen.lambda, Qrho, rho);
    const history: AlpsIteration[] = [];
    let iterations = 0;

    for (let t = 1; t <= o.maxIterations; t++) {
      await checkpoint(options.control);
      iterations = t;
      const check = t % o.updateEvery === 0;
      // B ← (Ĝ + ρI)⁻¹ (Y − V + ρD), applied in the eigenbasis: ((rhs·Q)·Qρ).
      admmRhs(gpu, s, Y, V, D, T, rho);
      matmul(gpu, T, eigen.Q, T2, { M: m, N: n, K: n });
      matmul(gpu, T2, Qrho, B, { M: m, N: n, K: n });
      // D ← P_k(B + V/ρ); on check iterations also count support flips since the last check.
      admmShift(gpu, s, B, V, Z, rho);
      projection.project(Z, mask);
      applyMask(gpu, Z, mask, D, check ? { count: m * n, support, counter } : { count: m * n });
      // V ← V + ρ(B − D), with ‖B − D‖² and ‖B‖² per row.
      admmDual(gpu, s, B, D, V, partials, rho);
      // Telemetry: objective of P_k(B).
      projection.project(B, mask);
      applyMask(gpu, B, mask, Z, { count: m * n });
      matmul(gpu, Z, Ghat, T, { M: m, N: n, K: n });
      objectiveRows(gpu, s, { X: Z, XG: T, X0: B0, Y, d, partials }, 2, lambda);
      reduceSlots(gpu, m, 3, { partials, counter, stats });
      const [diff, norm, f, flips] = await gpu.read(stats, 4);

      const entry: AlpsIteration = {
        iter: t,
        rho,
        supportChange: check ? flips : null,
        supportChangeFraction: check ? flips / Math.max(k, 1) : null,
        relError: relative(f),
        primalResidual: norm > 0 ? Math.sqrt(diff / norm) : 0,
      };
      if (!check) {
        history.push(entry);
        emit({ type: 'iteration', data: entry });
        continue;
      }
      gpu.clear(counter);
      // ρ schedule (every `updateEvery` iterations), on c = support flips since the last check.
      const c = flips;
      let stop = false;
      let restarted = false;
      if (c > 0.1 * k) {
        rho *= 1.3;
        rhoIncreased = true;
      } else if (c > 0.005 * k) {
        rho *= 1.2;
        rhoIncreased = true;
      } else if (c >= 1) {
        if (rhoIncreased) rho *= 1.1;
        else {
          rho /= 5;
          restart();
          restarted = true;
        }
      } else if (rhoIncreased) {
        stop = true;
      } else {
        rho /= 5;
      }
      rho = Math.min(rho, o.rhoMax);
      if (t >= o.minIterations && c / Math.max(k, 1) < o.stopFraction) stop = true;
      if (restarted) entry.restarted = true;
      history.push(entry);
      emit({ type: 'iteration', data: entry });
      if (stop) break;
      rhoFactor(gpu, n, eigen.Q, eigen.lambda, Qrho, rho);
    }

    // ---- support S = supp(P_k(B)); PCG on it
    emit({ type: 'phase', phase: 'pcg' });
    const X = mat();
    const XG = mat();
    projection.project(B, mask);
    applyMask(gpu, B, mask, X, { count: m * n });
    matmul(gpu, X, Ghat, XG, { M: m, N: n, K: n });
    objectiveRows(gpu, s, { X, XG, X0: B0, Y, d, partials }, 0, lambda);
    reduceSlots(gpu, m, 1, { partials, counter, stats });
    const [fBefore] = await gpu.read(stats, 1);
    const relErrorBeforeRefit = relative(fBefore);
    let relError = relErrorBeforeRefit;

    const R = D; // ADMM buffers are free now
    const P = V;
    const AP = Z;
    const state = scope.tensor([4 * m]);
    pcgInit(gpu, s, { mask, Y, XG, R, P, state });
    const pcg: PcgStep[] = [];
    for (let step = 1; step <= o.pcgSteps; step++) {
      await checkpoint(options.control);
      matmul(gpu, P, Ghat, AP, { M: m, N: n, K: n });
      pcgStep(gpu, s, { mask, AP, X, XG, R, P, state, partials });
      objectiveRows(gpu, s, { X, XG, X0: B0, Y, d, partials }, 0, lambda);
      reduceSlots(gpu, m, 2, { partials, counter, stats }, 1);
      const [f, residual] = await gpu.read(stats, 2);
      relError = relative(f);
      const entry = { step, residual, relError };
      pcg.push(entry);
      emit({ type: 'pcg', data: entry });
      if (residual <= o.pcgTol) break;
    }

    const weight = scope.tensor([m, n]);
    unscaleWeight(gpu, s, X, d, weight);
    return { weight: scope.detach(weight), relError, relErrorBeforeRefit, iterations, history, pcg };
  });
}
