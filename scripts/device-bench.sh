#!/usr/bin/env bash
# The matrix-product benchmark on whatever adapter this machine has (a real GPU where one is lent):
# the adapter's name, the project's GFLOP/s next to tfjs-backend-webgpu's on the same device, and
# the project's shapes before/after the dispatch policy. Short and self-contained, for a device run:
#   bash scripts/device-bench.sh [reps]        (PEAK_GFLOPS=<adapter fp32 peak> adds the fraction)
# JSON goes to $OUT (the device tool's output folder) or bench-results/.
set -euo pipefail
cd "$(dirname "$0")/.."
reps="${1:-5}"
out="${OUT:-bench-results}/bench-matmul.json"
[ -d node_modules/@tensorflow/tfjs-backend-webgpu ] || npm ci --no-audit --no-fund >/dev/null
echo "node $(node --version); GPU device nodes: $(ls /dev/dri /dev/nvidia0 2>/dev/null | tr '\n' ' ' || true)"
node bin/run-ts.mjs scripts/bench.ts --only matmul --reps "$reps" --out "$out"
if [ -n "${PEAK_GFLOPS:-}" ]; then
  node -e '
    const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    for (const row of r.matmulPeer) console.log(`${row["M×N×K"]}: ${row["project GFLOP/s"]} GFLOP/s = ${(100 * row["project GFLOP/s"] / Number(process.argv[2])).toFixed(2)} % of ${process.argv[2]} GFLOP/s peak (${r.adapter})`);
  ' "$out" "$PEAK_GFLOPS"
fi
