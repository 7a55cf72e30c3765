/**
 * The CLI's GPU device for one run: opened, handed to the run, destroyed afterwards. When the
 * device is lost mid-run, a fresh one is opened and the run is called again (at most twice); a run
 * that keeps its finished work outside (prune's finished layers) continues where it stopped.
 */
import { GpuDeviceLostError } from '../../gpu/errors';
import type { Gpu } from '../../gpu/runtime';
import { oneLine } from '../errors';
import type { CliContext } from './types';

const REOPENS = 2;

export interface DeviceRun<T> {
  /** Prefix of the progress lines, e.g. "prune". */
  command: string;
  /** Told of every device opened (the first, and each reopened one). */
  onOpen?: (gpu: Gpu) => void;
  /** What the next attempt does after a loss, e.g. "continuing after 12 of 28 layers". */
  resumeNote: () => string;
  run: (gpu: Gpu) => Promise<T>;
}

export async function onDevice<T>(ctx: CliContext, o: DeviceRun<T>): Promise<T> {
  const { openNodeGpu } = await import('../../gpu/node');
  for (let attempt = 0; ; attempt++) {
    const gpu = await openNodeGpu();
    o.onOpen?.(gpu);
    try {
      return await o.run(gpu);
    } catch (error) {
      if (!(error instanceof GpuDeviceLostError) || attempt >= REOPENS || ctx.signal.aborted) throw error;
      // Shown even with --quiet: the run's device changed under it. The error's own advice ("run it
      // again") is the studio's; here the run goes on by itself, so only what happened is said.
      const what = oneLine(error).split(/(?<=\))\. /)[0];
      ctx.stderr(`${o.command}: ${what}. Opening a new GPU device, ${o.resumeNote()}.\n`);
    } finally {
      gpu.destroy();
    }
  }
}
