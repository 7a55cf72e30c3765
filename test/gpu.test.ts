/**
 * The GPU runtime's failure paths on a real Dawn device: allocations inside error scopes (what
 * Dawn reports for a buffer over the limit), the test hook's forced out-of-memory allocation and
 * lost device, each surfacing as the one error a person can act on, and a fresh device working after.
 */
import { describe, expect, it } from 'vitest';
import { GuardedAllocator } from '../src/gpu/alloc';
import { FaultInjector, parseGpuFault } from '../src/gpu/faults';
import { openNodeGpu } from '../src/gpu/node';
import { matmul } from '../src/kernels/matmul';

describe('GPU failures', () => {
  it('parses the test hook and refuses anything else', () => {
    expect(parseGpuFault('lose-device@12')).toEqual({ kind: 'lose-device', afterDispatches: 12 });
    expect(parseGpuFault(' out-of-memory@3 ')).toEqual({ kind: 'out-of-memory', atAllocation: 3 });
    for (const bad of ['', 'lose-device', 'lose-device@0', 'out-of-memory@-1', 'explode@3', 'lose-device@1.5']) {
      expect(() => parseGpuFault(bad)).toThrow(/is not a fault/);
    }
  });

  it('catches a failed allocation in its error scope and names its size', async () => {
    const gpu = await openNodeGpu();
    try {
      const failures: Error[] = [];
      const allocator = new GuardedAllocator(gpu.device, new FaultInjector(), (e) => failures.push(e), () => 3 * 2 ** 20);
      const size = gpu.limits.maxBufferSize + 256;
      allocator.create({ size, usage: GPUBufferUsage.STORAGE }, 'a storage buffer').destroy();
      await allocator.settled();
      expect(failures).toHaveLength(1);
      // Dawn reports an over-limit size as a validation error, not out of memory.
      expect(failures[0]!.name).toBe('GpuValidationError');
      expect(failures[0]!.message).toContain(`Allocating ${(size / 2 ** 20).toFixed(1)} MiB for a storage buffer failed`);
      expect(failures[0]!.message).toMatch(/Lower the calibration samples or the window length \(seqlen\), or use a smaller model/);
      // The device itself is unharmed: the scope caught the error.
      const t = gpu.upload(new Float32Array([1, 2, 3]));
      expect(Array.from(await gpu.read(t))).toEqual([1, 2, 3]);
    } finally {
      gpu.destroy();
    }
  });

  it('reports a forced out-of-memory allocation at the next sync, and keeps reporting it', async () => {
    const gpu = await openNodeGpu();
    try {
      gpu.faults.arm({ kind: 'out-of-memory', atAllocation: 2 });
      gpu.tensor([64]);
      gpu.tensor([1 << 18]);
      const error = await gpu.sync().then(() => null, (e: unknown) => e as Error);
      expect(error?.name).toBe('GpuOutOfMemoryError');
      expect(error?.message).toMatch(/^The GPU ran out of memory allocating 1\.0 MiB for a storage buffer with 256 bytes in use \(forced by the test hook, out-of-memory@2\)\. Lower the calibration samples/);
      expect(() => gpu.tensor([4])).toThrow(/ran out of memory/);
    } finally {
      gpu.destroy();
    }
  });

  it('loses the device mid-batch on the test hook; a reopened device computes again', async () => {
    const gpu = await openNodeGpu();
    const n = 16;
    const a = gpu.upload(new Float32Array(n * n).fill(1));
    const c = gpu.zeros([n, n]);
    gpu.faults.arm({ kind: 'lose-device', afterDispatches: 3 });
    const run = async () => {
      for (let i = 0; i < 6; i++) matmul(gpu, a, a, c, { M: n, N: n, K: n, beta: 1 });
      return gpu.read(c);
    };
    const error = await run().then(() => null, (e: unknown) => e as Error);
    expect(error?.name).toBe('GpuDeviceLostError');
    expect(error?.message).toBe(
      'The GPU device was lost (destroyed by the test hook, lose-device@3). The loaded model and finished results are kept; run it again to continue on a new device.',
    );
    await expect(gpu.sync()).rejects.toThrow(/device was lost/);
    gpu.destroy();

    const fresh = await openNodeGpu();
    try {
      const b = fresh.upload(new Float32Array(n * n).fill(1));
      const d = fresh.zeros([n, n]);
      matmul(fresh, b, b, d, { M: n, N: n, K: n });
      expect((await fresh.read(d))[0]).toBe(n);
    } finally {
      fresh.destroy();
    }
  });
});
