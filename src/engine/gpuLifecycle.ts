/**
 * The engine's one GPU device: opened on first use, and dropped after a device loss or a GPU error
 * (the device is unusable then), so that the next run opens a fresh one.
 */
import { GpuDeviceLostError, GpuOutOfMemoryError, GpuValidationError } from '../gpu/errors';
import type { Gpu } from '../gpu/runtime';
import type { AdapterSummary } from './types';

/** Whether `error` leaves the device unusable (lost, out of memory, a GPU error): a fresh one is needed. */
export function deviceUnusable(error: unknown): boolean {
  return error instanceof GpuDeviceLostError || error instanceof GpuOutOfMemoryError || error instanceof GpuValidationError;
}

export class GpuLifecycle {
  private gpu: Gpu | null = null;
  private opening: Promise<Gpu> | null = null;

  /**
   * @param open opens a device (the worker passes navigator.gpu through openGpu).
   * @param onDrop told when the device is dropped: what lives on it (cached problems) goes too.
   */
  constructor(
    private readonly open: () => Promise<Gpu>,
    private readonly onDrop: () => void = () => undefined,
  ) {}

  async get(): Promise<Gpu> {
    // Lost (or failed) while idle, between runs: open a fresh device rather than fail the next run.
    if (this.gpu?.failed) this.dropAfter(this.gpu.failed);
    if (this.gpu) return this.gpu;
    // Concurrent first calls share one open rather than racing two devices.
    this.opening ??= this.open().finally(() => (this.opening = null));
    this.gpu = await this.opening;
    return this.gpu;
  }

  async adapter(): Promise<AdapterSummary> {
    const gpu = await this.get();
    const { vendor, architecture, description } = gpu.adapter;
    return { vendor, architecture, description, swiftshader: gpu.isSwiftShader };
  }

  /** Drops the device if `error` says it is unusable; any other error leaves it as it is. */
  dropAfter(error: unknown): void {
    if (!deviceUnusable(error) || !this.gpu) return;
    try {
      this.gpu.destroy();
    } catch {
      // Already lost.
    }
    this.gpu = null;
    this.onDrop();
  }
}
