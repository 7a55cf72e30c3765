/** Float64 CPU references and seeded random data for kernel and solver tests. */

export function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    // xorshift32, mapped to [0, 1)
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
}

export function randn(n: number, seed: number): Float64Array {
  const r = rng(seed);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const u = Math.max(r(), 1e-12);
    out[i] = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * r());
  }
  return out;
}

/** C[M×N] = op(A)·op(B) in float64, A and B dense row-major. */
export function matmulRef(
  A: ArrayLike<number>,
  B: ArrayLike<number>,
  M: number,
  N: number,
  K: number,
  transA = false,
  transB = false,
): Float64Array {
  const C = new Float64Array(M * N);
  for (let i = 0; i < M; i++) {
    for (let k = 0; k < K; k++) {
      const a = transA ? A[k * M + i] : A[i * K + k];
      if (a === 0) continue;
      for (let j = 0; j < N; j++) {
        C[i * N + j] += a * (transB ? B[j * K + k] : B[k * N + j]);
      }
    }
  }
  return C;
}

/** Gram XᵀX of X[N×n]. */
export function gramRef(X: ArrayLike<number>, N: number, n: number): Float64Array {
  return matmulRef(X, X, n, n, N, true, false);
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

export function maxAbs(a: ArrayLike<number>): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]));
  return d;
}

export function f32(a: ArrayLike<number>): Float32Array {
  return Float32Array.from(a);
}
