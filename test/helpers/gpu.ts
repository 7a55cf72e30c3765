import { afterAll } from 'vitest';
import { openNodeGpu } from '../../src/gpu/node';
import type { Gpu } from '../../src/gpu/runtime';

let shared: Promise<Gpu> | undefined;

/** One Dawn device per test file (SwiftShader here, a real adapter where there is one). */
export function testGpu(): Promise<Gpu> {
  if (!shared) {
    shared = openNodeGpu();
    afterAll(async () => {
      const gpu = await shared;
      gpu?.destroy();
      shared = undefined;
    });
  }
  return shared;
}
