/**
 * Documented fp32 (non-tensor-core) peaks of adapters a device session may meet, for the
 * benchmark's "fraction of peak" column. Figures are the vendors' datasheet numbers (boost clock,
 * FMA counted as 2 FLOPs); an adapter whose name matches none of them gets no fraction ("n/a"),
 * never a guess. CPU adapters (SwiftShader) have none: their peak depends on the host's cores.
 */
import type { AdapterDescription } from '../src/gpu/runtime';

/** [pattern on "vendor architecture description", fp32 GFLOP/s, what it is]; the first match wins. */
const PEAKS: [RegExp, number, string][] = [
  [/H200.*NVL/i, 60_000, 'NVIDIA H200 NVL datasheet, 60 TFLOP/s fp32'],
  [/H200/i, 67_000, 'NVIDIA H200 SXM datasheet, 67 TFLOP/s fp32'],
  [/H100.*PCIe/i, 51_200, 'NVIDIA H100 PCIe datasheet, 51 TFLOP/s fp32'],
  [/H100/i, 67_000, 'NVIDIA H100 SXM datasheet, 67 TFLOP/s fp32'],
  [/A100/i, 19_500, 'NVIDIA A100 datasheet, 19.5 TFLOP/s fp32'],
  [/L40S/i, 91_600, 'NVIDIA L40S datasheet, 91.6 TFLOP/s fp32'],
  [/\bL4\b/i, 30_300, 'NVIDIA L4 datasheet, 30.3 TFLOP/s fp32'],
  [/\bA10\b/i, 31_200, 'NVIDIA A10 datasheet, 31.2 TFLOP/s fp32'],
  [/\bT4\b/i, 8_100, 'NVIDIA T4 datasheet, 8.1 TFLOP/s fp32'],
  [/V100/i, 15_700, 'NVIDIA V100 SXM2 datasheet, 15.7 TFLOP/s fp32'],
  [/RTX 4090/i, 82_600, 'NVIDIA RTX 4090 specifications, 82.6 TFLOP/s fp32'],
  [/RTX 3090/i, 35_600, 'NVIDIA RTX 3090 specifications, 35.6 TFLOP/s fp32'],
  [/MI300X/i, 163_400, 'AMD Instinct MI300X datasheet, 163.4 TFLOP/s fp32 vector'],
];

export interface Peak {
  gflops: number;
  source: string;
}

export function fp32Peak(adapter: AdapterDescription): Peak | undefined {
  const name = `${adapter.vendor} ${adapter.architecture} ${adapter.description}`;
  if (/swiftshader|llvmpipe|lavapipe/i.test(name)) return undefined;
  const hit = PEAKS.find(([pattern]) => pattern.test(name));
  return hit && { gflops: hit[1], source: hit[2] };
}

/** "12.3 %" of the peak, or "n/a" where the adapter's peak is not documented here. */
export function fractionOfPeak(gflops: number, peak: Peak | undefined): string {
  return peak ? `${((100 * gflops) / peak.gflops).toFixed(2)} %` : 'n/a';
}
