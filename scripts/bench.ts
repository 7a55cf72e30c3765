/**
 * `npm run bench [-- --sizes 64,128,256,512,1024 --methods alps,sparsegpt,wanda,magnitude --out bench-results/bench.json]`
 * `npm run bench -- --only matmul [--reps 5 --tokens 2048 --peer 256,512,1024 --sweep 512 --shapes no]`   (the matrix-product part alone;
 *   `--shapes no` leaves out the project's shapes, the slow part on SwiftShader)
 *
 * Measures, on whatever adapter is present: the project's matrix product against
 * tfjs-backend-webgpu's on the same device, and before/after the dispatch policy on the shapes the
 * project runs (scripts/bench-matmul.ts); GFLOP/s of each tiling, the time of the other kernels
 * (top-k, N:M, eigendecomposition), and the wall time of each layer solver on an n×n layer with a
 * correlated gram. Prints tables; writes JSON.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { openNodeGpu } from '../src/gpu/node';
import type { Gpu } from '../src/gpu/runtime';
import { symmetricEigen } from '../src/kernels/eigen';
import { matmul, type MatmulTiling } from '../src/kernels/matmul';
import { nmMask, topkMask } from '../src/kernels/select';
import type { Method } from '../src/shared/methods';
import { solveLayer } from '../src/solvers';
import { rng } from '../test/helpers/reference';
import { peerComparison, peerShapes, projectShapes, tilingSweep, type Row } from './bench-matmul';
import { fp32Peak } from './gpu-peaks';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

const sizes = arg('sizes', '64,128,256,512,1024').split(',').map(Number);
const methods = arg('methods', 'magnitude,wanda,sparsegpt,alps').split(',') as Method[];
const outPath = arg('out', 'bench-results/bench.json');
const only = arg('only', 'all');
const reps = Number(arg('reps', '5'));
const tokens = Number(arg('tokens', '2048'));
const peerSizes = arg('peer', '256,512,1024').split(',').map(Number);
const sweepSizes = arg('sweep', '512').split(',').map(Number);

/** Uniform on [−0.5, 0.5), from the tests' seeded xorshift generator. */
function seeded(seed: number): () => number {
  const r = rng(seed);
  return () => r() - 0.5;
}

function randomMatrix(count: number, seed: number): Float32Array {
  const r = seeded(seed);
  return Float32Array.from({ length: count }, () => r());
}

/** A gram with the spread of eigenvalues real activations have: X = low-rank signal + noise. */
function correlatedGram(n: number, seed: number): Float32Array {
  const N = 2 * n;
  const rank = Math.max(2, n >> 3);
  const r = seeded(seed);
  const basis = Float32Array.from({ length: rank * n }, () => r());
  const X = new Float64Array(N * n);
  for (let t = 0; t < N; t++) {
    const c = Array.from({ length: rank }, () => r());
    for (let j = 0; j < n; j++) {
      let v = 0.2 * r();
      for (let q = 0; q < rank; q++) v += c[q] * basis[q * n + j];
      X[t * n + j] = v;
    }
  }
  const G = new Float32Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = i; j < n; j++) {
      let s = 0;
      for (let t = 0; t < N; t++) s += X[t * n + i] * X[t * n + j];
      G[i * n + j] = s;
      G[j * n + i] = s;
    }
  return G;
}

async function timeIt(gpu: Gpu, fn: () => void | Promise<unknown>, repeats: number): Promise<number> {
  await fn(); // warm-up: pipeline compilation
  await gpu.sync();
  const t0 = performance.now();
  for (let i = 0; i < repeats; i++) await fn();
  await gpu.sync();
  return (performance.now() - t0) / repeats;
}

function table(title: string, rows: Record<string, string | number>[]): void {
  console.log(`\n${title}`);
  if (!rows.length) return;
  const cols = Object.keys(rows[0]);
  const width = cols.map((c) => Math.max(c.length, ...rows.map((r) => String(r[c]).length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padStart(width[i])).join(' | ')} |`;
  console.log(line(cols));
  console.log(`|${width.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const r of rows) console.log(line(cols.map((c) => String(r[c]))));
}

const fmt = (v: number, digits = 2) => v.toFixed(digits);
const tfVersion = () => (createRequire(import.meta.url)('@tensorflow/tfjs-backend-webgpu/package.json') as { version: string }).version;

async function main(): Promise<void> {
  const gpu = await openNodeGpu();
  const adapter = `${gpu.adapter.vendor} ${gpu.adapter.architecture} ${gpu.adapter.description}`.trim();
  console.log(`adapter: ${adapter || 'unknown'}${gpu.isSwiftShader ? ' (SwiftShader, CPU)' : ''}`);
  const kernels: Record<string, string | number>[] = [];
  const solvers: Record<string, string | number>[] = [];
  let peer: Row[] = [];
  let shapes: Row[] = [];
  let sweep: Row[] = [];
  const peak = fp32Peak(gpu.adapter);
  console.log(`fp32 peak: ${peak ? `${peak.gflops} GFLOP/s (${peak.source})` : 'n/a (not a documented adapter)'}`);
  const load = () => (process.platform === 'linux' ? readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ') : 'n/a');
  try {
    console.log(`load average before: ${load()}`);
    peer = await peerComparison(gpu, peerShapes(peerSizes), reps, peak);
    table(`Matrix product vs tfjs-backend-webgpu ${tfVersion()} on the same device (median of ${reps}, alternating)`, peer);
    sweep = await tilingSweep(gpu, sweepSizes, reps, peak);
    table('Matrix product, every tiling on this adapter (GFLOP/s, median wall)', sweep);
    if (arg('shapes', 'yes') !== 'no') {
      shapes = await projectShapes(gpu, tokens, Math.max(1, Math.min(reps, 3)));
      table('Matrix product on the project\'s shapes, previous policy vs now (GFLOP/s)', shapes);
    }
    console.log(`load average after: ${load()}`);
    if (only === 'matmul') return;
    for (const n of sizes) {
      const A = gpu.upload(randomMatrix(n * n, 1), [n, n]);
      const B = gpu.upload(randomMatrix(n * n, 2), [n, n]);
      const C = gpu.tensor([n, n]);
      const flops = 2 * n * n * n;
      const repeats = n <= 256 ? 10 : n <= 512 ? 3 : 1;
      for (const tiling of ['register', 'register-vec4', 'subgroup', 'subgroup-shuffle', 'shared'] as MatmulTiling[]) {
        try {
          matmul(gpu, A, B, C, { M: n, N: n, K: n, tiling });
        } catch {
          continue; // not on this adapter
        }
        const ms = await timeIt(gpu, () => matmul(gpu, A, B, C, { M: n, N: n, K: n, tiling }), repeats);
        kernels.push({ kernel: `matmul ${tiling}`, n, ms: fmt(ms), 'GFLOP/s': fmt(flops / ms / 1e6) });
      }
      const mask = gpu.tensor([n, n], 'u32');
      const topk = await timeIt(gpu, () => topkMask(gpu, A, mask, { segments: 1, segmentLength: n * n, keep: Math.round(0.3 * n * n) }), repeats);
      kernels.push({ kernel: 'top-k (whole matrix)', n, ms: fmt(topk), 'GFLOP/s': '-' });
      const nm = await timeIt(gpu, () => nmMask(gpu, A, mask, { count: n * n, n: 2, m: 4 }), repeats);
      kernels.push({ kernel: 'N:M 2:4', n, ms: fmt(nm), 'GFLOP/s': '-' });
      const G = gpu.upload(correlatedGram(n, 3), [n, n]);
      const t0 = performance.now();
      const eig = await symmetricEigen(gpu, G, n);
      const eigMs = performance.now() - t0;
      kernels.push({ kernel: `eigendecomposition (${eig.sweeps} sweeps)`, n, ms: fmt(eigMs), 'GFLOP/s': '-' });
      eig.Q.dispose();
      eig.lambda.dispose();
      for (const t of [A, B, C, mask, G]) t.dispose();
    }
    table('Kernels', kernels);

    for (const n of sizes) {
      const problem = { m: n, n, weight: randomMatrix(n * n, 7), gram: correlatedGram(n, 8) };
      for (const method of methods) {
        const t0 = performance.now();
        const result = await solveLayer(gpu, problem, method, { kind: 'unstructured', sparsity: 0.7 });
        const ms = performance.now() - t0;
        solvers.push({ method, n, 'wall s': fmt(ms / 1000, 3), iterations: result.iterations, relError: result.relError.toExponential(3) });
        console.error(`  ${method} n=${n}: ${fmt(ms / 1000, 2)} s`);
      }
    }
    table('Solvers (n×n layer, 70 % unstructured)', solvers);
  } finally {
    gpu.destroy();
    mkdirSync(dirname(outPath), { recursive: true });
    writeFileSync(outPath, JSON.stringify({ adapter, swiftshader: gpu.isSwiftShader, date: new Date().toISOString(), load: load(), fp32Peak: peak ?? null, matmulPeer: peer, matmulTilings: sweep, matmulShapes: shapes, kernels, solvers }, null, 2));
    console.log(`\nwrote ${outPath}`);
  }
}

main().catch((error: unknown) => {
  console.error(`bench: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
