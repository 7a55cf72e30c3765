/**
 * The matrix-product part of `npm run bench`: the project's `matmul` next to tfjs-backend-webgpu's
 * `tf.matMul` on the same Dawn device (one adapter, one queue), and the project's tilings on the
 * shapes the solvers and the model use.
 *
 * tfjs runs in Node here: its WebGPU backend only needs a `GPUDevice`, so we hand it the project's
 * own device instead of letting it open a second one (no browser needed, no second adapter). Both
 * sides are timed the same way: record the product, submit, wait for the queue to drain. The two
 * alternate within each repetition, so machine load hits both alike; the first run of each
 * (pipeline compilation) is excluded and the median of the rest is reported.
 */
import * as tf from '@tensorflow/tfjs-core';
import { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import type { Gpu, GpuTensor } from '../src/gpu/runtime';
import { matmul, matmulTiling, matmulUsesF16, type MatmulOptions, type MatmulTiling } from '../src/kernels/matmul';
import { rng } from '../test/helpers/reference';
import { fractionOfPeak, type Peak } from './gpu-peaks';

export type Row = Record<string, string | number>;

function randomMatrix(count: number, seed: number): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: count }, () => r() - 0.5);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const gflops = (flops: number, ms: number) => flops / ms / 1e6;

/**
 * Wall and process CPU milliseconds of one product. SwiftShader's workers are threads of this
 * process, so on a CPU adapter the CPU time is the work done, much less sensitive than the wall
 * time to other jobs on the machine.
 */
async function timed(fn: () => void | Promise<void>, wait: () => Promise<void>): Promise<{ wall: number; cpu: number }> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await fn();
  await wait();
  const wall = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return { wall, cpu: (c.user + c.system) / 1000 };
}

let tfReady: Promise<WebGPUBackend> | undefined;

/** tfjs-backend-webgpu on the project's device. Its constructor checks `navigator.gpu` exists. */
function tfOn(gpu: Gpu): Promise<WebGPUBackend> {
  tfReady ??= (async () => {
    const nav = ((globalThis as unknown as { navigator?: Record<string, unknown> }).navigator ??= {});
    nav.gpu ??= {
      requestAdapter: () => Promise.reject(new Error('bench: tfjs shares the project device; it opens none of its own')),
    };
    const backend = new WebGPUBackend(gpu.device);
    // Its kernels are registered for the name 'webgpu'; replace the factory that would open a device.
    if (tf.findBackendFactory('webgpu')) tf.removeBackend('webgpu');
    tf.registerBackend('webgpu', () => backend);
    if (!(await tf.setBackend('webgpu'))) throw new Error('bench: tfjs-backend-webgpu did not start on the project device');
    return backend;
  })();
  return tfReady;
}

/** [M, N, K] of op(A)·op(B) compared with tfjs: square sizes and ALPS's W·Ĝ at SmolLM-135M's down_proj (576 × 1536 weight). */
export function peerShapes(squares: number[]): [number, number, number][] {
  return [...squares.map((n): [number, number, number] => [n, n, n]), [576, 1536, 1536]];
}

/** Project vs tfjs GFLOP/s on the same device, alternating, medians of `reps` after a warm-up. */
export async function peerComparison(gpu: Gpu, shapes: [number, number, number][], reps: number, peak?: Peak): Promise<Row[]> {
  const backend = await tfOn(gpu);
  const rows: Row[] = [];
  for (const [M, N, K] of shapes) {
    const a = randomMatrix(M * K, 1);
    const b = randomMatrix(K * N, 2);
    const A = gpu.upload(a, [M, K]);
    const B = gpu.upload(b, [K, N]);
    const C = gpu.tensor([M, N]);
    const ta = tf.tensor2d(a, [M, K]);
    const tb = tf.tensor2d(b, [K, N]);
    const ours = () => matmul(gpu, A, B, C, { M, N, K });
    const theirs = () => {
      tf.matMul(ta, tb).dispose();
      // tfjs defers submits in batches; submit now so the queue wait below covers the product.
      if ((backend as unknown as { commandEncoder: unknown }).commandEncoder) {
        backend.endComputePassEncoder();
        backend.submitQueue();
      }
    };
    const drain = () => gpu.device.queue.onSubmittedWorkDone();
    const sync = () => gpu.sync();
    // Warm-up (pipeline compilation, tfjs uploads), then check both agree before timing them.
    await timed(ours, sync);
    await timed(theirs, drain);
    const check = tf.matMul(ta, tb);
    const [mine, peer] = [await gpu.read(C), (await check.data()) as Float32Array];
    check.dispose();
    let diff = 0;
    for (let i = 0; i < mine.length; i++) diff = Math.max(diff, Math.abs(mine[i] - peer[i]));
    const ms: { wall: number; cpu: number }[] = [];
    const tfMs: { wall: number; cpu: number }[] = [];
    for (let r = 0; r < reps; r++) {
      ms.push(await timed(ours, sync));
      tfMs.push(await timed(theirs, drain));
    }
    const flops = 2 * M * N * K;
    const wall = [median(ms.map((m) => m.wall)), median(tfMs.map((m) => m.wall))];
    const cpu = [median(ms.map((m) => m.cpu)), median(tfMs.map((m) => m.cpu))];
    const [g, t] = wall.map((w) => gflops(flops, w));
    rows.push({
      'M×N×K': `${M}×${N}×${K}`,
      tiling: matmulTiling(gpu, { M, N, K }),
      'project GFLOP/s': g.toFixed(2),
      'of fp32 peak': fractionOfPeak(g, peak),
      'tfjs GFLOP/s': t.toFixed(3),
      ratio: `${(g / t).toFixed(1)}×`,
      'CPU-time ratio': `${(cpu[1] / cpu[0]).toFixed(1)}×`,
      'project ms': wall[0].toFixed(1),
      'tfjs ms': wall[1].toFixed(1),
      'max |Δ|': diff.toExponential(1),
    });
    for (const t of [A, B, C]) t.dispose();
    ta.dispose();
    tb.dispose();
  }
  return rows;
}

interface Case {
  name: string;
  o: MatmulOptions;
  /** Stored shapes of A and B. */
  a: number;
  b: number;
}

/** The products the project runs: ALPS/SPAP (W·Ĝ), grams (XᵀX over tokens), the model forward (X·Wᵀ). */
function projectCases(tokens: number): Case[] {
  const cases: Case[] = [];
  const ab = (name: string, M: number, N: number, K: number) => cases.push({ name, o: { M, N, K }, a: M * K, b: K * N });
  ab('W·Ĝ 512²', 512, 512, 512);
  ab('W·Ĝ 576×1536 (down_proj)', 576, 1536, 1536);
  for (const n of [576, 1536]) cases.push({ name: `gram XᵀX ${n}², ${tokens} tokens`, o: { M: n, N: n, K: tokens, transA: true }, a: tokens * n, b: tokens * n });
  for (const [M, K, N] of [[tokens, 576, 1536], [tokens, 1536, 576], [16, 576, 1536], [1, 576, 1536]]) {
    cases.push({ name: `forward X·Wᵀ ${M}×${K} → ${N}`, o: { M, N, K, transB: true }, a: M * K, b: N * K });
  }
  return cases;
}

/**
 * Before and after on the project's shapes: "before" is the tiling the previous policy chose
 * (vec4 register tiles where aligned, else scalar register tiles, on SwiftShader; workgroup tiles
 * elsewhere), "after" what `matmulTiling` chooses now. They alternate within each repetition.
 */
export async function projectShapes(gpu: Gpu, tokens: number, reps: number): Promise<Row[]> {
  const rows: Row[] = [];
  for (const c of projectCases(tokens)) {
    const A = gpu.upload(randomMatrix(c.a, 3));
    const B = c.o.transA && c.a === c.b ? A : gpu.upload(randomMatrix(c.b, 4));
    const C = gpu.tensor([c.o.M, c.o.N]);
    const flops = 2 * c.o.M * c.o.N * c.o.K;
    const vec4 = !c.o.transA && c.o.K % 4 === 0;
    const before: MatmulTiling = gpu.prefersRegisterTiles ? (vec4 ? 'register-vec4' : 'register') : 'shared';
    const after = matmulTiling(gpu, c.o);
    const runs = [before, after].map((tiling) => () => matmul(gpu, A, B as GpuTensor, C, { ...c.o, tiling }));
    const ms: { wall: number; cpu: number }[][] = [[], []];
    for (const run of runs) await timed(run, () => gpu.sync()); // warm-up
    for (let r = 0; r < reps; r++) for (let i = 0; i < 2; i++) ms[i].push(await timed(runs[i], () => gpu.sync()));
    const [g0, g1] = ms.map((m) => gflops(flops, median(m.map((x) => x.wall))));
    const [c0, c1] = ms.map((m) => median(m.map((x) => x.cpu)));
    rows.push({
      product: c.name,
      before,
      'GFLOP/s': g0.toFixed(2),
      after,
      'GFLOP/s ': g1.toFixed(2),
      'speed-up': `${(g1 / g0).toFixed(2)}×`,
      'CPU-time speed-up': `${(c0 / c1).toFixed(2)}×`,
    });
    A.dispose();
    if (B !== A) B.dispose();
    C.dispose();
  }
  return rows;
}

const ALL_TILINGS: MatmulTiling[] = ['register', 'register-vec4', 'subgroup', 'subgroup-shuffle', 'shared'];

/**
 * Every tiling this adapter runs (and the f16 workgroup tiles where it has `shader-f16`) on n × n × n,
 * median wall GFLOP/s of `reps` after a warm-up, with the fraction of the adapter's fp32 peak: the
 * numbers a device session needs to set the dispatch policy in src/kernels/matmul.ts.
 */
export async function tilingSweep(gpu: Gpu, sizes: number[], reps: number, peak?: Peak): Promise<Row[]> {
  const rows: Row[] = [];
  for (const n of sizes) {
    const A = gpu.upload(randomMatrix(n * n, 5), [n, n]);
    const B = gpu.upload(randomMatrix(n * n, 6), [n, n]);
    const C = gpu.tensor([n, n]);
    const variants: MatmulOptions[] = ALL_TILINGS.map((tiling) => ({ M: n, N: n, K: n, tiling }));
    if (matmulUsesF16(gpu, { M: n, N: n, K: n, tiling: 'shared', allowF16: true })) variants.push({ M: n, N: n, K: n, tiling: 'shared', allowF16: true });
    for (const o of variants) {
      const name = `${o.tiling}${o.allowF16 ? ' f16' : ''}`;
      const run = () => matmul(gpu, A, B, C, o);
      try {
        await timed(run, () => gpu.sync());
      } catch (error) {
        rows.push({ n, tiling: name, 'GFLOP/s': '-', 'of fp32 peak': '-', note: error instanceof Error ? error.message.slice(0, 60) : 'refused' });
        continue;
      }
      const ms: number[] = [];
      for (let r = 0; r < reps; r++) ms.push((await timed(run, () => gpu.sync())).wall);
      const g = gflops(2 * n * n * n, median(ms));
      rows.push({ n, tiling: name, 'GFLOP/s': g.toFixed(2), 'of fp32 peak': fractionOfPeak(g, peak), note: '' });
    }
    for (const t of [A, B, C]) t.dispose();
  }
  return rows;
}
