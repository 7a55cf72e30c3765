/**
 * Test-only fault injection: lose the device after the N-th dispatch, or fail the N-th buffer
 * allocation as out of memory, so that the tests can show what a real loss or exhaustion leaves
 * behind. Nothing in the studio's UI, its URL or its settings arms it: only
 *  - the environment variable PRUNE_STUDIO_TEST_GPU_FAULT (Node: the CLI and in-process tests), and
 *  - the worker message { type: 'armGpuFault' } (src/worker/testHooks.ts), which only e2e sends.
 * A fault fires once and disarms, so the device opened after it works normally.
 */
export type GpuFault =
  /** device.destroy() right after the N-th dispatch (counted from arming): what a driver reset does to a run. */
  | { kind: 'lose-device'; afterDispatches: number }
  /** The N-th buffer allocation (counted from arming) is reported as out of memory by its error scope. */
  | { kind: 'out-of-memory'; atAllocation: number };

export const FAULT_ENV = 'PRUNE_STUDIO_TEST_GPU_FAULT';

/** Parses `lose-device@<dispatches>` or `out-of-memory@<allocation>`; throws on anything else. */
export function parseGpuFault(text: string): GpuFault {
  const match = /^(lose-device|out-of-memory)@(\d+)$/.exec(text.trim());
  const n = match ? Number(match[2]) : NaN;
  if (!match || !Number.isSafeInteger(n) || n < 1) {
    throw new Error(`${FAULT_ENV}="${text}" is not a fault: use lose-device@<dispatches> or out-of-memory@<allocation> (a test hook).`);
  }
  return match[1] === 'lose-device' ? { kind: 'lose-device', afterDispatches: n } : { kind: 'out-of-memory', atAllocation: n };
}

export function describeGpuFault(fault: GpuFault): string {
  return fault.kind === 'lose-device' ? `lose-device@${fault.afterDispatches}` : `out-of-memory@${fault.atAllocation}`;
}

/** Counts dispatches and allocations of one device against the armed fault. */
export class FaultInjector {
  private fault: GpuFault | null = null;
  private count = 0;

  arm(fault: GpuFault | null): void {
    this.fault = fault;
    this.count = 0;
  }

  get armed(): GpuFault | null {
    return this.fault;
  }

  /** The fault, once, at the dispatch after which the device is to be lost. */
  dispatched(): GpuFault | null {
    return this.tick('lose-device', this.fault?.kind === 'lose-device' ? this.fault.afterDispatches : 0);
  }

  /** The fault, once, for the allocation that is to fail. */
  allocating(): GpuFault | null {
    return this.tick('out-of-memory', this.fault?.kind === 'out-of-memory' ? this.fault.atAllocation : 0);
  }

  private tick(kind: GpuFault['kind'], at: number): GpuFault | null {
    const fault = this.fault;
    if (fault?.kind !== kind || ++this.count < at) return null;
    this.fault = null;
    return fault;
  }
}
