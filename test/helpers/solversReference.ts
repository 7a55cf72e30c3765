/**
 * Float64 CPU references of the layer solvers, written straight from docs/algorithms.md
 * in the paper's orientation (B is n×m), independent of the GPU code's layout and kernels.
 */

/** f(W)/tr(W0 G W0ᵀ) for row-major W, W0 [m, n] and G [n, n]. */
export function relErrorRef(W: ArrayLike<number>, W0: ArrayLike<number>, G: ArrayLike<number>, m: number, n: number): number {
  let f = 0;
  let f0 = 0;
  const e = new Float64Array(n);
  for (let r = 0; r < m; r++) {
    for (let j = 0; j < n; j++) e[j] = W[r * n + j] - W0[r * n + j];
    for (let i = 0; i < n; i++) {
      let ge = 0;
      let gw = 0;
      for (let j = 0; j < n; j++) {
        ge += G[i * n + j] * e[j];
        gw += G[i * n + j] * W0[r * n + j];
      }
      f += e[i] * ge;
      f0 += W0[r * n + i] * gw;
    }
  }
  return f / f0;
}

/** Solves (A) x = b for SPD A [n×n] by Cholesky, for many right-hand sides (columns of Bm, n×c). */
export function choleskySolve(A: Float64Array, n: number, Bm: ArrayLike<number>, c: number): Float64Array {
  const L = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    let s = A[j * n + j];
    for (let k = 0; k < j; k++) s -= L[j * n + k] ** 2;
    if (s <= 0) throw new Error('not positive definite');
    L[j * n + j] = Math.sqrt(s);
    for (let i = j + 1; i < n; i++) {
      let t = A[i * n + j];
      for (let k = 0; k < j; k++) t -= L[i * n + k] * L[j * n + k];
      L[i * n + j] = t / L[j * n + j];
    }
  }
  const X = Float64Array.from(Bm);
  for (let col = 0; col < c; col++) {
    for (let i = 0; i < n; i++) {
      let t = X[i * c + col];
      for (let k = 0; k < i; k++) t -= L[i * n + k] * X[k * c + col];
      X[i * c + col] = t / L[i * n + i];
    }
    for (let i = n - 1; i >= 0; i--) {
      let t = X[i * c + col];
      for (let k = i + 1; k < n; k++) t -= L[k * n + i] * X[k * c + col];
      X[i * c + col] = t / L[i * n + i];
    }
  }
  return X;
}

/** P_k over a flat array: keep the k largest |x| (ties to the lower index). */
export function topkRef(x: ArrayLike<number>, k: number): Uint8Array {
  const idx = Array.from({ length: x.length }, (_, i) => i);
  idx.sort((a, b) => Math.abs(x[b]) - Math.abs(x[a]) || a - b);
  const mask = new Uint8Array(x.length);
  for (let i = 0; i < k; i++) mask[idx[i]] = 1;
  return mask;
}

export interface AlpsRefResult {
  weight: Float64Array;
  relError: number;
  relErrorBeforeRefit: number;
  iterations: number;
  /** ρ of every iteration, in order. */
  rhos: number[];
  /** supp(P_k(B)) after the last iteration, [m, n] (outputs × inputs) like the GPU's weight. */
  support: Uint8Array;
}

/** ALPS, unstructured, float64, in the paper's n×m orientation. */
export function alpsRef(W0: ArrayLike<number>, Graw: ArrayLike<number>, m: number, n: number, sparsity: number, maxIterations = 300): AlpsRefResult {
  const k = Math.round((1 - sparsity) * m * n);
  let trace = 0;
  for (let i = 0; i < n; i++) trace += Graw[i * n + i];
  const lambda = (0.01 * trace) / n;
  const d = new Float64Array(n);
  for (let i = 0; i < n; i++) d[i] = Math.sqrt(Graw[i * n + i] + lambda) + 1e-8;
  const Gh = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) Gh[i * n + j] = (Graw[i * n + j] + (i === j ? lambda : 0)) / (d[i] * d[j]);
  // B[i, r] = W0[r, i]·d_i (n×m)
  const B0 = new Float64Array(n * m);
  for (let r = 0; r < m; r++) for (let i = 0; i < n; i++) B0[i * m + r] = W0[r * n + i] * d[i];
  const mul = (A: Float64Array, X: Float64Array) => {
    const out = new Float64Array(n * m);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
      const a = A[i * n + j];
      for (let r = 0; r < m; r++) out[i * m + r] += a * X[j * m + r];
    }
    return out;
  };
  const Y = mul(Gh, B0);
  const project = (x: Float64Array) => {
    const mask = topkRef(x, k);
    return x.map((v, i) => (mask[i] ? v : 0));
  };
  const Dinit = project(B0);
  let B: Float64Array = Float64Array.from(B0);
  let D: Float64Array = Float64Array.from(Dinit);
  let V: Float64Array = new Float64Array(n * m);
  let rho = 0.1;
  let increased = false;
  let prevSupport = Dinit.map((v) => (v !== 0 ? 1 : 0));
  let iterations = 0;
  const shifted = (r: number) => {
    const A = Float64Array.from(Gh);
    for (let i = 0; i < n; i++) A[i * n + i] += r;
    return A;
  };
  let A = shifted(rho);
  const rhos: number[] = [];
  for (let t = 1; t <= maxIterations; t++) {
    iterations = t;
    rhos.push(rho);
    const rhs = Y.map((y, i) => y - V[i] + rho * D[i]);
    B = choleskySolve(A, n, rhs, m);
    D = project(B.map((b, i) => b + V[i] / rho));
    V = V.map((v, i) => v + rho * (B[i] - D[i]));
    if (t % 3 !== 0) continue;
    let c = 0;
    const support = D.map((v) => (v !== 0 ? 1 : 0));
    for (let i = 0; i < support.length; i++) if (support[i] !== prevSupport[i]) c++;
    prevSupport = support;
    let stop = false;
    if (c > 0.1 * k) {
      rho *= 1.3;
      increased = true;
    } else if (c > 0.005 * k) {
      rho *= 1.2;
      increased = true;
    } else if (c >= 1) {
      if (increased) rho *= 1.1;
      else {
        rho /= 5;
        B = Float64Array.from(B0);
        D = Float64Array.from(Dinit);
        V = new Float64Array(n * m);
        prevSupport = Dinit.map((v) => (v !== 0 ? 1 : 0));
      }
    } else if (increased) stop = true;
    else rho /= 5;
    rho = Math.min(rho, 1e6);
    if (t >= 30 && c / k < 3e-4) stop = true;
    if (stop) break;
    A = shifted(rho);
  }
  // PCG on supp(P_k(B)), column by column (each output).
  const X = project(B);
  const before = unscale(X);
  const support = new Uint8Array(m * n);
  for (let r = 0; r < m; r++) for (let i = 0; i < n; i++) support[r * n + i] = X[i * m + r] !== 0 ? 1 : 0;
  for (let r = 0; r < m; r++) {
    const S: number[] = [];
    for (let i = 0; i < n; i++) if (X[i * m + r] !== 0) S.push(i);
    const x = S.map((i) => X[i * m + r]);
    const gx = (v: number[]) => S.map((i) => S.reduce((acc, j, q) => acc + Gh[i * n + j] * v[q], 0));
    const res = S.map((i, q) => Y[i * m + r] - gx(x)[q]);
    let p = res.slice();
    let rr = res.reduce((a, v) => a + v * v, 0);
    for (let step = 0; step < 10 && rr > 0; step++) {
      const ap = gx(p);
      const pap = p.reduce((a, v, q) => a + v * ap[q], 0);
      if (pap <= 0) break;
      const alpha = rr / pap;
      for (let q = 0; q < S.length; q++) {
        x[q] += alpha * p[q];
        res[q] -= alpha * ap[q];
      }
      const rrNew = res.reduce((a, v) => a + v * v, 0);
      p = res.map((v, q) => v + (rrNew / rr) * p[q]);
      rr = rrNew;
    }
    S.forEach((i, q) => (X[i * m + r] = x[q]));

  }
  const weight = unscale(X);
  return {
    weight,
    relError: relErrorRef(weight, W0, Graw, m, n),
    relErrorBeforeRefit: relErrorRef(before, W0, Graw, m, n),
    iterations,
    rhos,
    support,
  };

  function unscale(Xs: Float64Array): Float64Array {
    const W = new Float64Array(m * n);
    for (let r = 0; r < m; r++) for (let i = 0; i < n; i++) W[r * n + i] = Xs[i * m + r] / d[i];
    return W;
  }
}

/** Magnitude pruning, unstructured. */
export function magnitudeRef(W0: ArrayLike<number>, k: number): Float64Array {
  const mask = topkRef(W0, k);
  return Float64Array.from(W0, (v, i) => (mask[i] ? v : 0));
}

/** Wanda, unstructured per-row. */
export function wandaRef(W0: ArrayLike<number>, G: ArrayLike<number>, m: number, n: number, s: number): Float64Array {
  const out = Float64Array.from(W0);
  const prune = Math.floor(n * s);
  for (let r = 0; r < m; r++) {
    const scores = Array.from({ length: n }, (_, j) => Math.abs(W0[r * n + j]) * Math.sqrt(G[j * n + j]));
    const keep = topkRef(scores, n - prune);
    for (let j = 0; j < n; j++) if (!keep[j]) out[r * n + j] = 0;
  }
  return out;
}

/** A correlated calibration set X [N×n] and its gram, like real activations (a few strong directions). */
export function correlatedGram(N: number, n: number, seed: number, randn: (count: number, seed: number) => Float64Array): Float64Array {
  const rank = Math.max(2, Math.floor(n / 4));
  const basis = randn(rank * n, seed);
  const coeff = randn(N * rank, seed + 1);
  const noise = randn(N * n, seed + 2);
  const scales = randn(n, seed + 3).map((v) => Math.exp(0.5 * v));
  const X = new Float64Array(N * n);
  for (let t = 0; t < N; t++) for (let j = 0; j < n; j++) {
    let v = 0.3 * noise[t * n + j];
    for (let q = 0; q < rank; q++) v += coeff[t * rank + q] * basis[q * n + j];
    X[t * n + j] = v * scales[j];
  }
  const G = new Float64Array(n * n);
  for (let t = 0; t < N; t++) for (let i = 0; i < n; i++) {
    const xi = X[t * n + i];
    for (let j = 0; j < n; j++) G[i * n + j] += xi * X[t * n + j];
  }
  return G;
}
