/**
 * `node bin/run-ts.mjs scripts/alps-vs-authors.ts --problems DIR [--authors DIR/authors.json]
 *   [--ridge ldl,eigen,explicit,factors] [--candidates 256,512,1024] [--only NAME_PART]`
 * Times the project's ALPS at 70 % unstructured on layer-problem files (every *.safetensors in DIR),
 * next to the authors' PyTorch code's seconds on the same files when their JSON is given (written by
 * a driver run outside the repository: `{ results: { <file stem>: { seconds, cpuSeconds?, relError } } }`),
 * and prints the ratios of wall time, of CPU time (when the peer's is given) and of relative error. `--ridge` lists the (Ĝ + ρI)⁻¹ routes to time (default: the per-shape choice);
 * each run also counts the schedule's ρ changes. `--candidates` times the routes' pieces alone on the
 * n × n problems of those sizes: one dense product, then per route its setup (the eigendecomposition),
 * one refresh and one application, and P_k; wall seconds with CPU seconds in brackets.
 * `--floor` adds, per problem, the bound the product speed sets: one n×n·n×m product here against
 * PyTorch's on the CPU (2 threads, `.venv-oracle`, the authors' setting; timed in alternation), and
 * the run's iterations × one product here — the least any implementation of the schedule (one
 * (Ĝ+ρI)⁻¹ application per iteration) can take on this adapter — over the authors' seconds.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { bytesSource } from '../src/formats/byteSource';
import { readLayerProblem } from '../src/formats/layerProblem';
import { openNodeGpu } from '../src/gpu/node';
import type { Gpu } from '../src/gpu/runtime';
import { withScope } from '../src/gpu/scope';
import { matmul } from '../src/kernels/matmul';
import { alps } from '../src/solvers/alps';
import { chooseRidge, makeRidge, type RidgeMethod } from '../src/solvers/alpsRidge';
import { projectionFor } from '../src/solvers/projection';
import { scaleProblem } from '../src/solvers/scaled';
import type { LayerProblem } from '../src/shared/problem';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const seconds = (t0: number) => (performance.now() - t0) / 1000;

async function timeAlps(gpu: Gpu, p: LayerProblem, ridge: RidgeMethod) {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const out = await alps(gpu, p, { kind: 'unstructured', sparsity: 0.7 }, {}, ridge);
  await gpu.read(out.weight, 1);
  const s = seconds(t0);
  const c = process.cpuUsage(c0);
  const cpu = (c.user + c.system) / 1e6;
  out.weight.dispose();
  let changes = 0;
  for (let i = 1; i < out.history.length; i++) if (out.history[i].rho !== out.history[i - 1].rho) changes++;
  return { s, cpu, relError: out.relError, iterations: out.iterations, changes };
}

/** Wall and CPU seconds of `f` (GPU work included: it syncs), per repetition. */
async function clock(gpu: Gpu, reps: number, f: () => void | Promise<unknown>): Promise<string> {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  for (let r = 0; r < reps; r++) await f();
  await gpu.sync();
  const c = process.cpuUsage(c0);
  return `${(seconds(t0) / reps).toFixed(2)} s (CPU ${((c.user + c.system) / 1e6 / reps).toFixed(2)})`;
}

/** The pieces of each route alone: setup (eigendecomposition), one ρ refresh, one application. */
async function timePieces(gpu: Gpu, p: LayerProblem, methods: RidgeMethod[]): Promise<string> {
  const { m, n } = p;
  return withScope(gpu, async (scope) => {
    const sp = await scaleProblem(scope, p, 0.01);
    const out = scope.tensor([m, n]);
    const rhs = scope.tensor([m, n]);
    // The yardstick: one dense n×n·n×m product, what every iteration does at least once.
    const parts = [
      `product ${await clock(gpu, 2, () => matmul(gpu, sp.Y, sp.Ghat, out, { M: m, N: n, K: n }))}`,
      `product with op(B) = Bᵀ ${await clock(gpu, 2, () => matmul(gpu, sp.Y, sp.Ghat, out, { M: m, N: n, K: n, transB: true }))}`,
    ];
    for (const method of methods) {
      if (method === 'eigen' && n > 512 && !process.argv.includes('--eigen-large')) continue;
      let ridge: Awaited<ReturnType<typeof makeRidge>> | undefined;
      const setup = await clock(gpu, 1, async () => (ridge = await makeRidge(scope, sp.Ghat, m, n, method)));
      const refresh = await clock(gpu, 2, () => ridge!.refresh(0.1));
      await ridge!.check();
      // apply may overwrite its right-hand side: a fresh copy each time (an m·n copy, ~1 %).
      const apply = await clock(gpu, 2, () => {
        gpu.copy(sp.Y, rhs, m * n * 4);
        ridge!.apply(rhs, out);
      });
      parts.push(`${method}: setup ${setup}, refresh ${refresh}, apply ${apply}`);
    }
    // The other big piece of an iteration: P_k over the m·n entries (top-k selection and mask).
    const projection = projectionFor(gpu, { kind: 'unstructured', sparsity: 0.7 }, m, n);
    const mask = scope.tensor([m, n], 'u32');
    parts.push(`P_k ${await clock(gpu, 2, () => projection.project(sp.Y, mask))}`);
    return parts.join(' | ');
  });
}

/** Median seconds of PyTorch's float32 m×n·n×n product on the CPU with 2 threads, after a warm-up. */
function torchProductSeconds(m: number, n: number, reps: number): number {
  const python = '.venv-oracle/bin/python';
  if (!existsSync(python)) throw new Error('--floor needs the oracle venv (scripts/oracle/setup-venv.sh)');
  const code = `import torch,time,statistics\ntorch.set_num_threads(2)\nA=torch.randn(${m},${n});B=torch.randn(${n},${n});A@B\nts=[]\nfor _ in range(${reps}):\n  t=time.perf_counter();C=A@B;ts.append(time.perf_counter()-t)\nprint(statistics.median(ts))`;
  const r = spawnSync(python, ['-c', code], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`torch timing failed: ${r.stderr}`);
  return Number(r.stdout.trim());
}

/** One n×n·n×m product here and in PyTorch, alternating three times; medians in seconds. */
async function productSeconds(gpu: Gpu, p: LayerProblem): Promise<{ project: number; torch: number }> {
  const { m, n } = p;
  return withScope(gpu, async (scope) => {
    const sp = await scaleProblem(scope, p, 0.01);
    const out = scope.tensor([m, n]);
    const product = async () => {
      const t0 = performance.now();
      matmul(gpu, sp.Y, sp.Ghat, out, { M: m, N: n, K: n });
      await gpu.sync();
      return seconds(t0);
    };
    await product();
    const ours: number[] = [];
    const theirs: number[] = [];
    for (let r = 0; r < 3; r++) {
      ours.push(await product());
      theirs.push(torchProductSeconds(m, n, 5));
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[1];
    return { project: median(ours), torch: median(theirs) };
  });
}

async function main(): Promise<void> {
  const dir = arg('problems');
  if (!dir) throw new Error('give --problems DIR (a folder of layer-problem .safetensors files)');
  const authorsFile = arg('authors');
  type Peer = { seconds: number; cpuSeconds?: number; relError: number };
  const authors = authorsFile ? (JSON.parse(readFileSync(authorsFile, 'utf8')) as { results: Record<string, Peer> }).results : {};
  const ridges = arg('ridge')?.split(',') as RidgeMethod[] | undefined;
  const methods = ridges ?? (['ldl', 'explicit', 'factors', 'eigen'] as RidgeMethod[]);
  const only = arg('only');
  const candidates = arg('candidates')?.split(',').map(Number);
  const gpu = await openNodeGpu();
  try {
    console.log(`adapter: ${gpu.adapter.vendor} ${gpu.adapter.architecture} ${gpu.adapter.description}`.trim());
    const files = readdirSync(dir).filter((f) => f.endsWith('.safetensors')).sort();
    for (const file of files) {
      const name = basename(file, '.safetensors');
      if (only && !name.includes(only)) continue;
      const problem = await readLayerProblem(bytesSource(new Uint8Array(readFileSync(join(dir, file))), file));
      const { m, n } = problem;
      if (candidates) {
        if (candidates.includes(n)) console.log(`${m}×${n}: ${await timePieces(gpu, problem, methods)}`);
        continue;
      }
      const peer = authors[name];
      if (!peer && authorsFile) continue;
      for (const ridge of ridges ?? [chooseRidge(m, n)]) {
        const r = await timeAlps(gpu, problem, ridge);
        const ratio = peer ? `${(r.s / peer.seconds).toFixed(2)}×` : '–';
        // CPU seconds too, when the peer's are known: under a shared machine's load they move less than wall time.
        const cpuRatio = peer?.cpuSeconds ? `, CPU ${(r.cpu / peer.cpuSeconds).toFixed(2)}×` : '';
        const peerCpu = peer?.cpuSeconds ? `, CPU ${peer.cpuSeconds.toFixed(1)} s` : '';
        const peerText = peer ? `authors ${peer.seconds.toFixed(1)} s${peerCpu} (error ${peer.relError.toFixed(5)})` : 'authors –';
        const errorRatio = peer ? `, error ratio ${(r.relError / peer.relError).toFixed(3)}` : '';
        console.log(
          `${name} ${m}×${n} ${ridge}: project ${r.s.toFixed(1)} s, CPU ${r.cpu.toFixed(1)} s (error ${r.relError.toFixed(5)}, ${r.iterations} iterations, ${r.changes} ρ changes) | ${peerText} | ratio ${ratio}${cpuRatio}${errorRatio}`,
        );
        if (process.argv.includes('--floor')) {
          const t = await productSeconds(gpu, problem);
          const rate = (s: number) => ((2 * m * n * n) / s / 1e9).toFixed(2);
          const floor = r.iterations * t.project;
          const floorRatio = peer ? ` = ${(floor / peer.seconds).toFixed(2)}× the authors' run` : '';
          console.log(
            `  one ${m}×${n}·${n}×${n} product: here ${(t.project * 1000).toFixed(0)} ms (${rate(t.project)} GFLOP/s), PyTorch CPU ${(t.torch * 1000).toFixed(0)} ms (${rate(t.torch)} GFLOP/s), ${(t.project / t.torch).toFixed(1)}× | floor: ${r.iterations} iterations × one product = ${floor.toFixed(1)} s${floorRatio}`,
          );
        }
      }
    }
  } finally {
    gpu.destroy();
  }
}

main().catch((error: unknown) => {
  console.error(`alps-vs-authors: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
