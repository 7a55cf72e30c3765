/**
 * Whole-model progress on stderr: after each finished layer, the layers done of all, the time
 * elapsed, and an ETA. Layers differ in size (an MLP projection has several times a q_proj's
 * weights) and every method's work grows with the weights, so the ETA is the mean wall time per
 * weight of the layers this process pruned (timed from the first one's start, so that embedding the
 * calibration and replaying a resumed run's finished blocks do not count), times the weights left.
 */
import type { OpenedModel } from '../../model/loader';
import type { LayerOutcome } from '../../shared/outcome';
import { seconds } from './eval';

export class ModelProgress {
  private readonly layerCount: number;
  private layersDone: number;
  private weightsLeft: number;
  private weightsHere = 0;
  private firstStart: number | null = null;

  /** `done`: layers finished before this process started (a resumed run); `started`: when this process's run began. */
  constructor(
    model: OpenedModel,
    done: readonly LayerOutcome[],
    private readonly started: number,
  ) {
    const linears = model.arch.blocks.flatMap((b) => b.linears);
    this.layerCount = linears.length;
    this.layersDone = done.length;
    const size = (shape: readonly number[]) => shape[0]! * shape[1]!;
    this.weightsLeft = linears.reduce((a, l) => a + l.out * l.in, 0) - done.reduce((a, r) => a + size(r.shape), 0);
  }

  /** A layer starts (the ETA's clock starts with the first). */
  layerStarted(now = performance.now()): void {
    this.firstStart ??= now;
  }

  /** The line for a layer just finished. */
  finished(outcome: LayerOutcome, now = performance.now()): string {
    const weights = outcome.shape[0] * outcome.shape[1];
    this.layersDone++;
    this.weightsHere += weights;
    this.weightsLeft -= weights;
    const elapsed = now - this.started;
    const working = now - (this.firstStart ?? this.started);
    const eta = this.weightsLeft > 0 ? (working / this.weightsHere) * this.weightsLeft : 0;
    return `  ${this.layersDone} of ${this.layerCount} layers done, ${seconds(elapsed)} elapsed, ETA ${seconds(eta)}\n`;
  }
}
