// Swap moves on a fixed-count mask (local search after any method; docs/algorithms.md, "Local
// search"). All matrices row-major [m, n] (outputs × inputs); G is the undamped gram [n, n].
//
// The objective is separable over rows: f_i(w) = (w − w0) G (w − w0)ᵀ. With e = w − w0 and the
// row's residual r = e G (half the gradient), a change δ of w changes f by
//     Δ = 2 δ·r + δ G δᵀ.
// A swap prunes a kept entry p (δ_p = −w_p) and restores a pruned entry q to a value u (δ_q = u,
// w_q was 0):
//     Δ(u) = −2 w_p r_p + w_p² G_pp + 2u (r_q − w_p G_pq) + u² G_qq.
// dΔ/du = 0 gives the re-optimised value u* = (w_p G_pq − r_q) / G_qq, and
//     Δ* = c_p − h²/G_qq,   c_p = w_p² G_pp − 2 w_p r_p,   h = r_q − w_p G_pq.
// c_p is the cost of pruning p alone, r_q²/G_qq the gain of restoring q alone; the cross term
// w_p G_pq is what couples them. An input with G_qq = 0 never fires: restoring it gains nothing
// and is never a candidate. After a swap r ← r + δ G = r − w_p G[p, :] + u G[q, :] (G symmetric):
// a rank-2 update of the residual with rows p and q of G.
//
// Candidates: all n² pairs of a row are too many at real widths, so the unstructured variant
// keeps the K kept entries with the smallest c_p and the K pruned ones with the largest
// r_q²/G_qq (K = 32 by default), then scores those K × K pairs exactly. Under N:M a swap stays
// inside a group of M, which has only N·(M − N) pairs: all of them are scored.
//
// One invocation per row, no barriers (rows are independent; as in objective.wgsl). A kept
// entry is one with w ≠ 0: the restored value u* is never 0 (such moves are refused), so the
// kept count of every row is invariant. A move is accepted only when Δ* < 0 by more than f32
// round-off of its terms (TOL times their magnitude), so every accepted move lowers f.

//# kernel swap_best
// moveIndex[2·row] = p, [2·row + 1] = q (NONE if no improving move); moveValue[3·row] = w_p,
// [+1] = u*, [+2] = Δ*; partials[row] = Δ* (0 without a move), partials[m + row] = 1 or 0.
const NONE: u32 = 0xffffffffu;

fn keep_best(keys: ptr<function, array<f32, K>>, ids: ptr<function, array<u32, K>>, count: ptr<function, u32>, key: f32, id: u32) {
  // Sorted ascending insertion; strict comparisons keep the lower index first on ties.
  var slot = *count;
  if (slot == K) {
    if (key >= (*keys)[K - 1u]) { return; }
    slot = K - 1u;
  } else {
    *count = slot + 1u;
  }
  while (slot > 0u && (*keys)[slot - 1u] > key) {
    (*keys)[slot] = (*keys)[slot - 1u];
    (*ids)[slot] = (*ids)[slot - 1u];
    slot -= 1u;
  }
  (*keys)[slot] = key;
  (*ids)[slot] = id;
}

struct Move {
  p: u32,
  q: u32,
  u: f32,
  delta: f32,
}

// The better of `best` and the pair (kp pruned, kq restored) of the row starting at `base`.
fn score(base: u32, kp: u32, kq: u32, best: Move) -> Move {
  let n = p.n;
  let gqq = G[kq * n + kq];
  if (gqq <= 0.0) { return best; }
  let wp = W[base + kp];
  let removal = wp * wp * G[kp * n + kp];
  let pull = 2.0 * wp * R[base + kp];
  let h = R[base + kq] - wp * G[kp * n + kq];
  let u = -h / gqq;
  let gain = h * h / gqq;
  let delta = removal - pull - gain;
  let scale = abs(removal) + abs(pull) + gain;
  if (u == 0.0 || delta >= -TOL * scale || delta >= best.delta) { return best; }
  return Move(kp, kq, u, delta);
}

@compute @workgroup_size(WG_X, WG_Y, WG_Z)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let row = flat_id(gid, nwg);
  if (row >= p.m) { return; }
  let base = row * p.n;
  var best = Move(NONE, NONE, 0.0, 0.0);
  if (NM) {
    for (var g0 = 0u; g0 < p.n; g0 += p.groupSize) {
      let g1 = min(g0 + p.groupSize, p.n);
      for (var a = g0; a < g1; a++) {
        if (W[base + a] == 0.0) { continue; }
        for (var b = g0; b < g1; b++) {
          if (W[base + b] != 0.0) { continue; }
          best = score(base, a, b, best);
        }
      }
    }
  } else {
    var costKeys: array<f32, K>;
    var costIds: array<u32, K>;
    var costCount = 0u;
    var gainKeys: array<f32, K>;
    var gainIds: array<u32, K>;
    var gainCount = 0u;
    for (var j = 0u; j < p.n; j++) {
      let w = W[base + j];
      let r = R[base + j];
      let gjj = G[j * p.n + j];
      if (w != 0.0) {
        keep_best(&costKeys, &costIds, &costCount, w * w * gjj - 2.0 * w * r, j);
      } else if (gjj > 0.0) {
        keep_best(&gainKeys, &gainIds, &gainCount, -(r * r / gjj), j);
      }
    }
    for (var a = 0u; a < costCount; a++) {
      for (var b = 0u; b < gainCount; b++) {
        best = score(base, costIds[a], gainIds[b], best);
      }
    }
  }
  moveIndex[2u * row] = best.p;
  moveIndex[2u * row + 1u] = best.q;
  if (best.p == NONE) {
    moveValue[3u * row] = 0.0;
    moveValue[3u * row + 1u] = 0.0;
    moveValue[3u * row + 2u] = 0.0;
    partials[row] = 0.0;
    partials[p.m + row] = 0.0;
    return;
  }
  moveValue[3u * row] = W[base + best.p];
  moveValue[3u * row + 1u] = best.u;
  moveValue[3u * row + 2u] = best.delta;
  partials[row] = best.delta;
  partials[p.m + row] = 1.0;
}

//# kernel swap_apply
// One invocation per entry (row, j): r_j += −w_p G[p, j] + u G[q, j]; w_p ← 0, w_q ← u.
@compute @workgroup_size(WG_X, WG_Y, WG_Z)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let idx = flat_id(gid, nwg);
  if (idx >= p.m * p.n) { return; }
  let row = idx / p.n;
  let j = idx % p.n;
  let pp = moveIndex[2u * row];
  if (pp == 0xffffffffu) { return; }
  let q = moveIndex[2u * row + 1u];
  let wp = moveValue[3u * row];
  let u = moveValue[3u * row + 1u];
  R[idx] += u * G[q * p.n + j] - wp * G[pp * p.n + j];
  if (j == pp) { W[idx] = 0.0; }
  if (j == q) { W[idx] = u; }
}

//# kernel swap_error
// E = W − W0 (the residual is then recomputed exactly as R = E·G); support = (W ≠ 0).
@compute @workgroup_size(WG_X, WG_Y, WG_Z)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let idx = flat_id(gid, nwg);
  if (idx >= p.count) { return; }
  E[idx] = W[idx] - W0[idx];
  support[idx] = select(0u, 1u, W[idx] != 0.0);
}
