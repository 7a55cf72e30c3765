#!/usr/bin/env bash
# The matrix-product benchmark on whatever adapter this machine has (a real GPU where one is lent):
# the adapter's name and documented fp32 peak (scripts/gpu-peaks.ts; "n/a" for an adapter not
# listed there), the project's GFLOP/s next to tfjs-backend-webgpu's on the same device, every
# tiling's GFLOP/s with its fraction of that peak, and the project's shapes before/after the
# dispatch policy. Short and self-contained, for one device run:
#   bash scripts/device-bench.sh [reps]
# JSON goes to $OUT (the device tool's output folder) or bench-results/.
set -euo pipefail
cd "$(dirname "$0")/.."
reps="${1:-5}"
out="${OUT:-bench-results}/bench-matmul.json"
[ -d node_modules/@tensorflow/tfjs-backend-webgpu ] || npm ci --no-audit --no-fund >/dev/null
echo "node $(node --version); GPU device nodes: $(ls /dev/dri /dev/nvidia0 2>/dev/null | tr '\n' ' ' || true)"
# A real GPU takes larger products (small ones only measure dispatch overhead); SwiftShader the usual.
if ls /dev/nvidia0 /dev/dri/renderD* >/dev/null 2>&1; then
  sizes=(--peer 512,1024,2048,4096 --sweep 1024,4096)
else
  sizes=(--peer 256,512,1024 --sweep 512)
fi
node bin/run-ts.mjs scripts/bench.ts --only matmul --reps "$reps" "${sizes[@]}" --out "$out"
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const peak = r.fp32Peak ? `${r.fp32Peak.gflops} GFLOP/s fp32 peak (${r.fp32Peak.source})` : "fp32 peak n/a";
  console.log(`\nsummary: ${r.adapter}; ${peak}; load ${r.load}`);
  for (const row of r.matmulPeer) console.log(`  ${row["M×N×K"]} ${row.tiling}: ${row["project GFLOP/s"]} GFLOP/s = ${row["of fp32 peak"]} of peak; tfjs ${row["tfjs GFLOP/s"]} (${row.ratio})`);
  for (const row of r.matmulTilings) console.log(`  ${row.n}³ ${row.tiling}: ${row["GFLOP/s"]} GFLOP/s = ${row["of fp32 peak"]} of peak ${row.note}`);
' "$out"
