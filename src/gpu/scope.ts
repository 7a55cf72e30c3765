/**
 * A GPU scope (arena): the tensors one computation allocates, disposed together when it ends,
 * whether it returns or throws. Replaces hand-kept `owned[]` lists and their `finally` loops.
 */
import type { DType, Gpu, GpuTensor } from './runtime';

export class GpuScope {
  private owned = new Set<GpuTensor>();

  constructor(readonly gpu: Gpu) {}

  /** Puts an existing tensor under this scope. */
  keep<T extends GpuTensor>(tensor: T): T {
    this.owned.add(tensor);
    return tensor;
  }

  tensor(shape: readonly number[], dtype: DType = 'f32'): GpuTensor {
    return this.keep(this.gpu.tensor(shape, dtype));
  }

  zeros(shape: readonly number[], dtype: DType = 'f32'): GpuTensor {
    return this.keep(this.gpu.zeros(shape, dtype));
  }

  upload(data: Float32Array | Uint32Array | Int32Array, shape?: readonly number[]): GpuTensor {
    return this.keep(this.gpu.upload(data, shape));
  }

  /** Frees one tensor before the scope ends. */
  release(tensor: GpuTensor): void {
    if (this.owned.delete(tensor)) tensor.dispose();
  }

  /** Hands a tensor out of the scope: the caller now owns it. */
  detach<T extends GpuTensor>(tensor: T): T {
    this.owned.delete(tensor);
    return tensor;
  }

  dispose(): void {
    for (const t of this.owned) t.dispose();
    this.owned.clear();
  }
}

/** Runs `body` with a fresh scope and disposes every tensor it kept, except those it detached. */
export async function withScope<T>(gpu: Gpu, body: (scope: GpuScope) => Promise<T> | T): Promise<T> {
  const scope = new GpuScope(gpu);
  try {
    return await body(scope);
  } finally {
    scope.dispose();
  }
}
