// Exact sparsity projections: top-k masks per segment, N:M masks, and mask application with
// support-change counting. Everything stays on the GPU; nothing here needs a readback.
//
// Importance is |x|. For non-negative floats the IEEE-754 bit pattern is monotone in the value, so
// the key of x is bitcast<u32>(x) with the sign bit cleared: -0.0 and 0.0 get the same key, and
// larger magnitudes get larger keys (a NaN sorts above +inf). Ties are broken by the lower index.
//
// Top-k by radix select (the TypeScript wrapper records the passes):
//  1. init: per-segment state {threshold prefix, remaining k, done, index threshold, index prefix}
//     and a zeroed 256-bin histogram per segment.
//  2. Four value passes over 8-bit digits of the key, most significant first. A histogram kernel
//     counts the digit of every entry whose higher digits equal the prefix chosen so far; a pick
//     kernel finds, per segment, the bin that holds the remaining k-th largest, appends it to the
//     prefix, subtracts the larger bins from the remaining k, and clears the histogram for the
//     next pass. After the last digit the prefix is the exact k-th largest key T.
//  3. Index passes (as many 8-bit digits as the segment index needs) select, among the entries
//     with key == T, the remaining-k-th smallest index I. They are skipped (the `done` flag) as
//     soon as a chosen bin is taken whole, which is the usual case without ties.
//  4. mask: keep = key > T || (key == T && index <= I). Exactly k per segment.
// Histogram, pick and change counting each come barrier-free and with workgroup memory; the wrapper
// picks per adapter and shape. Short segments use `rank` instead: each entry counts the entries
// that beat it, in one dispatch.

//
// Grid-stride kernels (mask, rank, nm, fill, apply) launch a capped number of workgroups and let
// each invocation loop over the rest; the wrapper sizes the grid per adapter.

// Per-segment state, 8 u32 each.
const S_PREFIX: u32 = 0u;   // threshold key bits chosen so far; the full threshold T at the end
const S_REM: u32 = 1u;      // how many entries still to keep among those matching the prefix
const S_DONE: u32 = 2u;     // 1 once the threshold (and index threshold) are final
const S_IDX: u32 = 3u;      // index threshold I: among key == T keep index <= I
const S_IPREFIX: u32 = 4u;  // index bits chosen so far
const STATE: u32 = 8u;
const BINS: u32 = 256u;

fn keyOf(x: f32) -> u32 {
  return bitcast<u32>(x) & 0x7fffffffu;
}

// Mask of the bits above the current digit; a shift of 32 would wrap in WGSL, so it is explicit.
fn highMask(shift: u32) -> u32 {
  let hi = shift + 8u;
  return select(0xffffffffu << hi, 0u, hi >= 32u);
}

// The digit of the entry with key `key` at local index j of its segment in the pass over bits
// [shift, shift + 8) of the key (phase 0) or of the index (phase 1), or BINS when the entry does not
// take part in this pass (its higher digits differ from the prefix chosen so far).
fn digitOf(key: u32, j: u32, prefix: u32, iprefix: u32, shift: u32, phase: u32) -> u32 {
  let hm = highMask(shift);
  if (phase == 0u) {
    if ((key & hm) != (prefix & hm)) { return BINS; }
    return (key >> shift) & 255u;
  }
  if (key != prefix || (j & hm) != (iprefix & hm)) { return BINS; }
  return (j >> shift) & 255u;
}

// Records the bin chosen by a pick in the state of the segment at st: `before` entries sit in bins
// ahead of it (larger values, or smaller indices), `inBin` in it, and `rem` were still to be kept
// before this pass.
fn commit(state: ptr<storage, array<u32>, read_write>, st: u32, rem: u32, before: u32, chosen: u32, inBin: u32,
          shift: u32, phase: u32) {
  let left = rem - before;
  (*state)[st + S_REM] = left;
  if (phase == 0u) {
    let prefix = (*state)[st + S_PREFIX] | (chosen << shift);
    (*state)[st + S_PREFIX] = prefix;
    if (left == inBin) {
      // The whole bin is kept: every key >= prefix (lower digits zero) is in and nothing else, so
      // the threshold is final and no index passes are needed.
      (*state)[st + S_DONE] = 1u;
      (*state)[st + S_IDX] = 0xffffffffu;
    }
  } else {
    let iprefix = (*state)[st + S_IPREFIX] | (chosen << shift);
    (*state)[st + S_IPREFIX] = iprefix;
    if (shift == 0u || left == inBin) {
      // Last index digit (the bin is a single index), or the whole bin is kept: every tied index
      // up to the bin's largest is in.
      (*state)[st + S_DONE] = 1u;
      (*state)[st + S_IDX] = iprefix | ((1u << shift) - 1u);
    }
  }
}

// Invocations in a whole (folded) grid: the step of a grid-stride loop.
fn gridStride(nwg: vec3<u32>) -> u32 {
  return nwg.x * nwg.y * WG_X;
}

//# kernel init
// Zeroes the segments' histograms (one invocation per bin) and starts each segment's state.
@compute @workgroup_size(WG_X, WG_Y, WG_Z)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_id(gid, nwg);
  if (i >= p.bins) { return; }
  hist[i] = 0u;
  if ((i & (BINS - 1u)) == 0u) {
    let st = (i / BINS) * STATE;
    state[st + S_PREFIX] = 0u;
    state[st + S_REM] = p.keep;
    state[st + S_DONE] = 0u;
    state[st + S_IDX] = 0u;
    state[st + S_IPREFIX] = 0u;
  }
}

//# kernel histogram_tiles
// Histogram of one digit. `histogram_tiles` gives each workgroup one tile of one segment, counts in
// workgroup memory and merges the non-empty bins into the segment's global histogram (one barrier
// per tile: the choice for real GPUs, where one global histogram would serialise on its atomics,
// and for few long segments on CPU rasterisers, as a handful of big tiles). `histogram_flat`
// gives each workgroup one tile of the flat array (tiles may span segments, so many short segments
// do not mean many workgroups) and adds to the global histograms directly (no barriers: for many
// segments on CPU rasterisers such as SwiftShader, where barriers and workgroup launches are dear).
//
// Both aggregate runs of equal bins in a register before touching an atomic: in the first value
// pass nearly every weight shares the top byte (the high exponent bits), so this turns one
// hot-bin atomic per entry into one per run.
var<workgroup> localHist: array<atomic<u32>, BINS>;

@compute @workgroup_size(WG_X, WG_Y, WG_Z)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let w = flat_group(wid, nwg);
  // Workgroup-uniform exit, so the barriers below stay in uniform control flow.
  if (w >= p.segments * p.tilesPerSeg) { return; }
  let seg = w / p.tilesPerSeg;
  let tile = w % p.tilesPerSeg;
  // localHist starts at zero: WGSL zero-initialises workgroup memory.
  let st = seg * STATE;
  if (state[st + S_DONE] == 0u) {
    let prefix = state[st + S_PREFIX];
    let iprefix = state[st + S_IPREFIX];
    let start = tile * p.tileSize;
    let end = min(start + p.tileSize, p.segLen);
    let base = seg * p.segLen;
    var runBin = BINS;
    var run = 0u;
    for (var j = start + lid; j < end; j += WG_X) {
      let d = digitOf(keyOf(scores[base + j]), j, prefix, iprefix, p.shift, p.phase);
      if (d == BINS) { continue; }
      if (d == runBin) {
        run += 1u;
      } else {
        if (run != 0u) { atomicAdd(&localHist[runBin], run); }
        runBin = d;
        run = 1u;
      }
    }
    if (run != 0u) { atomicAdd(&localHist[runBin], run); }
  }
  workgroupBarrier();
  for (var b = lid; b < BINS; b += WG_X) {
    let c = atomicLoad(&localHist[b]);
    if (c != 0u) { atomicAdd(&hist[seg * BINS + b], c); }
  }
}

//# kernel histogram_flat
// See histogram_tiles.
@compute @workgroup_size(WG_X, WG_Y, WG_Z)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let total = p.segments * p.segLen;
  let start = flat_group(wid, nwg) * p.tileSize;
  let end = min(start + p.tileSize, total);
  if (start + lid >= end) { return; }
  // Position (segment, index) tracked incrementally: one division per invocation, not per entry.
  var seg = (start + lid) / p.segLen;
  var j = start + lid - seg * p.segLen;
  var segActive = state[seg * STATE + S_DONE] == 0u;
  var prefix = state[seg * STATE + S_PREFIX];
  var iprefix = state[seg * STATE + S_IPREFIX];
  var runBin = 0u;  // global bin (segment * 256 + digit) of the pending run
  var run = 0u;
  var i = start + lid;
  while (i < end) {
    if (j >= p.segLen) {
      seg += j / p.segLen;
      j = j % p.segLen;
      segActive = state[seg * STATE + S_DONE] == 0u;
      prefix = state[seg * STATE + S_PREFIX];
      iprefix = state[seg * STATE + S_IPREFIX];
    }
    if (!segActive) {
      // Finished segment (typical of the index passes): jump to this invocation's first entry
      // past it.
      let steps = (p.segLen - j + WG_X - 1u) / WG_X;
      i += steps * WG_X;
      j += steps * WG_X;
      continue;
    }
    let d = digitOf(keyOf(scores[seg * p.segLen + j]), j, prefix, iprefix, p.shift, p.phase);
    if (d != BINS) {
      let bin = seg * BINS + d;
      if (run != 0u && bin != runBin) {
        atomicAdd(&hist[runBin], run);
        run = 0u;
      }
      runBin = bin;
      run += 1u;
    }
    i += WG_X;
    j += WG_X;
  }
  if (run != 0u) { atomicAdd(&hist[runBin], run); }
}

//# kernel pick
// One invocation per segment walks its 256 bins in order (largest first for values, smallest
// first for indices) and clears them for the next pass. No barriers: the choice for CPU
// rasterisers, and for many segments, which run in parallel.
@compute @workgroup_size(WG_X, WG_Y, WG_Z)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let s = flat_id(gid, nwg);
  if (s >= p.segments) { return; }
  let st = s * STATE;
  if (state[st + S_DONE] != 0u) { return; }
  let rem = state[st + S_REM];
  var before = 0u;
  var chosen = 0u;
  var inBin = 0u;    // 0 until found: rem >= 1, so the chosen bin holds at least one entry
  for (var i = 0u; i < BINS; i++) {
    let b = select(i, BINS - 1u - i, p.phase == 0u);
    let h = hist[s * BINS + b];
    if (h == 0u) { continue; }
    hist[s * BINS + b] = 0u;
    if (inBin == 0u) {
      if (before + h >= rem) {
        chosen = b;
        inBin = h;
      } else {
        before += h;
      }
    }
  }
  commit(&state, st, rem, before, chosen, inBin, p.shift, p.phase);
}

//# kernel pick_scan
// One workgroup of BINS invocations per segment, one invocation per bin, an inclusive scan in
// workgroup memory: a few microseconds on a real GPU, where a single invocation's 256 dependent
// steps would idle the rest.
var<workgroup> scanBins: array<u32, BINS>;

@compute @workgroup_size(WG_X, WG_Y, WG_Z)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let s = flat_group(wid, nwg);
  if (s >= p.segments) { return; }
  let st = s * STATE;
  // Read before the barriers; the one invocation that commits writes after them.
  let done = state[st + S_DONE];
  let rem = state[st + S_REM];
  // Invocation t holds the t-th bin in selection order.
  let b = select(lid, BINS - 1u - lid, p.phase == 0u);
  let h = hist[s * BINS + b];
  if (h != 0u) { hist[s * BINS + b] = 0u; }
  scanBins[lid] = h;
  for (var off = 1u; off < BINS; off <<= 1u) {
    workgroupBarrier();
    var add = 0u;
    if (lid >= off) { add = scanBins[lid - off]; }
    workgroupBarrier();
    scanBins[lid] += add;
  }
  let incl = scanBins[lid];
  let before = incl - h;
  if (done == 0u && h != 0u && before < rem && rem <= incl) {
    commit(&state, st, rem, before, b, h, p.shift, p.phase);
  }
}

//# kernel mask
// keep = key > T || (key == T && index <= I), from each segment's final state.
@compute @workgroup_size(WG_X, WG_Y, WG_Z)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let stride = gridStride(nwg);
  let first = flat_id(gid, nwg);
  if (first >= p.count) { return; }
  // (segment, index) advanced incrementally; a division only when the stride leaves the segment.
  var seg = first / p.segLen;
  var j = first - seg * p.segLen;
  for (var i = first; i < p.count; i += stride) {
    if (j >= p.segLen) {
      seg += j / p.segLen;
      j = j % p.segLen;
    }
    let key = keyOf(scores[i]);
    let t = state[seg * STATE + S_PREFIX];
    let keepIt = key > t || (key == t && j <= state[seg * STATE + S_IDX]);
    mask[i] = select(0u, 1u, keepIt);
    j += stride;
  }
}

//# kernel rank
// Small segments: every entry counts the entries of its segment that beat it (larger key, or equal
// key and lower index) and is kept when fewer than k do. O(L) per entry, one dispatch.
@compute @workgroup_size(WG_X, WG_Y, WG_Z)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let stride = gridStride(nwg);
  for (var i = flat_id(gid, nwg); i < p.count; i += stride) {
    let seg = i / p.segLen;
    let base = seg * p.segLen;
    let j = i - base;
    let key = keyOf(scores[i]);
    var beaten = 0u;
    for (var t = 0u; t < p.segLen && beaten < p.keep; t++) {
      let other = keyOf(scores[base + t]);
      beaten += select(0u, 1u, other > key || (other == key && t < j));
    }
    mask[i] = select(0u, 1u, beaten < p.keep);
  }
}

//# kernel nm
// N:M: one invocation per group of p.m entries keeps the p.n that beat the fewest. Groups are M
// consecutive entries, or with p.columns = C > 0 (a row-major matrix of C columns) M consecutive
// rows of one column; consecutive invocations then take neighbouring columns.
@compute @workgroup_size(WG_X, WG_Y, WG_Z)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let stride = gridStride(nwg);
  for (var g = flat_id(gid, nwg); g < p.groups; g += stride) {
    var base = g * p.m;
    var step = 1u;
    if (p.columns != 0u) {
      let column = g % p.columns;
      base = (g - column) * p.m + column;
      step = p.columns;
    }
    for (var a = 0u; a < p.m; a++) {
      let key = keyOf(scores[base + a * step]);
      var beaten = 0u;
      for (var b = 0u; b < p.m; b++) {
        let other = keyOf(scores[base + b * step]);
        beaten += select(0u, 1u, other > key || (other == key && b < a));
      }
      mask[base + a * step] = select(0u, 1u, beaten < p.n);
    }
  }
}

//# kernel fill
@compute @workgroup_size(WG_X, WG_Y, WG_Z)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let stride = gridStride(nwg);
  for (var i = flat_id(gid, nwg); i < p.count; i += stride) {
    mask[i] = p.value;
  }
}

//# kernel apply
// out[i] = mask[i] ? values[i] : 0, copying (out ≠ values) or in place, optionally tracking the
// support: the variant supplies storeMasked (copy or in place), trackSupport (count a change
// against support[i] and store the new mask there, or nothing) and addToCounter.
//
// The change count is summed per invocation. With REDUCE (real GPUs) the workgroup then sums its
// invocations' counts in workgroup memory, one barrier, and adds once to the global counter, so an
// early ADMM iteration where most entries change does not serialise millions of atomics on one
// address. Without it (CPU rasterisers: barriers are dear, invocations few) each invocation with
// changes adds its own count.
var<workgroup> wgChanged: atomic<u32>;

// What this invocation adds to the global counter.
fn changesToAdd(changed: u32, lid: u32) -> u32 {
  if (REDUCE) {
    if (changed != 0u) { atomicAdd(&wgChanged, changed); }
    workgroupBarrier();
    if (lid == 0u) { return atomicLoad(&wgChanged); }
    return 0u;
  }
  return changed;
}

@compute @workgroup_size(WG_X, WG_Y, WG_Z)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let stride = gridStride(nwg);
  var changed = 0u;
  for (var i = flat_id(gid, nwg); i < p.count; i += stride) {
    let keep = mask[i] != 0u;
    storeMasked(i, keep);
    changed += trackSupport(i, keep);
  }
  let total = changesToAdd(changed, lid);
  if (total != 0u) { addToCounter(total); }
}
