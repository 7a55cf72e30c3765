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

struct Params {
  // Elements (mask, rank, apply, fill), segments × 256 (init) or segments (pick).
  count: u32,
  segLen: u32,
  keep: u32,
  segments: u32,
  // Histogram tiling: a workgroup counts one tile (of one segment, or of the flat array).
  tilesPerSeg: u32,
  tileSize: u32,
  // Digit of this pass: bits [shift, shift + 8) of the key (phase 0) or of the index (phase 1).
  shift: u32,
  phase: u32,
  // fill: the value written; nm: the group length M.
  value: u32,
  _pad0: u32,
  _pad1: u32,
  _pad2: u32,
}

// Per-segment state, 8 u32 each.
const S_PREFIX: u32 = 0u;   // threshold key bits chosen so far; the full threshold T at the end
const S_REM: u32 = 1u;      // how many entries still to keep among those matching the prefix
const S_DONE: u32 = 2u;     // 1 once the threshold (and index threshold) are final
const S_IDX: u32 = 3u;      // index threshold I: among key == T keep index <= I
const S_IPREFIX: u32 = 4u;  // index bits chosen so far
const STATE: u32 = 8u;
const BINS: u32 = 256u;

override WG: u32 = 256u;

@group(0) @binding(0) var<uniform> p: Params;

// Bindings per entry point (the wrapper passes them in this order; variables used by different
// entry points share binding numbers, which WGSL allows as long as no entry point uses both):
//   init:      hist, state
//   histogram, histogram_global: scores, hist, state
//   pick, pick_parallel:         hist, state
//   mask:      scores, state, mask
//   rank / nm: scores, mask
//   fill:      mask
//   apply:     values, mask, out            apply_inplace:     mask, out
//   apply_track: values, mask, out, support, counter
//   apply_track_inplace: mask, out, support, counter

@group(0) @binding(1) var<storage, read_write> ihist: array<u32>;
@group(0) @binding(2) var<storage, read_write> istate: array<u32>;

@group(0) @binding(1) var<storage, read> scores: array<f32>;
@group(0) @binding(2) var<storage, read_write> hist: array<atomic<u32>>;
@group(0) @binding(3) var<storage, read_write> state: array<u32>;

@group(0) @binding(2) var<storage, read_write> mstate: array<u32>;
@group(0) @binding(3) var<storage, read_write> mmask: array<u32>;

@group(0) @binding(2) var<storage, read_write> rmask: array<u32>;

@group(0) @binding(1) var<storage, read_write> fmask: array<u32>;

fn keyOf(x: f32) -> u32 {
  return bitcast<u32>(x) & 0x7fffffffu;
}

// Mask of the bits above the current digit; a shift of 32 would wrap in WGSL, so it is explicit.
fn highMask(shift: u32) -> u32 {
  let hi = shift + 8u;
  return select(0xffffffffu << hi, 0u, hi >= 32u);
}

fn threadIndex(wid: vec3<u32>, nwg: vec3<u32>, lid: u32, size: u32) -> u32 {
  return (wid.x + wid.y * nwg.x) * size + lid;
}

@compute @workgroup_size(64)
fn init(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = threadIndex(wid, nwg, lid, 64u);
  if (i >= p.count) { return; }
  ihist[i] = 0u;
  if ((i & (BINS - 1u)) == 0u) {
    let st = (i / BINS) * STATE;
    istate[st + S_PREFIX] = 0u;
    istate[st + S_REM] = p.keep;
    istate[st + S_DONE] = 0u;
    istate[st + S_IDX] = 0u;
    istate[st + S_IPREFIX] = 0u;
  }
}

// Histogram of one digit. `histogram` gives each workgroup one tile of one segment, counts in
// workgroup memory and merges the non-empty bins into the segment's global histogram (one barrier
// per tile: the choice for real GPUs, where one global histogram would serialise on its atomics,
// and for few long segments on CPU rasterisers, as a handful of big tiles). `histogram_global`
// gives each workgroup one tile of the flat array (tiles may span segments, so many short segments
// do not mean many workgroups) and adds to the global histograms directly (no barriers: for many
// segments on CPU rasterisers such as SwiftShader, where barriers and workgroup launches are dear).
//
// Both aggregate runs of equal bins in a register before touching an atomic: in the first value
// pass nearly every weight shares the top byte (the high exponent bits), so this turns one
// hot-bin atomic per entry into one per run.
var<workgroup> localHist: array<atomic<u32>, 256>;

// Returns the digit of local index j of a segment whose first entry is at base, or BINS when the
// entry does not take part in this pass.
fn digitOf(base: u32, j: u32, prefix: u32, iprefix: u32) -> u32 {
  let key = keyOf(scores[base + j]);
  let hm = highMask(p.shift);
  if (p.phase == 0u) {
    if ((key & hm) != (prefix & hm)) { return BINS; }
    return (key >> p.shift) & 255u;
  }
  if (key != prefix || (j & hm) != (iprefix & hm)) { return BINS; }
  return (j >> p.shift) & 255u;
}

@compute @workgroup_size(WG)
fn histogram(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
             @builtin(local_invocation_index) lid: u32) {
  let w = wid.x + wid.y * nwg.x;
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
    var runBin = BINS;
    var run = 0u;
    for (var j = start + lid; j < end; j += WG) {
      let d = digitOf(seg * p.segLen, j, prefix, iprefix);
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
  for (var b = lid; b < BINS; b += WG) {
    let c = atomicLoad(&localHist[b]);
    if (c != 0u) { atomicAdd(&hist[seg * BINS + b], c); }
  }
}

@compute @workgroup_size(WG)
fn histogram_global(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                    @builtin(local_invocation_index) lid: u32) {
  let total = p.segments * p.segLen;
  let start = (wid.x + wid.y * nwg.x) * p.tileSize;
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
      let steps = (p.segLen - j + WG - 1u) / WG;
      i += steps * WG;
      j += steps * WG;
      continue;
    }
    let d = digitOf(seg * p.segLen, j, prefix, iprefix);
    if (d != BINS) {
      let bin = seg * BINS + d;
      if (run != 0u && bin != runBin) {
        atomicAdd(&hist[runBin], run);
        run = 0u;
      }
      runBin = bin;
      run += 1u;
    }
    i += WG;
    j += WG;
  }
  if (run != 0u) { atomicAdd(&hist[runBin], run); }
}

// Records the bin chosen by a pick: `before` entries sit in bins ahead of it (larger values, or
// smaller indices), `inBin` in it, and `rem` were still to be kept before this pass.
fn commit(st: u32, rem: u32, before: u32, chosen: u32, inBin: u32) {
  let left = rem - before;
  istate[st + S_REM] = left;
  if (p.phase == 0u) {
    let prefix = istate[st + S_PREFIX] | (chosen << p.shift);
    istate[st + S_PREFIX] = prefix;
    if (left == inBin) {
      // The whole bin is kept: every key >= prefix (lower digits zero) is in and nothing else, so
      // the threshold is final and no index passes are needed.
      istate[st + S_DONE] = 1u;
      istate[st + S_IDX] = 0xffffffffu;
    }
  } else {
    let iprefix = istate[st + S_IPREFIX] | (chosen << p.shift);
    istate[st + S_IPREFIX] = iprefix;
    if (p.shift == 0u || left == inBin) {
      // Last index digit (the bin is a single index), or the whole bin is kept: every tied index
      // up to the bin's largest is in.
      istate[st + S_DONE] = 1u;
      istate[st + S_IDX] = iprefix | ((1u << p.shift) - 1u);
    }
  }
}

// One invocation per segment walks its 256 bins in order (largest first for values, smallest
// first for indices) and clears them for the next pass. No barriers: the choice for CPU
// rasterisers, and for many segments, which run in parallel.
@compute @workgroup_size(64)
fn pick(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let s = threadIndex(wid, nwg, lid, 64u);
  if (s >= p.count) { return; }
  let st = s * STATE;
  if (istate[st + S_DONE] != 0u) { return; }
  let rem = istate[st + S_REM];
  var before = 0u;
  var chosen = 0u;
  var inBin = 0u;    // 0 until found: rem >= 1, so the chosen bin holds at least one entry
  for (var i = 0u; i < BINS; i++) {
    let b = select(i, BINS - 1u - i, p.phase == 0u);
    let h = ihist[s * BINS + b];
    if (h == 0u) { continue; }
    ihist[s * BINS + b] = 0u;
    if (inBin == 0u) {
      if (before + h >= rem) {
        chosen = b;
        inBin = h;
      } else {
        before += h;
      }
    }
  }
  commit(st, rem, before, chosen, inBin);
}

// One workgroup per segment, one invocation per bin, an inclusive scan in workgroup memory: a few
// microseconds on a real GPU, where a single invocation's 256 dependent steps would idle the rest.
var<workgroup> scanBins: array<u32, 256>;

@compute @workgroup_size(256)
fn pick_parallel(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(local_invocation_index) lid: u32) {
  let s = wid.x + wid.y * nwg.x;
  if (s >= p.count) { return; }
  let st = s * STATE;
  // Read before the barriers; the one invocation that commits writes after them.
  let done = istate[st + S_DONE];
  let rem = istate[st + S_REM];
  // Invocation t holds the t-th bin in selection order.
  let b = select(lid, BINS - 1u - lid, p.phase == 0u);
  let h = ihist[s * BINS + b];
  if (h != 0u) { ihist[s * BINS + b] = 0u; }
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
    commit(st, rem, before, b, h);
  }
}

@compute @workgroup_size(256)
fn mask(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let stride = nwg.x * nwg.y * 256u;
  let first = threadIndex(wid, nwg, lid, 256u);
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
    let t = mstate[seg * STATE + S_PREFIX];
    let keepIt = key > t || (key == t && j <= mstate[seg * STATE + S_IDX]);
    mmask[i] = select(0u, 1u, keepIt);
    j += stride;
  }
}

// Small segments: every entry counts the entries of its segment that beat it (larger key, or equal
// key and lower index) and is kept when fewer than k do. O(L) per entry, one dispatch.
@compute @workgroup_size(256)
fn rank(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let stride = nwg.x * nwg.y * 256u;
  for (var i = threadIndex(wid, nwg, lid, 256u); i < p.count; i += stride) {
    let seg = i / p.segLen;
    let base = seg * p.segLen;
    let j = i - base;
    let key = keyOf(scores[i]);
    var beaten = 0u;
    for (var t = 0u; t < p.segLen && beaten < p.keep; t++) {
      let other = keyOf(scores[base + t]);
      beaten += select(0u, 1u, other > key || (other == key && t < j));
    }
    rmask[i] = select(0u, 1u, beaten < p.keep);
  }
}

// N:M: one invocation per group of M (p.value) entries keeps the N (p.keep) that beat the fewest.
// Groups are M consecutive entries, or with p.segLen = C > 0 (a row-major matrix of C columns) M
// consecutive rows of one column; consecutive invocations then take neighbouring columns.
@compute @workgroup_size(256)
fn nm(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
      @builtin(local_invocation_index) lid: u32) {
  let groups = p.count / p.value;
  let stride = nwg.x * nwg.y * 256u;
  for (var g = threadIndex(wid, nwg, lid, 256u); g < groups; g += stride) {
    var base = g * p.value;
    var step = 1u;
    if (p.segLen != 0u) {
      let column = g % p.segLen;
      base = (g - column) * p.value + column;
      step = p.segLen;
    }
    for (var a = 0u; a < p.value; a++) {
      let key = keyOf(scores[base + a * step]);
      var beaten = 0u;
      for (var b = 0u; b < p.value; b++) {
        let other = keyOf(scores[base + b * step]);
        beaten += select(0u, 1u, other > key || (other == key && b < a));
      }
      rmask[base + a * step] = select(0u, 1u, beaten < p.keep);
    }
  }
}

@compute @workgroup_size(256)
fn fill(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let stride = nwg.x * nwg.y * 256u;
  for (var i = threadIndex(wid, nwg, lid, 256u); i < p.count; i += stride) {
    fmask[i] = p.value;
  }
}

// ------------------------------------------------------------------ applying a mask

@group(0) @binding(1) var<storage, read> avalues: array<f32>;
@group(0) @binding(2) var<storage, read> amask: array<u32>;
@group(0) @binding(3) var<storage, read_write> aout: array<f32>;
@group(0) @binding(4) var<storage, read_write> asupport: array<u32>;
@group(0) @binding(5) var<storage, read_write> acounter: array<atomic<u32>>;

// In place (values == out): the same buffer must not be bound twice, so out is read and written.
@group(0) @binding(1) var<storage, read> bmask: array<u32>;
@group(0) @binding(2) var<storage, read_write> bout: array<f32>;
@group(0) @binding(3) var<storage, read_write> bsupport: array<u32>;
@group(0) @binding(4) var<storage, read_write> bcounter: array<atomic<u32>>;

@compute @workgroup_size(256)
fn apply(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
         @builtin(local_invocation_index) lid: u32) {
  let stride = nwg.x * nwg.y * 256u;
  for (var i = threadIndex(wid, nwg, lid, 256u); i < p.count; i += stride) {
    aout[i] = select(0.0, avalues[i], amask[i] != 0u);
  }
}

@compute @workgroup_size(256)
fn apply_inplace(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(local_invocation_index) lid: u32) {
  let stride = nwg.x * nwg.y * 256u;
  for (var i = threadIndex(wid, nwg, lid, 256u); i < p.count; i += stride) {
    if (bmask[i] == 0u) { bout[i] = 0.0; }
  }
}

// The change count is summed per invocation. With WG_REDUCE (real GPUs) the workgroup then sums
// its invocations' counts in workgroup memory, one barrier, and adds once to the global counter,
// so an early ADMM iteration where most entries change does not serialise millions of atomics on
// one address. Without it (CPU rasterisers: barriers are dear, invocations few) each invocation
// with changes adds its own count.
override WG_REDUCE: bool = true;
var<workgroup> wgChanged: atomic<u32>;

fn addChanges(changed: u32, lid: u32, counter: ptr<storage, array<atomic<u32>>, read_write>) {
  if (WG_REDUCE) {
    if (changed != 0u) { atomicAdd(&wgChanged, changed); }
    workgroupBarrier();
    if (lid == 0u) {
      let total = atomicLoad(&wgChanged);
      if (total != 0u) { atomicAdd(&(*counter)[0], total); }
    }
  } else if (changed != 0u) {
    atomicAdd(&(*counter)[0], changed);
  }
}

@compute @workgroup_size(256)
fn apply_track(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) lid: u32) {
  let stride = nwg.x * nwg.y * 256u;
  var changed = 0u;
  for (var i = threadIndex(wid, nwg, lid, 256u); i < p.count; i += stride) {
    let m = select(0u, 1u, amask[i] != 0u);
    aout[i] = select(0.0, avalues[i], m != 0u);
    changed += select(0u, 1u, m != select(0u, 1u, asupport[i] != 0u));
    asupport[i] = m;
  }
  addChanges(changed, lid, &acounter);
}

@compute @workgroup_size(256)
fn apply_track_inplace(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                       @builtin(local_invocation_index) lid: u32) {
  let stride = nwg.x * nwg.y * 256u;
  var changed = 0u;
  for (var i = threadIndex(wid, nwg, lid, 256u); i < p.count; i += stride) {
    let m = select(0u, 1u, bmask[i] != 0u);
    if (m == 0u) { bout[i] = 0.0; }
    changed += select(0u, 1u, m != select(0u, 1u, bsupport[i] != 0u));
    bsupport[i] = m;
  }
  addChanges(changed, lid, &bcounter);
}
