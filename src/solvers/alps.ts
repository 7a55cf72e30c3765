import { checkpoint } from '../shared/control';
import type { Gpu } from '../gpu/runtime';
import { withScope } from '../gpu/scope';
import { admmDual, admmRhs, admmShift, unscaleWeight } from '../kernels/admm';
import { matmul } from '../kernels/matmul';
import { objectiveRows, reduceSlots } from '../kernels/objective';
import { applyMask } from '../kernels/select';
import { chooseRidge, makeRidge, type RidgeMethod } from './alpsRidge';
import { updateRho } from './alpsSchedule';
import { pcgRefit } from './pcgRefit';
import { projectionFor } from './projection';
import { relativeTo, scaleProblem } from './scaled';
import { supportFrameRecorder } from './supportFrames';
import { DEFAULT_ALPS, type AlpsOptions } from '../shared/methods';
import type { Pattern } from '../shared/pattern';
import type { LayerProblem } from '../shared/problem';
import type { AlpsIteration, PcgStep } from '../shared/telemetry';
import type { SolveOptions, SolverOutput } from './types';

/** Floats of one iteration's telemetry: ‖B − D‖², ‖B‖², f(P_k(B)), support flips. */
const STATS = 4;

/**
 * ALPS (Meng et al., 2024) for one layer, as docs/algorithms.md states it: ADMM on the
 * damped, diagonally scaled problem with the ρ schedule and restart rule, then PCG on the fixed
 * support. All matrices live on the GPU in the [m, n] (outputs × inputs) layout.
 *
 * Round trips: the schedule only decides on check iterations, so the iterations in between are
 * recorded without waiting; each iteration's four scalars go to its slot of a small GPU buffer and
 * one read per check delivers them all. The objective of P_k(B) (one extra n×n·n×m product) is
 * measured on the first iteration and on every check, as the authors' code does; the iterations in
 * between report the last measured value. `ridge` forces the (Ĝ + ρI)⁻¹ machinery (benchmarks and
 * tests); by default `chooseRidge` picks it per shape.
 */
export async function alps(
  gpu: Gpu,
  problem: LayerProblem,
  pattern: Pattern,
  options: SolveOptions = {},
  ridgeMethod?: RidgeMethod,
): Promise<SolverOutput> {
  const o: AlpsOptions = { ...DEFAULT_ALPS, ...options.alps };
  const { m, n } = problem;
  const s = { m, n };
  const emit = options.onEvent ?? (() => {});
  const projection = projectionFor(gpu, pattern, m, n);
  const k = projection.k;
  return withScope(gpu, async (scope) => {
    const mat = () => scope.tensor([m, n]);
    // ---- preparation: damping, scaling, target, the (Ĝ + ρI)⁻¹ machinery
    emit({ type: 'phase', phase: 'prepare' });
    const sp = await scaleProblem(scope, problem, o.damping);
    const { Ghat, d, B0, Y, lambda } = sp;
    const method = ridgeMethod ?? chooseRidge(m, n);
    if (method === 'eigen') emit({ type: 'phase', phase: 'eigendecomposition' });
    const ridge = await makeRidge(scope, Ghat, m, n, method);

    const partials = scope.tensor([3 * m]);
    const counter = scope.zeros([1], 'u32');
    const stats = scope.tensor([STATS]);
    const every = Math.max(1, Math.floor(o.updateEvery));
    const ring = scope.tensor([STATS * every]);
    const relative = (f: number) => relativeTo(sp, f);

    // ---- ADMM state
    const B = mat();
    const D = mat();
    const V = mat();
    const Dinit = mat();
    const Z = mat(); // B + V/ρ, then P_k(B) for the telemetry
    const T = mat(); // right-hand side, then P_k(B)·Ĝ
    const mask = scope.tensor([m, n], 'u32');
    const support = scope.tensor([m, n], 'u32');
    const supportInit = scope.tensor([m, n], 'u32');
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

    const schedule = { rho: o.rho0, increased: false };
    // Support frames, only when the caller asks (frame 0: the starting support P_k(B₀)).
    const frames = supportFrameRecorder(scope, m, n, k, options.supportFrames);
    await frames?.capture(support).finish({ iter: 0, rho: o.rho0, nextRho: o.rho0, supportChange: null });
    ridge.refresh(schedule.rho);
    const history: AlpsIteration[] = [];
    let iterations = 0;
    /** Iterations recorded since the last read: their ρ and whether the objective was measured. */
    let pending: { t: number; rho: number; measured: boolean }[] = [];
    let lastRelError = 1;
    /** Whether the last iteration's check restarted (B is then B0, not the iterate measured). */
    let restartedLast = false;

    for (let t = 1; t <= o.maxIterations; t++) {
      await checkpoint(options.control);
      iterations = t;
      restartedLast = false;
      const rho = schedule.rho;
      const check = t % every === 0;
      const measured = check || t === 1 || t === o.maxIterations;
      // B ← (Ĝ + ρI)⁻¹ (Y − V + ρD).
      admmRhs(gpu, s, Y, V, D, T, rho);
      ridge.apply(T, B);
      // D ← P_k(B + V/ρ); on check iterations also count support flips since the last check.
      admmShift(gpu, s, B, V, Z, rho);
      projection.project(Z, mask);
      applyMask(gpu, Z, mask, D, check ? { count: m * n, support, counter } : { count: m * n });
      // V ← V + ρ(B − D), with ‖B − D‖² and ‖B‖² per row.
      admmDual(gpu, s, B, D, V, partials, rho);
      if (measured) {
        // Telemetry: objective of P_k(B).
        projection.project(B, mask);
        applyMask(gpu, B, mask, Z, { count: m * n });
        matmul(gpu, Z, Ghat, T, { M: m, N: n, K: n });
        objectiveRows(gpu, s, { X: Z, XG: T, X0: B0, Y, d, partials }, 2, lambda);
      }
      reduceSlots(gpu, m, 3, { partials, counter, stats });
      gpu.copy(stats, ring, STATS * 4, 0, pending.length * STATS * 4);
      pending.push({ t, rho, measured });
      if (!check && t < o.maxIterations) continue;

      const frame = check ? frames?.capture(support) : undefined;
      const values = await gpu.read(ring, pending.length * STATS);
      const entries = pending.map((p, i): AlpsIteration => {
        const [diff, norm, f] = values.subarray(i * STATS, i * STATS + 3);
        if (p.measured) lastRelError = relative(f);
        const entry: AlpsIteration = {
          iter: p.t,
          rho: p.rho,
          supportChange: null,
          supportChangeFraction: null,
          relError: lastRelError,
          primalResidual: norm > 0 ? Math.sqrt(diff / norm) : 0,
        };
        return entry;
      });
      pending = [];
      const last = entries[entries.length - 1];
      let stop = false;
      if (check) {
        const c = values[entries.length * STATS - 1];
        last.supportChange = c;
        last.supportChangeFraction = c / Math.max(k, 1);
        gpu.clear(counter);
        // ρ schedule (every `updateEvery` iterations), on c = support flips since the last check.
        const decision = updateRho(schedule, c, k, t, o);
        restartedLast = decision.restart;
        if (decision.restart) {
          restart();
          last.restarted = true;
        }
        stop = decision.stop;
      }
      for (const entry of entries) {
        history.push(entry);
        emit({ type: 'iteration', data: entry });
      }
      await frame?.finish({ iter: t, rho, nextRho: schedule.rho, supportChange: last.supportChange, restarted: last.restarted });
      if (stop || t === o.maxIterations) break;
      if (schedule.rho !== rho) ridge.refresh(schedule.rho);
    }
    await ridge.check();

    // ---- support S = supp(P_k(B)); PCG on it
    emit({ type: 'phase', phase: 'pcg' });
    // The loop ends on a measured iteration, which left P_k(B) in Z, its mask in `mask`, P_k(B)·Ĝ
    // in T and its objective in lastRelError: the refit starts from those, unless a restart at that
    // very check replaced B (or no iteration ran).
    const remeasure = restartedLast || iterations === 0;
    let X = Z;
    let XG = T;
    let relErrorBeforeRefit = lastRelError;
    if (remeasure) {
      X = mat();
      XG = mat();
      projection.project(B, mask);
      applyMask(gpu, B, mask, X, { count: m * n });
      matmul(gpu, X, Ghat, XG, { M: m, N: n, K: n });
      objectiveRows(gpu, s, { X, XG, X0: B0, Y, d, partials }, 0, lambda);
      reduceSlots(gpu, m, 1, { partials, counter, stats });
      const [fBefore] = await gpu.read(stats, 1);
      relErrorBeforeRefit = relative(fBefore);
    }
    let relError = relErrorBeforeRefit;

    const R = D; // ADMM buffers are free now
    const P = V;
    const AP = remeasure ? Z : B;
    const state = scope.tensor([4 * m]);
    const pcg: PcgStep[] = [];
    await pcgRefit(gpu, s, { mask, Ghat, Y, X, XG, R, P, AP, state, partials, counter, stats }, {
      steps: o.pcgSteps,
      tol: o.pcgTol,
      control: options.control,
      objective: () => objectiveRows(gpu, s, { X, XG, X0: B0, Y, d, partials }, 0, lambda),
      onStep: (step, f, residual) => {
        relError = relative(f);
        const entry = { step, residual, relError };
        pcg.push(entry);
        emit({ type: 'pcg', data: entry });
      },
    });

    const weight = scope.tensor([m, n]);
    unscaleWeight(gpu, s, X, d, weight);
    return { weight: scope.detach(weight), relError, relErrorBeforeRefit, iterations, history, pcg };
  });
}
