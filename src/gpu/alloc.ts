/**
 * Every buffer the runtime creates is created inside error scopes for out-of-memory and
 * validation, so that a failed allocation is known as such (its size, what it was for, how much
 * was in use) instead of surfacing later as an unexplained uncaptured error. The scopes resolve
 * asynchronously: the runtime awaits `settled()` in sync and readback, and reports the failure there.
 */
import { GpuOutOfMemoryError, GpuValidationError } from './errors';
import { describeGpuFault, type FaultInjector } from './faults';

function mib(bytes: number): string {
  if (bytes < 1024) return `${bytes} bytes`;
  return bytes < 2 ** 20 ? `${(bytes / 1024).toFixed(1)} KiB` : `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

/** What the person can lower; the same advice wherever memory runs out. */
export const LOWER = 'Lower the calibration samples or the window length (seqlen), or use a smaller model';
export const LOWER_MEMORY = `${LOWER}; the loaded model and finished results are kept`;

export class GuardedAllocator {
  private readonly pending = new Set<Promise<void>>();

  /**
   * @param onFailure told of a failed allocation (the runtime keeps it as the device's failure).
   * @param inUse bytes of storage buffers in use, for the message.
   */
  constructor(
    private readonly device: GPUDevice,
    private readonly faults: FaultInjector,
    private readonly onFailure: (error: Error) => void,
    private readonly inUse: () => number,
  ) {}

  create(descriptor: GPUBufferDescriptor, purpose: string): GPUBuffer {
    const forced = this.faults.allocating();
    const device = this.device;
    device.pushErrorScope('out-of-memory');
    device.pushErrorScope('validation');
    const buffer = device.createBuffer(descriptor);
    const validation = device.popErrorScope();
    const oom = device.popErrorScope();
    const inUse = this.inUse();
    const check = Promise.all([validation, oom]).then(
      ([invalid, exhausted]) => {
        if (forced) this.onFailure(this.outOfMemory(descriptor.size, purpose, inUse, `forced by the test hook, ${describeGpuFault(forced)}`));
        else if (exhausted) this.onFailure(this.outOfMemory(descriptor.size, purpose, inUse, exhausted.message));
        else if (invalid) this.onFailure(new GpuValidationError(`Allocating ${mib(descriptor.size)} for ${purpose} failed (${invalid.message.split('\n')[0]}). ${LOWER_MEMORY}.`));
      },
      // A lost device has no scopes left to pop; the loss itself is reported.
      () => undefined,
    );
    this.pending.add(check);
    void check.finally(() => this.pending.delete(check));
    return buffer;
  }

  /** Resolves once every allocation so far has been checked. */
  async settled(): Promise<void> {
    if (this.pending.size) await Promise.all(this.pending);
  }

  private outOfMemory(size: number, purpose: string, inUse: number, why: string): GpuOutOfMemoryError {
    return new GpuOutOfMemoryError(`The GPU ran out of memory allocating ${mib(size)} for ${purpose} with ${mib(inUse)} in use (${why}). ${LOWER_MEMORY}.`);
  }
}
