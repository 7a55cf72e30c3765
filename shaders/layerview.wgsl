// Downsampled pictures of one m × n layer for the studio's layer view, computed where the weights
// are so that only a small grid and a few bins cross back to the CPU.
//
// The weight matrix is cut into a rows × cols grid of cells of cellRows × cellCols weights (the
// last row and column of cells may be smaller). Per cell:
//   magnitude[c] = max |W₀| over the cell (dense weight W₀),
//   kept[c]      = #{ W ≠ 0 } over the cell (pruned weight W); the CPU divides by the cell's size.
// Over the whole layer: range = [min |W₀| over W₀ ≠ 0, max |W₀|] as IEEE-754 bit patterns. For
// non-negative floats the bit pattern is monotone in the value, so atomicMin/atomicMax on the u32
// keys give the f32 extremes exactly.
//
// Then a histogram of log₁₀ |W₀| over `bins` equal bins between lo = log₁₀ min and hi = log₁₀ max
// (width (hi − lo)/bins, at least 1e-6 in total so that a layer of one distinct magnitude still has
// bins), split into kept (W ≠ 0) and pruned (W = 0). Exact zeros have no logarithm and are left out.
// log₁₀ x = log₂ x · log₁₀ 2; in f32 a weight within ~1e-5 of a bin's width of an edge may land in
// the neighbouring bin compared with a float64 reference.

const LOG10_2: f32 = 0.30102999566398120;
const NO_MIN: u32 = 0x7f800000u; // the key of +inf: no non-zero weight seen

fn log10f(x: f32) -> f32 {
  return log2(x) * LOG10_2;
}

// Cell c of the grid as [r0, r1) × [c0, c1) = (x, y) × (z, w); the last row and column of cells are clipped to m × n.
fn cell_box(c: u32, cols: u32, cellRows: u32, cellCols: u32, m: u32, n: u32) -> vec4<u32> {
  let r0 = (c / cols) * cellRows;
  let c0 = (c % cols) * cellCols;
  return vec4<u32>(r0, min(m, r0 + cellRows), c0, min(n, c0 + cellCols));
}

//# kernel view_cells
// One invocation per cell, looping over the cell's weights: no barriers and no atomics but the two
// range updates per cell, which suits CPU rasterisers and keeps a real GPU's readback tiny.
@compute @workgroup_size(WG_X, WG_Y, WG_Z)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let c = flat_id(gid, nwg);
  if (c >= p.rows * p.cols) { return; }
  let box = cell_box(c, p.cols, p.cellRows, p.cellCols, p.m, p.n);
  let r0 = box.x;
  let r1 = box.y;
  let c0 = box.z;
  let c1 = box.w;
  var top = 0.0;
  var least = NO_MIN;
  var count = 0u;
  for (var i = r0; i < r1; i++) {
    for (var j = c0; j < c1; j++) {
      let a = abs(dense[i * p.n + j]);
      top = max(top, a);
      if (a > 0.0) { least = min(least, bitcast<u32>(a)); }
      if (pruned[i * p.n + j] != 0.0) { count++; }
    }
  }
  magnitude[c] = top;
  kept[c] = count;
  atomicMax(&range[1], bitcast<u32>(top));
  if (least != NO_MIN) { atomicMin(&range[0], least); }
}

//# kernel view_histogram
// A grid-stride pass over the flat weights: each workgroup counts into workgroup memory, then adds
// its non-empty bins to the global counts (kept bins first, then pruned). BINS is a flag, so the
// workgroup array has a fixed size.
var<workgroup> local_counts: array<atomic<u32>, 2u * BINS>;

@compute @workgroup_size(WG_X, WG_Y, WG_Z)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  for (var b = lid; b < 2u * BINS; b += WG_X) { atomicStore(&local_counts[b], 0u); }
  workgroupBarrier();
  let least = range[0];
  let top = range[1];
  if (least != NO_MIN) {
    let lo = log10f(bitcast<f32>(least));
    let hi = log10f(bitcast<f32>(top));
    let width = max(hi - lo, 1e-6) / f32(BINS);
    let total = p.m * p.n;
    for (var idx = flat_group(wid, nwg) * WG_X + lid; idx < total; idx += p.stride) {
      let a = abs(dense[idx]);
      if (a > 0.0) {
        let b = u32(clamp(floor((log10f(a) - lo) / width), 0.0, f32(BINS - 1u)));
        let side = select(BINS, 0u, pruned[idx] != 0.0);
        atomicAdd(&local_counts[side + b], 1u);
      }
    }
  }
  workgroupBarrier();
  for (var b = lid; b < 2u * BINS; b += WG_X) {
    let v = atomicLoad(&local_counts[b]);
    if (v != 0u) { atomicAdd(&hist[b], v); }
  }
}

//# kernel view_mask_cells
// The support-convergence frames (src/solvers/supportFrames.ts): the same cells as view_cells, over
// a u32 mask (ALPS's support, 1 = kept) instead of a pruned f32 weight, so a frame costs one pass
// over m·n u32 and a readback of rows × cols counts.
@compute @workgroup_size(WG_X, WG_Y, WG_Z)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let c = flat_id(gid, nwg);
  if (c >= p.rows * p.cols) { return; }
  let box = cell_box(c, p.cols, p.cellRows, p.cellCols, p.m, p.n);
  let r0 = box.x;
  let r1 = box.y;
  let c0 = box.z;
  let c1 = box.w;
  var count = 0u;
  for (var i = r0; i < r1; i++) {
    for (var j = c0; j < c1; j++) {
      if (mask[i * p.n + j] != 0u) { count++; }
    }
  }
  kept[c] = count;
}
