import { describe, expect, it } from 'vitest';
import { admmDual, admmRhs, admmShift, dampingOf, pcgInit, pcgStep, rhoFactor, scaleGram, scaleWeight, unscaleWeight } from '../src/kernels/admm';
import { objectiveRows, reduceSlots, wandaScores } from '../src/kernels/objective';
import type { Gpu, GpuTensor } from '../src/gpu/runtime';
import { testGpu } from './helpers/gpu';
import { f32, gramRef, maxAbs, maxAbsDiff, randn } from './helpers/reference';

// Edge shapes [m, n]: one entry, one row, one column, and sizes that are not multiples of the
// 64-wide and 8 × 8 workgroups.
const shapes: [number, number][] = [
  [1, 1],
  [1, 13],
  [37, 1],
  [5, 70],
  [70, 9],
];

function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, rel = 2e-6, label = ''): void {
  expect(maxAbsDiff(got, want), label).toBeLessThanOrEqual(rel * (1 + maxAbs(want)));
}

/** A symmetric positive definite n × n gram from 2n + 3 random samples. */
function spd(n: number, seed: number): Float64Array {
  const N = 2 * n + 3;
  return gramRef(randn(N * n, seed), N, n);
}

function upload(gpu: Gpu, a: ArrayLike<number>): GpuTensor {
  return gpu.upload(f32(a));
}

/** Uploads, runs, reads back `outs` and disposes everything. */
async function withTensors(gpu: Gpu, inputs: ArrayLike<number>[], run: (t: GpuTensor[]) => GpuTensor[]): Promise<Float32Array[]> {
  const tensors = inputs.map((a) => upload(gpu, a));
  const outs = run(tensors);
  const got = [];
  for (const t of outs) got.push(await gpu.read(t));
  for (const t of new Set([...tensors, ...outs])) t.dispose();
  return got;
}

describe('ALPS preparation kernels against float64', () => {
  it('damping, scaled gram and diagonal scale', async () => {
    const gpu = await testGpu();
    for (const n of [1, 9, 70]) {
      const G = spd(n, n + 1);
      const damping = 0.01;
      let trace = 0;
      for (let i = 0; i < n; i++) trace += G[i * n + i];
      const lambda = (damping * trace) / n;
      const dRef = Array.from({ length: n }, (_, i) => Math.sqrt(G[i * n + i] + lambda) + 1e-8);
      const hatRef = G.map((g, k) => {
        const [i, j] = [Math.floor(k / n), k % n];
        return (g + (i === j ? lambda : 0)) / (dRef[i] * dRef[j]);
      });
      const [scalars, gramHat, d] = await withTensors(gpu, [G], ([gram]) => {
        const outs = [gpu.zeros([1]), gpu.zeros([n * n]), gpu.zeros([n])];
        dampingOf(gpu, n, gram, outs[0], damping);
        scaleGram(gpu, n, gram, outs[0], outs[1], outs[2]);
        return outs;
      });
      expectClose(scalars, [lambda], 1e-6, `λ n=${n}`);
      expectClose(d, dRef, 1e-6, `d n=${n}`);
      expectClose(gramHat, hatRef, 1e-6, `Ĝ n=${n}`);
    }
  });

  it('scales and unscales columns, also over a grid folded past 65535 workgroups', async () => {
    const gpu = await testGpu();
    for (const [m, n] of [...shapes, [64, 65537] as [number, number]]) {
      const W = randn(m * n, m + n);
      const d = randn(n, n).map((v) => 0.5 + Math.abs(v));
      const [scaled, unscaled] = await withTensors(gpu, [W, d], ([w, dd]) => {
        const outs = [gpu.tensor([m * n]), gpu.tensor([m * n])];
        scaleWeight(gpu, { m, n }, w, dd, outs[0]);
        unscaleWeight(gpu, { m, n }, w, dd, outs[1]);
        return outs;
      });
      expectClose(scaled, W.map((v, k) => v * d[k % n]), 1e-6, `W∘d ${m}×${n}`);
      expectClose(unscaled, W.map((v, k) => v / d[k % n]), 1e-6, `W./d ${m}×${n}`);
    }
  });

  it('ρ factor Qρ = diag(1/(λ+ρ))·Qᵀ', async () => {
    const gpu = await testGpu();
    for (const n of [1, 9, 70]) {
      const Q = randn(n * n, 3 * n);
      const eig = randn(n, n + 7).map((v) => Math.abs(v));
      const rho = 0.3;
      const [Qrho] = await withTensors(gpu, [Q, eig], ([q, e]) => {
        const out = gpu.tensor([n * n]);
        rhoFactor(gpu, n, q, e, out, rho);
        return [out];
      });
      expectClose(Qrho, Q.map((_, k) => Q[(k % n) * n + Math.floor(k / n)] / (eig[Math.floor(k / n)] + rho)), 1e-6, `n=${n}`);
    }
  });
});

describe('ADMM iteration kernels against float64', () => {
  it('right-hand side, shift and dual update with per-row norms', async () => {
    const gpu = await testGpu();
    const rho = 0.7;
    for (const [m, n] of shapes) {
      const [Y, V, D, B] = [1, 2, 3, 4].map((s) => randn(m * n, 10 * s + m + n));
      const [rhs, Z, Vnew, partials] = await withTensors(gpu, [Y, V, D, B], ([y, v, dd, b]) => {
        const outs = [gpu.tensor([m * n]), gpu.tensor([m * n]), upload(gpu, V), gpu.zeros([2 * m])];
        admmRhs(gpu, { m, n }, y, v, dd, outs[0], rho);
        admmShift(gpu, { m, n }, b, v, outs[1], rho);
        admmDual(gpu, { m, n }, b, dd, outs[2], outs[3], rho);
        return outs;
      });
      expectClose(rhs, Y.map((y, k) => y - V[k] + rho * D[k]), 2e-6, `rhs ${m}×${n}`);
      expectClose(Z, B.map((b, k) => b + V[k] / rho), 2e-6, `shift ${m}×${n}`);
      expectClose(Vnew, V.map((v, k) => v + rho * (B[k] - D[k])), 2e-6, `dual ${m}×${n}`);
      const norms = new Float64Array(2 * m);
      for (let k = 0; k < m * n; k++) {
        const row = Math.floor(k / n);
        norms[row] += (B[k] - D[k]) ** 2;
        norms[m + row] += B[k] ** 2;
      }
      expectClose(partials, norms, 1e-5, `norms ${m}×${n}`);
    }
  });

  it('masked PCG: init and two steps match a float64 CG', async () => {
    const gpu = await testGpu();
    for (const [m, n] of shapes) {
      const G = spd(n, 5 * n + m);
      const mask = Uint32Array.from(randn(m * n, m * n + 1), (v) => (v > -0.3 ? 1 : 0));
      const Y = randn(m * n, m + 2 * n);
      const X0 = randn(m * n, 2 * m + n).map((v, k) => (mask[k] ? v : 0));
      // Float64 reference of the same per-row recurrence.
      const times = (P: ArrayLike<number>) => {
        const out = new Float64Array(m * n);
        for (let r = 0; r < m; r++) for (let j = 0; j < n; j++) for (let k = 0; k < n; k++) out[r * n + j] += P[r * n + k] * G[k * n + j];
        return out;
      };
      const X = Float64Array.from(X0);
      const XG = times(X);
      const R = Y.map((y, k) => (mask[k] ? y - XG[k] : 0));
      const P = Float64Array.from(R);
      const rr = new Float64Array(m);
      const ynorm = new Float64Array(m);
      for (let k = 0; k < m * n; k++) {
        rr[Math.floor(k / n)] += R[k] ** 2;
        ynorm[Math.floor(k / n)] += Y[k] ** 2;
      }
      ynorm.forEach((v, r) => (ynorm[r] = Math.sqrt(v)));
      const ratio = new Float64Array(m);
      const steps = 2;
      for (let step = 0; step < steps; step++) {
        const AP = times(P);
        for (let r = 0; r < m; r++) {
          let pap = 0;
          for (let j = 0; j < n; j++) pap += P[r * n + j] * AP[r * n + j];
          const alpha = pap > 0 && rr[r] > 0 ? rr[r] / pap : 0;
          let rrNew = 0;
          for (let j = 0; j < n; j++) {
            const k = r * n + j;
            X[k] += alpha * P[k];
            XG[k] += alpha * AP[k];
            R[k] = mask[k] ? R[k] - alpha * AP[k] : 0;
            rrNew += R[k] ** 2;
          }
          const beta = rr[r] > 0 ? rrNew / rr[r] : 0;
          for (let j = 0; j < n; j++) P[r * n + j] = R[r * n + j] + beta * P[r * n + j];
          rr[r] = rrNew;
          ratio[r] = ynorm[r] > 0 ? Math.sqrt(rrNew) / ynorm[r] : 0;
        }
      }

      const t = {
        mask: gpu.upload(mask),
        Y: upload(gpu, Y),
        X: upload(gpu, X0),
        XG: upload(gpu, times(X0)),
        gram: upload(gpu, G),
        R: gpu.tensor([m * n]),
        P: gpu.tensor([m * n]),
        AP: gpu.tensor([m * n]),
        state: gpu.zeros([4 * m]),
        partials: gpu.zeros([2 * m]),
      };
      pcgInit(gpu, { m, n }, t);
      for (let step = 0; step < steps; step++) {
        // AP = P·Ĝ on the CPU from the GPU's P, so that only the PCG kernels are under test.
        t.AP.dispose();
        t.AP = upload(gpu, times(await gpu.read(t.P)));
        pcgStep(gpu, { m, n }, t);
      }
      const scale = 1e-4;
      expectClose(await gpu.read(t.X), X, scale, `X ${m}×${n}`);
      expectClose(await gpu.read(t.XG), XG, scale, `XG ${m}×${n}`);
      expectClose(await gpu.read(t.R), R, scale, `R ${m}×${n}`);
      expectClose((await gpu.read(t.partials)).subarray(m), ratio, scale, `ratio ${m}×${n}`);
      const state = await gpu.read(t.state);
      expectClose(Array.from({ length: m }, (_, r) => state[4 * r + 1]), ynorm, 1e-5, `‖y‖ ${m}×${n}`);
      for (const x of Object.values(t)) x.dispose();
    }
  });
});

describe('objective kernels against float64', () => {
  it('objective rows, slot sums with a max slot and the counter, Wanda scores', async () => {
    const gpu = await testGpu();
    for (const [m, n] of shapes) {
      const [X, XG, X0, Y] = [1, 2, 3, 4].map((s) => randn(m * n, 7 * s + m * n));
      const d = randn(n, n + 11).map((v) => 0.5 + Math.abs(v));
      const G = spd(n, n + 3);
      const lambda = 0.05;
      const rows = new Float64Array(m);
      for (let k = 0; k < m * n; k++) {
        const e = X[k] - X0[k];
        rows[Math.floor(k / n)] += e * (XG[k] - Y[k]) - (lambda * e * e) / d[k % n] ** 2;
      }
      const slots = 3;
      const partials = gpu.upload(f32(randn(slots * m, m + 99)));
      const before = await gpu.read(partials);
      const counter = gpu.upload(new Uint32Array([12345]));
      const stats = gpu.zeros([slots + 1]);
      const scores = gpu.tensor([m * n]);
      const [w, g] = [upload(gpu, X), upload(gpu, G)];
      const inputs = [X, XG, X0, Y, d].map((a) => upload(gpu, a));
      objectiveRows(gpu, { m, n }, { X: inputs[0], XG: inputs[1], X0: inputs[2], Y: inputs[3], d: inputs[4], partials }, 1, lambda);
      reduceSlots(gpu, m, slots, { partials, counter, stats }, 2);
      wandaScores(gpu, { m, n }, w, g, scores);
      const got = await gpu.read(partials);
      expectClose(got.subarray(m, 2 * m), rows, 1e-5, `rows ${m}×${n}`);
      // The other slots are untouched.
      expect(Array.from(got.subarray(0, m))).toEqual(Array.from(before.subarray(0, m)));
      const sum = (q: number) => got.subarray(q * m, (q + 1) * m).reduce((a, v) => a + v, 0);
      const max = got.subarray(2 * m, 3 * m).reduce((a, v) => Math.max(a, v), 0);
      expectClose(await gpu.read(stats), [sum(0), sum(1), max, 12345], 1e-5, `stats ${m}×${n}`);
      expectClose(await gpu.read(scores), X.map((x, k) => Math.abs(x) * Math.sqrt(G[(k % n) * n + (k % n)])), 1e-6, `wanda ${m}×${n}`);
      for (const t of [partials, counter, stats, scores, w, g, ...inputs]) t.dispose();
    }
  });
});
