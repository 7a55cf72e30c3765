/**
 * SPAP's selection cost over groups of consecutive columns (docs/algorithms.md, SPAP): a key/value
 * group of attention is the g·head_dim columns of o_proj that its g query heads write, removed
 * together. Optimal Brain Surgeon's cost of removing a set S of columns from B with the others
 * compensating under the system A is tr(B_S [(A⁻¹)_SS]⁻¹ B_Sᵀ) (the ½ is dropped, as in the
 * per-channel cost); for |S| = 1 it is the channel cost ‖B_{:,i}‖²/[A⁻¹]_ii. Computed in float64 on
 * the CPU from the upper factor U (UᵀU = A⁻¹) the W-step already made: the blocks (A⁻¹)_SS are
 * small (g·head_dim ≤ a few hundred) and there are few groups.
 */

/** Cholesky factor L (lower, row-major) of an SPD k×k matrix in place; false if not positive definite. */
function cholesky(a: Float64Array, k: number): boolean {
  for (let j = 0; j < k; j++) {
    let s = a[j * k + j];
    for (let t = 0; t < j; t++) s -= a[j * k + t] ** 2;
    if (!(s > 0)) return false;
    const l = Math.sqrt(s);
    a[j * k + j] = l;
    for (let i = j + 1; i < k; i++) {
      let v = a[i * k + j];
      for (let t = 0; t < j; t++) v -= a[i * k + t] * a[j * k + t];
      a[i * k + j] = v / l;
    }
  }
  return true;
}

/**
 * cost[g] = tr(B_S M⁻¹ B_Sᵀ) with S = columns g·size … (g+1)·size − 1 and M = (UᵀU)_SS, for
 * B [m, n] and U [n, n] upper triangular, both row-major. A group whose block is singular in f64
 * (its columns carry nothing) costs 0.
 */
export function groupCosts(B: ArrayLike<number>, U: ArrayLike<number>, m: number, n: number, size: number): Float64Array {
  if (!Number.isInteger(size) || size < 1 || n % size !== 0) throw new RangeError(`Groups of ${size} columns do not tile ${n} columns.`);
  const groups = n / size;
  const cost = new Float64Array(groups);
  const M = new Float64Array(size * size);
  const x = new Float64Array(size);
  for (let g = 0; g < groups; g++) {
    const s0 = g * size;
    // M_ab = Σ_r U[r, s0+a]·U[r, s0+b]; U is upper, so rows r ≤ s0 + min(a, b) contribute.
    M.fill(0);
    for (let r = 0; r < s0 + size; r++) {
      const row = r * n + s0;
      for (let a = Math.max(0, r - s0); a < size; a++) {
        const ua = U[row + a];
        if (ua === 0) continue;
        for (let b = a; b < size; b++) M[a * size + b] += ua * U[row + b];
      }
    }
    for (let a = 0; a < size; a++) for (let b = 0; b < a; b++) M[a * size + b] = M[b * size + a];
    if (!cholesky(M, size)) continue;
    // Σ_rows ‖L⁻¹ b_S‖², b_S the row's entries in the group: forward substitution per output row.
    let total = 0;
    for (let r = 0; r < m; r++) {
      for (let a = 0; a < size; a++) {
        let v = B[r * n + s0 + a];
        for (let t = 0; t < a; t++) v -= M[a * size + t] * x[t];
        x[a] = v / M[a * size + a];
        total += x[a] * x[a];
      }
    }
    cost[g] = total;
  }
  return cost;
}

/** Sums of consecutive runs of `size` entries (a per-column score per group). */
export function groupSums(values: ArrayLike<number>, size: number): Float64Array {
  const out = new Float64Array(values.length / size);
  for (let j = 0; j < values.length; j++) out[Math.floor(j / size)] += values[j];
  return out;
}

/** A 0/1 vector over groups as one over their columns. */
export function expandGroups(s: ArrayLike<number>, size: number): Float32Array {
  const out = new Float32Array(s.length * size);
  for (let g = 0; g < s.length; g++) if (s[g]) out.fill(1, g * size, (g + 1) * size);
  return out;
}
