import { it } from 'vitest';
import { inverseCholeskyUpper, addDiagonalDamping } from '../src/kernels/cholesky';
import { sparsegpt } from '../src/solvers/sparsegpt';
import { testGpu } from './helpers/gpu';
import { f32, gramRef, randn } from './helpers/reference';

it('timing', async () => {
  const gpu = await testGpu();
  for (const n of [256, 512]) {
    const N = 2 * n;
    const G = f32(gramRef(randn(N * n, 1), N, n));
    for (let rep = 0; rep < 2; rep++) {
      const A = gpu.upload(G, [n, n]);
      const U = gpu.tensor([n, n]);
      const flag = gpu.zeros([1], 'u32');
      await gpu.sync();
      const t0 = performance.now(); const c0 = process.cpuUsage();
      addDiagonalDamping(gpu, A, { n, fraction: 0.01 });
      inverseCholeskyUpper(gpu, A, U, { n, flag });
      await gpu.readU32(flag, 1);
      { const c = process.cpuUsage(c0); console.log(`chol-inverse n=${n}: ${(performance.now() - t0).toFixed(0)} ms wall, ${((c.user + c.system) / 1000).toFixed(0)} ms cpu`); }
      A.dispose(); U.dispose(); flag.dispose();
    }
    for (const m of [n]) {
      const W = f32(randn(m * n, 2));
      for (const pattern of [{ kind: 'unstructured', sparsity: 0.5 }, { kind: 'nm', n: 2, m: 4 }] as const) {
        const t0 = performance.now(); const c0 = process.cpuUsage();
        await sparsegpt(gpu, { m, n, weight: W, gram: G }, pattern);
        { const c = process.cpuUsage(c0); console.log(`sparsegpt ${m}x${n} ${pattern.kind}: ${(performance.now() - t0).toFixed(0)} ms wall, ${((c.user + c.system) / 1000).toFixed(0)} ms cpu`); }
      }
    }
  }
});
