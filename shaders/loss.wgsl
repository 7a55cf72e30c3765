// Next-token negative log-likelihood, streamed over vocabulary chunks of the logits so that the
// full [rows, vocab] matrix never has to exist at once. Per row (one invocation each) the state
// holds (running max m, running Σ exp(logit − m), the target's logit); a chunk of logits
// [rows, cols] covering vocabulary ids [vStart, vStart + cols) updates it. The host then forms
// nll = m + log(s) − target_logit in float64. Rows whose target is 0xFFFFFFFF (the last token of
// a window) are ignored by the host. `first` (1 for the first chunk) starts the state afresh.

//# kernel loss_chunk
@compute @workgroup_size(WG_X, WG_Y, WG_Z)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let r = flat_id(gid, nwg);
  if (r >= p.rows) { return; }
  let row = p.rowOff + r;
  var m = -3.0e38;
  var s = 0.0;
  var t = 0.0;
  if (p.first == 0u) {
    m = state[row * 3u];
    s = state[row * 3u + 1u];
    t = state[row * 3u + 2u];
  }
  let want = targets[row];
  let base = r * p.ld;
  for (var c = 0u; c < p.cols; c++) {
    let v = L[base + c];
    if (v > m) {
      s = s * exp(m - v) + 1.0;
      m = v;
    } else {
      s += exp(v - m);
    }
    if (want == p.vStart + c) { t = v; }
  }
  state[row * 3u] = m;
  state[row * 3u + 1u] = s;
  state[row * 3u + 2u] = t;
}
