/**
 * Pause and cancel of one running job, as one object: it is the RunControl the solvers, the block
 * driver, perplexity and generation check between iterations, layers and windows; the session's
 * pause/resume/cancel requests act on it. A cancelled job is woken from a pause, so it can notice.
 */
import { checkpoint, throwIfCancelled, type RunControl } from '../shared/control';

export class JobControl implements RunControl {
  private readonly abort = new AbortController();
  private released: (() => void) | null = null;
  private waiting: Promise<void> = Promise.resolve();
  private isPaused = false;
  /** Time spent paused so far (ms), and when the current pause began. */
  private pausedTotal = 0;
  private pausedSince = 0;

  /** Aborted when the job is cancelled. */
  readonly signal: AbortSignal = this.abort.signal;

  /**
   * @param onPause told every time the paused state changes (the session forwards it as an event).
   */
  constructor(private readonly onPause: (paused: boolean) => void = () => undefined) {}

  /** Resolves at once while running; while paused, when the job is resumed or cancelled. */
  readonly gate = (): Promise<void> => (this.isPaused ? this.waiting : Promise.resolve());

  get paused(): boolean {
    return this.isPaused;
  }

  get cancelled(): boolean {
    return this.signal.aborted;
  }

  /** Milliseconds this job has spent paused, the current pause included: run and layer times leave it out. */
  get pausedMs(): number {
    return this.pausedTotal + (this.isPaused ? performance.now() - this.pausedSince : 0);
  }

  pause(): void {
    if (this.isPaused || this.cancelled) return;
    this.isPaused = true;
    this.pausedSince = performance.now();
    this.waiting = new Promise((resolve) => (this.released = resolve));
    this.onPause(true);
  }

  resume(): void {
    if (!this.isPaused) return;
    this.pausedTotal += performance.now() - this.pausedSince;
    this.isPaused = false;
    this.released?.();
    this.released = null;
    this.onPause(false);
  }

  cancel(): void {
    this.abort.abort();
    this.resume();
  }

  /** Throws when cancelled: checked between the steps of a run that no solver watches. */
  check(): void {
    throwIfCancelled(this);
  }

  /** The pause point and cancellation check between two steps. */
  between(): Promise<void> {
    return checkpoint(this);
  }
}
