import { GpuUnavailableError } from './errors';
import { Gpu } from './runtime';

/**
 * Opens a device on whatever `GPU` object the host offers (navigator.gpu in the browser, Dawn's
 * in Node). We request every limit the adapter offers: the defaults (128 MiB bindings, 16 KiB
 * workgroup memory) are far below what a real model's layers need.
 */
export async function openGpu(gpu: GPU | undefined, options: { powerPreference?: GPUPowerPreference } = {}): Promise<Gpu> {
  if (!gpu) {
    throw new GpuUnavailableError(
      'WebGPU is not available here. Use a recent Chrome or Edge; on Linux start Chrome with --enable-unsafe-webgpu (or enable chrome://flags/#enable-unsafe-webgpu).',
    );
  }
  const adapter = await gpu.requestAdapter({ powerPreference: options.powerPreference ?? 'high-performance' });
  if (!adapter) {
    throw new GpuUnavailableError(
      'No WebGPU adapter was found. Check that hardware acceleration is enabled in the browser settings, or that a Vulkan/Metal/D3D12 driver is installed.',
    );
  }
  const wanted: (keyof GPUSupportedLimits)[] = [
    'maxStorageBufferBindingSize',
    'maxBufferSize',
    'maxComputeWorkgroupStorageSize',
    'maxComputeInvocationsPerWorkgroup',
    'maxComputeWorkgroupSizeX',
    'maxComputeWorkgroupSizeY',
    'maxComputeWorkgroupsPerDimension',
    'maxStorageBuffersPerShaderStage',
  ];
  const requiredLimits: Record<string, number> = {};
  for (const name of wanted) {
    const value = adapter.limits[name];
    if (typeof value === 'number') requiredLimits[name] = value;
  }
  const requiredFeatures: GPUFeatureName[] = [];
  // Optional features kernels may use where present (matmul: subgroups, and f16 only when asked).
  for (const feature of ['timestamp-query', 'subgroups', 'shader-f16'] as GPUFeatureName[]) {
    if (adapter.features.has(feature)) requiredFeatures.push(feature);
  }
  const device = await adapter.requestDevice({ requiredLimits, requiredFeatures });
  const info = adapter.info ?? ({} as GPUAdapterInfo);
  return new Gpu(device, {
    vendor: info.vendor ?? '',
    architecture: info.architecture ?? '',
    description: info.description ?? '',
  });
}
