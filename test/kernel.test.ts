import { describe, expect, it } from 'vitest';
import { defineKernel, foldGroups, kernelHeader, wgslConsts, wgslSections } from '../src/gpu/kernel';
import { activate, biasAct, gatedAct } from '../src/kernels/activation';
import { testGpu } from './helpers/gpu';
import { f32, maxAbs, maxAbsDiff, randn } from './helpers/reference';

describe('kernel descriptors', () => {
  it('writes the Params struct padded to 16 bytes, bindings in order, and the workgroup size', () => {
    const header = kernelHeader('k', { rows: 'u32', scale: 'f32', shift: 'i32' }, { X: { type: 'f32' }, Y: { type: 'f32', access: 'read_write' } }, [64, 1, 1]);
    expect(header).toContain('struct Params {\n  rows: u32,\n  scale: f32,\n  shift: i32,\n  _pad3: u32,\n}');
    expect(header).toContain('@group(0) @binding(0) var<uniform> p: Params;');
    expect(header).toContain('@group(0) @binding(1) var<storage, read> X: array<f32>;');
    expect(header).toContain('@group(0) @binding(2) var<storage, read_write> Y: array<f32>;');
    expect(header).toContain('const WG_X: u32 = 64u;');
    // No uniforms: no struct, storage starts at binding 0.
    expect(kernelHeader('k', {}, { X: { type: 'u32' } }, [8, 8, 1])).toContain('@group(0) @binding(0) var<storage, read> X: array<u32>;');
    // A variant's optional binding appears only when its flag is set.
    const decl = { X: { type: 'f32' as const }, B: { type: 'f32' as const, when: 'withB' } };
    expect(kernelHeader('k', {}, decl, [1, 1, 1], { withB: false })).not.toContain(' B: ');
    expect(kernelHeader('k', {}, decl, [1, 1, 1], { withB: true })).toContain('@group(0) @binding(1) var<storage, read> B: array<f32>;');
    expect(() => kernelHeader('k', {}, { H: { type: 'atomic<u32>' } }, [1, 1, 1])).toThrow(/must be read_write/);
  });

  it('folds large 1-D grids within the per-dimension limit', () => {
    expect(foldGroups(10, 65535)).toEqual([10, 1]);
    expect(foldGroups(65535, 65535)).toEqual([65535, 1]);
    const [x, y] = foldGroups(200_000, 65535);
    expect(x).toBeLessThanOrEqual(65535);
    expect(x * y).toBeGreaterThanOrEqual(200_000);
    expect(() => foldGroups(65536 * 65536, 65535)).toThrow(/exceed/);
  });

  it('splits a family file into prelude and sections; writes constants', () => {
    const w = wgslSections('fn shared() {}\n//# kernel a\nfn main() { a(); }\n//# kernel b\nfn main() { b(); }\n');
    expect(w.section('a')).toBe('fn shared() {}\n\nfn main() { a(); }\n');
    expect(w.section('b')).toContain('b();');
    expect(() => w.section('c')).toThrow(/not found/);
    expect(wgslConsts({ A: 3, B: -2, C: 0.5, D: true })).toBe('const A: u32 = 3u;\nconst B: i32 = -2;\nconst C: f32 = 0.5;\nconst D: bool = true;\n');
  });

  it('packs uniforms by name and refuses missing, unknown and out-of-range values', async () => {
    const gpu = await testGpu();
    const fill = defineKernel({
      name: 'test_fill',
      uniforms: { count: 'u32', value: 'f32', offset: 'i32' },
      bindings: { out: { type: 'f32', access: 'read_write' } },
      workgroupSize: [64],
      source: () => `@compute @workgroup_size(WG_X, WG_Y, WG_Z)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_id(gid, nwg);
  if (i >= p.count) { return; }
  out[i] = p.value + f32(p.offset);
}`,
    });
    const out = gpu.zeros([130]);
    fill.run(gpu, { uniforms: { count: 129, value: 2.5, offset: -1 }, bindings: { out }, threads: 129 });
    const got = await gpu.read(out);
    expect(got[0]).toBe(1.5);
    expect(got[128]).toBe(1.5);
    expect(got[129]).toBe(0);
    expect(() => fill.run(gpu, { uniforms: { count: -1, value: 0, offset: 0 }, bindings: { out }, threads: 1 })).toThrow(/must be a u32/);
    expect(() => fill.run(gpu, { uniforms: { count: 1, value: 0, offset: 0.5 }, bindings: { out }, threads: 1 })).toThrow(/must be an i32/);
    expect(() => fill.run(gpu, { uniforms: { count: 1, value: 0 } as never, bindings: { out }, threads: 1 })).toThrow(/"offset" is undefined/);
    expect(() => fill.run(gpu, { uniforms: { count: 1, value: 0, offset: 0, extra: 1 } as never, bindings: { out }, threads: 1 })).toThrow(/unknown uniform/);
    expect(() => fill.run(gpu, { uniforms: { count: 1, value: 0, offset: 0 }, bindings: {} as never, threads: 1 })).toThrow(/binding "out" is missing/);
    out.dispose();
  });
});

const ACTS: Record<string, (x: number) => number> = {
  identity: (x) => x,
  relu: (x) => Math.max(x, 0),
  silu: (x) => x / (1 + Math.exp(-x)),
  gelu_tanh: (x) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3))),
  gelu: (x) => 0.5 * x * (1 + erf(x / Math.SQRT2)),
};

// erf in float64 by Simpson's rule on 2/√π·∫₀ˣ exp(−t²) dt (error far below 1e-10 here).
function erf(x: number): number {
  const steps = 2000;
  const h = x / steps;
  let sum = 1 + Math.exp(-x * x);
  for (let k = 1; k < steps; k++) sum += (k % 2 ? 4 : 2) * Math.exp(-((k * h) ** 2));
  return ((2 / Math.sqrt(Math.PI)) * sum * h) / 3;
}

describe('activation kernels against float64', () => {
  const shapes: [number, number, number, number][] = [
    // rows, cols, ld, off
    [1, 1, 1, 0],
    [1, 65, 70, 3],
    [37, 1, 4, 2],
    [5, 130, 131, 1],
  ];
  for (const act of ['identity', 'relu', 'silu', 'gelu_tanh', 'gelu'] as const) {
    it(`bias + ${act} and ${act} alone on slices`, async () => {
      const gpu = await testGpu();
      for (const [rows, cols, ld, off] of shapes) {
        const Y0 = randn(rows * ld, rows + cols).map((v) => 3 * v);
        const b = randn(cols, cols + 1);
        for (const withBias of [true, false]) {
          if (!withBias && act === 'identity') continue;
          const Y = gpu.upload(f32(Y0));
          const bias = gpu.upload(f32(b));
          if (withBias) biasAct(gpu, Y, bias, { rows, cols, ld, off }, act);
          else if (act !== 'identity') activate(gpu, Y, { rows, cols, ld, off }, act);
          const got = await gpu.read(Y);
          const ref = Y0.slice();
          for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) ref[r * ld + off + c] = ACTS[act](Y0[r * ld + off + c] + (withBias ? b[c] : 0));
          expect(maxAbsDiff(got, ref)).toBeLessThan(2e-6 * (1 + maxAbs(ref)));
          Y.dispose();
          bias.dispose();
        }
      }
    });
  }

  it('gated activation over a grid folded past 65535 workgroups', async () => {
    const gpu = await testGpu();
    for (const count of [1, 63, 65535 * 64 + 77]) {
      const g0 = randn(count, count % 97).map((v) => 2 * v);
      const u0 = randn(count, 3);
      const gate = gpu.upload(f32(g0));
      const up = gpu.upload(f32(u0));
      gatedAct(gpu, gate, up, count, 'silu');
      const got = await gpu.read(gate);
      let worst = 0;
      for (let i = 0; i < count; i++) worst = Math.max(worst, Math.abs(got[i] - ACTS.silu(g0[i]) * u0[i]));
      expect(worst).toBeLessThan(1e-5);
      gate.dispose();
      up.dispose();
    }
  });
});
