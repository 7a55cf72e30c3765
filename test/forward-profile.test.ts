import { it } from 'vitest';
import { readFileSync } from 'node:fs';
import { testGpu } from './helpers/gpu';

it('profile attention', async () => {
  const gpu = await testGpu();
  const v3 = readFileSync('/tmp/att_v3.wgsl', 'utf8');
  const W = 4, T = 512, N = W * T;
  const data = new Float32Array(N * 128).map(() => Math.random());
  const qkv = gpu.upload(data, [N, 128]); const o = gpu.tensor([N, 64]);
  let t = performance.now();
  const lap = async (name: string) => { await gpu.sync(); const n = performance.now(); console.log(name, (n - t).toFixed(0), 'ms'); t = n; };
  const u = (v: number) => ({ u32: v });
  for (let rep = 0; rep < 2; rep++) {
    for (const mode of [0, 1, 2]) {
      gpu.dispatch({ pipeline: { code: v3, entryPoint: 'attention', constants: { MODE: mode } }, uniforms: [u(T), u(8), u(2), u(128), u(64), u(96), u(64), { f32: 0.35 }], bindings: [qkv, o], workgroups: [T / 64, 8, W] });
      await lap('v3 mode ' + mode);
    }
  }
});
