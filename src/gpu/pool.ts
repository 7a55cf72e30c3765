/**
 * Pooled storage buffers: sizes rounded to classes (powers of two up to 1 MiB, then whole MiB) so
 * that the solvers' many same-shaped temporaries reuse buffers instead of reallocating them.
 */
import { LOWER_MEMORY, type GuardedAllocator } from './alloc';
import { GpuOutOfMemoryError } from './errors';

function storageUsage(): number {
  // GPUBufferUsage is a global only once a WebGPU implementation has been loaded; read it lazily.
  const usage = (globalThis as { GPUBufferUsage?: typeof GPUBufferUsage }).GPUBufferUsage;
  return usage ? usage.STORAGE | usage.COPY_SRC | usage.COPY_DST : 0x80 | 0x04 | 0x08;
}

export function sizeClass(bytes: number): number {
  if (bytes <= 1 << 20) return 2 ** Math.ceil(Math.log2(bytes));
  return Math.ceil(bytes / (1 << 20)) * (1 << 20);
}

/** Read-only counters of the pool's storage buffers (uniform and readback buffers are not pooled). */
export interface PoolStats {
  /** Bytes handed out and not yet released. */
  liveBytes: number;
  /** The most `liveBytes` has been since the pool was made. */
  peakLiveBytes: number;
  /** Bytes the pool holds from the driver: live plus pooled free buffers. */
  heldBytes: number;
  /** The most `heldBytes` has been: the pool's share of GPU memory at its peak. */
  peakHeldBytes: number;
}

export class BufferPool {
  private readonly free = new Map<number, GPUBuffer[]>();
  private readonly live = new Set<GPUBuffer>();
  // Kept as running sums so that reading them costs nothing in a benchmark's hot loop.
  private liveBytes = 0;
  private heldBytes = 0;
  private peakLive = 0;
  private peakHeld = 0;

  constructor(
    private readonly device: GPUDevice,
    private readonly allocator: GuardedAllocator,
  ) {}

  /** Bytes of the buffers handed out and not yet released. */
  get bytesInUse(): number {
    return this.liveBytes;
  }

  get stats(): PoolStats {
    return { liveBytes: this.liveBytes, peakLiveBytes: this.peakLive, heldBytes: this.heldBytes, peakHeldBytes: this.peakHeld };
  }

  /** A storage buffer of at least `bytes` bytes. */
  acquire(bytes: number): GPUBuffer {
    const size = sizeClass(Math.max(bytes, 16));
    const max = this.device.limits.maxBufferSize;
    if (size > max) {
      throw new GpuOutOfMemoryError(
        `A buffer of ${(size / 2 ** 20).toFixed(1)} MiB exceeds this GPU's largest buffer (${(max / 2 ** 20).toFixed(0)} MiB). ${LOWER_MEMORY}.`,
      );
    }
    let buffer = this.free.get(size)?.pop();
    if (!buffer) {
      buffer = this.allocator.create({ size, usage: storageUsage() }, 'a storage buffer');
      this.heldBytes += buffer.size;
      this.peakHeld = Math.max(this.peakHeld, this.heldBytes);
    }
    this.live.add(buffer);
    this.liveBytes += buffer.size;
    this.peakLive = Math.max(this.peakLive, this.liveBytes);
    return buffer;
  }

  release(buffer: GPUBuffer): void {
    if (!this.live.delete(buffer)) return;
    this.liveBytes -= buffer.size;
    const list = this.free.get(buffer.size) ?? [];
    list.push(buffer);
    this.free.set(buffer.size, list);
  }

  /** Frees the pooled (unused) buffers back to the driver. */
  trim(): void {
    for (const list of this.free.values())
      for (const b of list) {
        this.heldBytes -= b.size;
        b.destroy();
      }
    this.free.clear();
  }

  /** Frees every buffer, in use or not (the device is going away). */
  destroyAll(): void {
    for (const b of this.live) {
      this.heldBytes -= b.size;
      b.destroy();
    }
    this.live.clear();
    this.liveBytes = 0;
    this.trim();
  }
}
