/**
 * Pause and cancel of one run, as one object: solvers, the block driver, perplexity and generation
 * take a `RunControl` and call `checkpoint(control)` between iterations, layers and windows. The
 * studio's JobControl implements it; the CLI's is `cancelOnly(signal)` (Ctrl-C).
 */

/** A run stopped because the person asked it to. */
export class CancelledError extends Error {
  override name = 'CancelledError';
  constructor(message = 'The run was cancelled.') {
    super(message);
  }
}

export interface RunControl {
  /** Aborted once the run is cancelled. */
  readonly signal: AbortSignal;
  /** Resolves at once while running; while paused, once the run is resumed or cancelled. */
  gate(): Promise<void>;
}

/** Waits while the run is paused, then throws CancelledError if it was cancelled. */
export async function checkpoint(control: RunControl | undefined): Promise<void> {
  if (!control) return;
  await control.gate();
  throwIfCancelled(control);
}

/** Throws CancelledError if the run was cancelled (no waiting: for places that cannot pause). */
export function throwIfCancelled(control: RunControl | undefined): void {
  if (control?.signal.aborted) throw new CancelledError();
}

/** A control that can be cancelled through `signal` and never pauses. */
export function cancelOnly(signal: AbortSignal): RunControl {
  return { signal, gate: () => Promise.resolve() };
}
