/**
 * `node bin/run-ts.mjs scripts/alps-vs-authors.ts --problems DIR [--authors DIR/authors.json]
 *   [--ridge eigen,explicit,factors] [--candidates 256,512,1024] [--only NAME_PART]`
 * Times the project's ALPS at 70 % unstructured on layer-problem files (every *.safetensors in DIR),
 * next to the authors' PyTorch code's seconds on the same files when their JSON is given (written by
 * a driver run outside the repository: `{ results: { <file stem>: { seconds, relError } } }`), and
 * prints the ratio. `--ridge` lists the (Ĝ + ρI)⁻¹ routes to time (default: the per-shape choice);
 * each run also counts the schedule's ρ changes. `--candidates` times the routes' pieces alone on the
 * n × n problems of those sizes: the eigendecomposition, one Cholesky refresh, one application.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { bytesSource } from '../src/formats/byteSource';
import { readLayerProblem } from '../src/formats/layerProblem';
import { openNodeGpu } from '../src/gpu/node';
import type { Gpu } from '../src/gpu/runtime';
import { withScope } from '../src/gpu/scope';
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
  const out = await alps(gpu, p, { kind: 'unstructured', sparsity: 0.7 }, {}, ridge);
  await gpu.read(out.weight, 1);
  const s = seconds(t0);
  out.weight.dispose();
  let changes = 0;
  for (let i = 1; i < out.history.length; i++) if (out.history[i].rho !== out.history[i - 1].rho) changes++;
  return { s, relError: out.relError, iterations: out.iterations, changes };
}

/** The pieces of each route alone: setup (eigendecomposition), one ρ refresh, one application. */
async function timePieces(gpu: Gpu, p: LayerProblem): Promise<string> {
  const { m, n } = p;
  return withScope(gpu, async (scope) => {
    const sp = await scaleProblem(scope, p, 0.01);
    const parts: string[] = [];
    for (const method of ['explicit', 'factors', 'eigen'] as RidgeMethod[]) {
      if (method === 'eigen' && n > 512 && !process.argv.includes('--eigen-large')) continue;
      let t0 = performance.now();
      const ridge = await makeRidge(scope, sp.Ghat, m, n, method);
      await gpu.sync();
      const setup = seconds(t0);
      t0 = performance.now();
      for (let r = 0; r < 3; r++) ridge.refresh(0.1 * (r + 1));
      await ridge.check();
      const refresh = seconds(t0) / 3;
      const out = scope.tensor([m, n]);
      t0 = performance.now();
      for (let r = 0; r < 3; r++) ridge.apply(sp.Y, out);
      await gpu.sync();
      const apply = seconds(t0) / 3;
      parts.push(`${method}: setup ${setup.toFixed(2)} s, refresh ${refresh.toFixed(3)} s, apply ${apply.toFixed(3)} s`);
    }
    // The other big piece of an iteration: P_k over the m·n entries (top-k selection and mask).
    const projection = projectionFor(gpu, { kind: 'unstructured', sparsity: 0.7 }, m, n);
    const mask = scope.tensor([m, n], 'u32');
    const t0 = performance.now();
    for (let r = 0; r < 3; r++) projection.project(sp.Y, mask);
    await gpu.sync();
    parts.push(`P_k ${(seconds(t0) / 3).toFixed(3)} s`);
    return parts.join(' | ');
  });
}

async function main(): Promise<void> {
  const dir = arg('problems');
  if (!dir) throw new Error('give --problems DIR (a folder of layer-problem .safetensors files)');
  const authorsFile = arg('authors');
  const authors = authorsFile ? (JSON.parse(readFileSync(authorsFile, 'utf8')) as { results: Record<string, { seconds: number; relError: number }> }).results : {};
  const ridges = arg('ridge')?.split(',') as RidgeMethod[] | undefined;
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
        if (candidates.includes(n)) console.log(`${m}×${n}: ${await timePieces(gpu, problem)}`);
        continue;
      }
      const peer = authors[name];
      if (!peer && authorsFile) continue;
      for (const ridge of ridges ?? [chooseRidge(m, n)]) {
        const r = await timeAlps(gpu, problem, ridge);
        const ratio = peer ? `${(r.s / peer.seconds).toFixed(2)}×` : '–';
        const peerText = peer ? `authors ${peer.seconds.toFixed(1)} s (error ${peer.relError.toFixed(5)})` : 'authors –';
        console.log(
          `${name} ${m}×${n} ${ridge}: project ${r.s.toFixed(1)} s (error ${r.relError.toFixed(5)}, ${r.iterations} iterations, ${r.changes} ρ changes) | ${peerText} | ratio ${ratio}`,
        );
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
