/**
 * A device's fatal failure, as the error a person can act on: its loss, an uncaptured GPU error,
 * or a failed allocation (alloc.ts). A loss outranks running out of memory, which outranks a
 * validation error: once the device is gone, that is what every later call should say.
 */
import { LOWER_MEMORY } from './alloc';
import { GpuDeviceLostError, GpuOutOfMemoryError, GpuValidationError } from './errors';

/** The studio's advice after a loss (the CLI says its own, src/cli/errors.ts). */
export const KEPT = 'The loaded model and finished results are kept; run it again to continue on a new device';

function rank(error: Error): number {
  return error instanceof GpuDeviceLostError ? 3 : error instanceof GpuOutOfMemoryError ? 2 : 1;
}

export function deviceLost(reason: string): GpuDeviceLostError {
  return new GpuDeviceLostError(`The GPU device was lost (${reason}). ${KEPT}.`);
}

export class DeviceFailure {
  error: Error | null = null;

  /** @param closing whether the runtime destroyed the device itself (then its loss is no failure). */
  constructor(device: GPUDevice, closing: () => boolean) {
    device.lost.then((info) => {
      if (!closing()) this.set(deviceLost(info.message || info.reason || 'no reason given'));
    });
    device.addEventListener('uncapturederror', (event) => {
      const error = (event as GPUUncapturedErrorEvent).error;
      const isOom = typeof GPUOutOfMemoryError !== 'undefined' && error instanceof GPUOutOfMemoryError;
      this.set(
        isOom
          ? new GpuOutOfMemoryError(`The GPU ran out of memory (${error.message.split('\n')[0]}). ${LOWER_MEMORY}.`)
          : new GpuValidationError(`GPU error: ${error.message}`),
      );
    });
  }

  set(error: Error): void {
    if (!this.error || rank(error) > rank(this.error)) this.error = error;
  }
}
