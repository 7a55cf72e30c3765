// Token (and learned position) embedding: X[r, :] = E[tok[r] − vStart, :] (+ P[r mod seqlen + posOffset, :]).
// The vocabulary table may be split into row chunks (a GPT-2 or Qwen table can exceed one storage
// binding); each dispatch covers the tokens of its chunk [vStart, vStart + vCount) and leaves the
// other rows alone, so exactly one chunk writes each row. Without learned positions (rotary
// models) the wrapper binds E again as P and HAS_POSITIONS is false.

struct Params {
  rows: u32,
  cols: u32,
  vStart: u32,
  vCount: u32,
  seqlen: u32,
  posOffset: u32,
  _pad0: u32,
  _pad1: u32,
}

override HAS_POSITIONS: bool = false;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> tokens: array<u32>;
@group(0) @binding(2) var<storage, read> E: array<f32>;
@group(0) @binding(3) var<storage, read> P: array<f32>;
@group(0) @binding(4) var<storage, read_write> X: array<f32>;

@compute @workgroup_size(64, 1, 1)
fn embed(@builtin(global_invocation_id) gid: vec3<u32>) {
  let idx = gid.x + gid.y * 65535u * 64u;
  if (idx >= p.rows * p.cols) { return; }
  let r = idx / p.cols;
  let c = idx % p.cols;
  let tok = tokens[r];
  if (tok < p.vStart || tok >= p.vStart + p.vCount) { return; }
  var v = E[(tok - p.vStart) * p.cols + c];
  if (HAS_POSITIONS) {
    v += P[(r % p.seqlen + p.posOffset) * p.cols + c];
  }
  X[idx] = v;
}
