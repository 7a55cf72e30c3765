import { GuardedAllocator } from './alloc';
import { GpuDeviceLostError, GpuValidationError } from './errors';
import { DeviceFailure, deviceLost } from './failure';
import { describeGpuFault, FaultInjector } from './faults';
import { BufferPool, type PoolStats } from './pool';
import { PassTimer } from './timing';

export type DType = 'f32' | 'u32' | 'i32';

export interface AdapterDescription {
  vendor: string;
  architecture: string;
  description: string;
}

/** A dense row-major array on the GPU. Its buffer comes from, and returns to, the device's pool. */
export class GpuTensor {
  readonly size: number;
  private released = false;

  constructor(
    readonly gpu: Gpu,
    readonly buffer: GPUBuffer,
    readonly shape: readonly number[],
    readonly dtype: DType = 'f32',
  ) {
    this.size = shape.reduce((a, b) => a * b, 1);
  }

  get bytes(): number {
    return this.size * 4;
  }

  /** Returns the buffer to the pool; the tensor must not be used afterwards. */
  dispose(): void {
    if (this.released) return;
    this.released = true;
    this.gpu.release(this.buffer);
  }
}

export type Binding = GpuTensor | GPUBuffer;

/** One uniform field: WGSL u32, i32 or f32, packed in declaration order (4 bytes each). */
export type Uniform = { u32: number } | { i32: number } | { f32: number };

export interface PipelineSpec {
  /** WGSL source of one kernel family. */
  code: string;
  entryPoint: string;
  /** Values of the shader's `override` constants; each distinct set is its own cached pipeline. */
  constants?: Record<string, number>;
}

export interface DispatchSpec {
  pipeline: PipelineSpec;
  /** Uniform fields bound at @binding(0) when present; storage bindings follow in order. */
  uniforms?: Uniform[];
  bindings: Binding[];
  workgroups: [number, number?, number?];
}

const UNIFORM_ALIGN = 256;
const UNIFORM_CHUNK = 64 * 1024;
const MAX_DISPATCHES_PER_SUBMIT = 1024;

function roundUp(value: number, multiple: number): number {
  return Math.ceil(value / multiple) * multiple;
}

/**
 * The GPU runtime shared by the browser and Node: pipeline cache, buffer pool, batched command
 * encoding with a uniform ring, readback, error and device-loss handling, optional timestamps.
 * Dispatches are recorded into one compute pass and submitted together, so a solver iteration of
 * several kernels costs one submit; only `read*` and `sync` wait for the GPU.
 */
export class Gpu {
  readonly isSwiftShader: boolean;
  readonly hasTimestamps: boolean;
  private readonly pipelines = new Map<string, GPUComputePipeline>();
  private readonly modules = new Map<string, GPUShaderModule>();
  private readonly buffers: BufferPool;
  private readonly allocator: GuardedAllocator;
  private readonly failure: DeviceFailure;
  /** Test-only fault injection (faults.ts); inert unless a test arms it. */
  readonly faults = new FaultInjector();
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private dispatches = 0;
  private uniformChunks: { buffer: GPUBuffer; data: Uint8Array; used: number }[] = [];
  private destroyed = false;
  private readonly destroyCallbacks: (() => void)[] = [];
  private readonly timer: PassTimer;
  /** Dispatches recorded since creation, for benchmarks and tests of "no readback per iteration". */
  dispatchCount = 0;
  readbackCount = 0;

  constructor(
    readonly device: GPUDevice,
    readonly adapter: AdapterDescription,
  ) {
    this.isSwiftShader = /swiftshader/i.test(`${adapter.architecture} ${adapter.description} ${adapter.vendor}`);
    this.hasTimestamps = device.features.has('timestamp-query');
    // A device destroyed by anyone but destroy() below (a test hook, the browser) is a lost device.
    this.failure = new DeviceFailure(device, () => this.destroyed);
    this.allocator = new GuardedAllocator(device, this.faults, (error) => this.failure.set(error), () => this.buffers.bytesInUse);
    this.buffers = new BufferPool(device, this.allocator);
    this.timer = new PassTimer(device, this.hasTimestamps);
  }

  get limits(): GPUSupportedLimits {
    return this.device.limits;
  }

  /** Whether a kernel family should use register tiles without barriers (CPU rasterisers). */
  get prefersRegisterTiles(): boolean {
    return this.isSwiftShader;
  }

  /** The device's fatal failure (lost, out of memory, a GPU error), once there is one: a fresh device is needed. */
  get failed(): Error | null {
    return this.failure.error;
  }

  onDestroy(callback: () => void): void {
    this.destroyCallbacks.push(callback);
  }

  private check(): void {
    if (this.destroyed) throw new GpuDeviceLostError('The GPU device was closed.');
    if (this.failure.error) throw this.failure.error;
  }

  // ---------------------------------------------------------------- buffers

  /** A pooled storage buffer of at least `bytes` bytes (rounded up to a size class). */
  acquire(bytes: number): GPUBuffer {
    this.check();
    return this.buffers.acquire(bytes);
  }

  release(buffer: GPUBuffer): void {
    this.buffers.release(buffer);
  }

  /** The buffer pool's live and peak bytes (read-only). */
  get poolStats(): PoolStats {
    return this.buffers.stats;
  }

  /** Frees the pooled (unused) buffers back to the driver. */
  trimPool(): void {
    this.buffers.trim();
  }

  tensor(shape: readonly number[], dtype: DType = 'f32'): GpuTensor {
    const size = shape.reduce((a, b) => a * b, 1);
    return new GpuTensor(this, this.acquire(size * 4), shape, dtype);
  }

  zeros(shape: readonly number[], dtype: DType = 'f32'): GpuTensor {
    const t = this.tensor(shape, dtype);
    this.clear(t);
    return t;
  }

  upload(data: Float32Array | Uint32Array | Int32Array, shape: readonly number[] = [data.length]): GpuTensor {
    const dtype: DType = data instanceof Float32Array ? 'f32' : data instanceof Int32Array ? 'i32' : 'u32';
    const t = this.tensor(shape, dtype);
    this.write(t, data);
    return t;
  }

  /** Writes host data into a tensor, in order with the recorded work (flushes first). */
  write(target: Binding, data: ArrayBufferView, byteOffset = 0): void {
    this.flush();
    const buffer = target instanceof GpuTensor ? target.buffer : target;
    this.device.queue.writeBuffer(buffer, byteOffset, data.buffer, data.byteOffset, data.byteLength);
  }

  clear(target: Binding, byteOffset = 0, byteSize?: number): void {
    const buffer = target instanceof GpuTensor ? target.buffer : target;
    const size = byteSize ?? (target instanceof GpuTensor ? target.bytes : buffer.size);
    this.endPass();
    this.ensureEncoder().clearBuffer(buffer, byteOffset, roundUp(size, 4));
  }

  copy(src: Binding, dst: Binding, bytes: number, srcOffset = 0, dstOffset = 0): void {
    this.endPass();
    const s = src instanceof GpuTensor ? src.buffer : src;
    const d = dst instanceof GpuTensor ? dst.buffer : dst;
    this.ensureEncoder().copyBufferToBuffer(s, srcOffset, d, dstOffset, bytes);
  }

  // ---------------------------------------------------------------- pipelines

  pipeline(spec: PipelineSpec): GPUComputePipeline {
    const constants = spec.constants ?? {};
    const constKey = Object.keys(constants)
      .sort()
      .map((k) => `${k}=${constants[k]}`)
      .join(',');
    const key = `${spec.entryPoint}|${constKey}|${spec.code.length}|${hashString(spec.code)}`;
    let pipeline = this.pipelines.get(key);
    if (!pipeline) {
      let module = this.modules.get(spec.code);
      if (!module) {
        module = this.device.createShaderModule({ code: spec.code });
        this.modules.set(spec.code, module);
      }
      pipeline = this.device.createComputePipeline({
        layout: 'auto',
        compute: { module, entryPoint: spec.entryPoint, constants },
      });
      this.pipelines.set(key, pipeline);
    }
    return pipeline;
  }

  // ---------------------------------------------------------------- dispatch

  private ensureEncoder(): GPUCommandEncoder {
    this.encoder ??= this.device.createCommandEncoder();
    return this.encoder;
  }

  private ensurePass(): GPUComputePassEncoder {
    if (!this.pass) {
      // Out of query slots: submit what we have (its timings resolve) and start over.
      if (this.timer.active && this.timer.full) this.flush();
      const timestampWrites = this.timer.passWrites();
      this.pass = this.ensureEncoder().beginComputePass(timestampWrites ? { timestampWrites } : {});
    }
    return this.pass;
  }

  private endPass(): void {
    if (this.pass) {
      this.pass.end();
      this.pass = null;
    }
  }

  private uniformSlot(fields: Uniform[]): { buffer: GPUBuffer; offset: number; size: number } {
    const size = roundUp(fields.length * 4, 16);
    let chunk = this.uniformChunks[this.uniformChunks.length - 1];
    if (!chunk || chunk.used + size > UNIFORM_CHUNK) {
      chunk = {
        buffer: this.allocator.create({ size: UNIFORM_CHUNK, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST }, 'uniforms'),
        data: new Uint8Array(UNIFORM_CHUNK),
        used: 0,
      };
      this.uniformChunks.push(chunk);
    }
    const offset = chunk.used;
    const view = new DataView(chunk.data.buffer, offset, size);
    fields.forEach((field, i) => {
      if ('u32' in field) view.setUint32(i * 4, field.u32 >>> 0, true);
      else if ('i32' in field) view.setInt32(i * 4, field.i32 | 0, true);
      else view.setFloat32(i * 4, field.f32, true);
    });
    chunk.used = roundUp(offset + size, UNIFORM_ALIGN);
    return { buffer: chunk.buffer, offset, size };
  }

  /** Records one dispatch. Nothing runs until the batch is flushed (by a read, sync or flush). */
  dispatch(spec: DispatchSpec): void {
    this.check();
    const [x, y = 1, z = 1] = spec.workgroups;
    if (x === 0 || y === 0 || z === 0) return;
    const maxGroups = this.device.limits.maxComputeWorkgroupsPerDimension;
    if (x > maxGroups || y > maxGroups || z > maxGroups) {
      throw new GpuValidationError(`Dispatch of ${x}×${y}×${z} workgroups exceeds this GPU's limit of ${maxGroups} per dimension.`);
    }
    const pipeline = this.pipeline(spec.pipeline);
    // Open the pass first: opening it may flush (timestamp slots full), which retires the current
    // uniform chunk; the bind group below must point at the chunk that is submitted with it.
    const pass = this.ensurePass();
    const entries: GPUBindGroupEntry[] = [];
    let binding = 0;
    if (spec.uniforms) {
      const slot = this.uniformSlot(spec.uniforms);
      entries.push({ binding: binding++, resource: { buffer: slot.buffer, offset: slot.offset, size: slot.size } });
    }
    for (const b of spec.bindings) {
      entries.push({ binding: binding++, resource: { buffer: b instanceof GpuTensor ? b.buffer : b } });
    }
    const bindGroup = this.device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries });
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(x, y, z);
    this.dispatchCount++;
    const fault = this.faults.dispatched();
    if (fault) {
      this.failure.set(deviceLost(`destroyed by the test hook, ${describeGpuFault(fault)}`));
      this.device.destroy();
    }
    if (++this.dispatches >= MAX_DISPATCHES_PER_SUBMIT) this.flush();
  }

  /** Submits everything recorded so far. */
  flush(): void {
    if (!this.encoder) return;
    this.endPass();
    const encoder = this.encoder;
    const timed = this.timer.resolve(encoder);
    for (const chunk of this.uniformChunks) {
      this.device.queue.writeBuffer(chunk.buffer, 0, chunk.data.buffer, 0, chunk.used);
    }
    this.device.queue.submit([encoder.finish()]);
    for (const chunk of this.uniformChunks) chunk.buffer.destroy();
    this.uniformChunks = [];
    this.encoder = null;
    this.dispatches = 0;
    timed?.();
  }

  /** Waits until the GPU has finished all submitted work, then reports any GPU error (a failed allocation included). */
  async sync(): Promise<void> {
    this.check();
    this.flush();
    await this.whileAlive(Promise.all([this.device.queue.onSubmittedWorkDone(), this.allocator.settled()]));
    this.check();
  }

  private async whileAlive<T>(promise: Promise<T>): Promise<T> {
    const lost = this.device.lost.then(() => {
      throw this.failure.error ?? new GpuDeviceLostError('The GPU device was lost.');
    });
    try {
      return await Promise.race([promise, lost]);
    } catch (error) {
      // A mapping aborted by a loss, or of a buffer whose allocation failed, can reject before
      // device.lost or the allocation's scope settles: wait briefly for the failure that explains it.
      const explained = this.allocator.settled().then(() => (this.failure.error ? undefined : this.device.lost));
      if (!this.failure.error) await Promise.race([explained, new Promise((r) => setTimeout(r, 1000))]);
      throw this.failure.error ?? error;
    }
  }

  /** Reads `count` 4-byte elements starting at element `offset`; the only way data leaves the GPU. */
  async readRaw(src: Binding, count?: number, offset = 0): Promise<ArrayBuffer> {
    this.check();
    const buffer = src instanceof GpuTensor ? src.buffer : src;
    const elements = count ?? (src instanceof GpuTensor ? src.size : buffer.size / 4);
    const bytes = roundUp(elements * 4, 4);
    const staging = this.allocator.create({ size: Math.max(bytes, 4), usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST }, 'a readback');
    if (bytes > 0) this.copy(buffer, staging, bytes, offset * 4, 0);
    this.flush();
    this.readbackCount++;
    try {
      await this.whileAlive(Promise.all([staging.mapAsync(GPUMapMode.READ), this.allocator.settled()]));
      this.check();
      return staging.getMappedRange(0, bytes).slice(0);
    } finally {
      staging.destroy();
    }
  }

  async read(src: GpuTensor, count?: number, offset = 0): Promise<Float32Array> {
    return new Float32Array(await this.readRaw(src, count, offset));
  }

  async readU32(src: Binding, count?: number, offset = 0): Promise<Uint32Array> {
    return new Uint32Array(await this.readRaw(src, count, offset));
  }

  // ---------------------------------------------------------------- timing

  /** Starts measuring GPU time with timestamp queries (no-op where the adapter lacks them). */
  startTiming(): void {
    this.flush();
    this.timer.start();
  }

  /** Stops measuring and returns the summed GPU time of the compute passes, or null. */
  async stopTiming(): Promise<number | null> {
    await this.sync();
    return this.timer.stop();
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.buffers.destroyAll();
    this.timer.destroy();
    this.device.destroy();
    for (const cb of this.destroyCallbacks) cb();
  }
}

function hashString(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}
