import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openGpu } from './device';
import { GpuUnavailableError } from './errors';
import { FAULT_ENV, parseGpuFault } from './faults';
import type { Gpu } from './runtime';

/** Vulkan ICD manifests of SwiftShader, the CPU implementation that ships with Chromium. */
const SWIFTSHADER_ICDS = [
  '/usr/lib/chromium/vk_swiftshader_icd.json',
  '/usr/lib/chromium-browser/vk_swiftshader_icd.json',
  '/opt/google/chrome/vk_swiftshader_icd.json',
];

type DawnModule = { create: (flags: string[]) => GPU; globals: Record<string, unknown> };

let dawn: DawnModule | undefined;
/** The test hook's fault (faults.ts) arms only the first device a process opens: the reopened one works. */
let envFaultUsed = false;
/** Dawn's GPU objects must stay referenced while a device lives; released in closeNodeGpu. */
const instances = new Set<GPU>();

function hasGpuDeviceNode(): boolean {
  if (process.platform !== 'linux') return true;
  try {
    if (readdirSync('/dev/dri').some((name) => name.startsWith('renderD') || name.startsWith('card'))) return true;
  } catch {
    // no /dev/dri
  }
  return existsSync('/dev/nvidia0') || existsSync('/dev/nvidiactl') || existsSync('/dev/kfd');
}

async function loadDawn(): Promise<DawnModule> {
  if (!dawn) {
    dawn = (await import('webgpu')) as unknown as DawnModule;
    Object.assign(globalThis, dawn.globals);
  }
  return dawn;
}

/**
 * A device in Node through Dawn. When no adapter answers and the person set no Vulkan ICD, we
 * point the Vulkan loader at SwiftShader ourselves, so the tool works on a GPU-less machine.
 */
export async function openNodeGpu(): Promise<Gpu> {
  process.env.XDG_RUNTIME_DIR ??= mkdtempSync(join(tmpdir(), 'prune-studio-'));
  // With no GPU device node at all there is no hardware adapter to find: go straight to
  // SwiftShader rather than let Dawn probe (and loudly reject) Mesa's lavapipe first.
  if (!process.env.VK_ICD_FILENAMES && !hasGpuDeviceNode()) {
    const icd = SWIFTSHADER_ICDS.find((path) => existsSync(path));
    if (icd) process.env.VK_ICD_FILENAMES = icd;
  }
  const { create } = await loadDawn();
  let gpu = create([]);
  let adapter = await gpu.requestAdapter();
  if (!adapter && !process.env.VK_ICD_FILENAMES) {
    const icd = SWIFTSHADER_ICDS.find((path) => existsSync(path));
    if (icd) {
      process.env.VK_ICD_FILENAMES = icd;
      gpu = create([]);
      adapter = await gpu.requestAdapter();
    }
  }
  if (!adapter) {
    throw new GpuUnavailableError(
      'No WebGPU adapter in Node. Install a Vulkan driver for your GPU, or on a GPU-less Debian machine `apt-get install chromium libvulkan1` (SwiftShader), or set VK_ICD_FILENAMES.',
    );
  }
  instances.add(gpu);
  const opened = await openGpu(gpu).catch((error: unknown) => {
    instances.delete(gpu);
    throw error;
  });
  opened.onDestroy(() => instances.delete(gpu));
  const fault = process.env[FAULT_ENV];
  if (fault && !envFaultUsed) {
    envFaultUsed = true;
    opened.faults.arm(parseGpuFault(fault));
    // Never silent: whoever sees this line knows the run's failure is staged.
    process.stderr.write(`prune-studio: test hook ${FAULT_ENV}=${fault} is armed on this device\n`);
  }
  return opened;
}
