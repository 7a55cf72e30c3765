/**
 * Whole-model progress on stderr: after each finished layer, the layers done of all, the time
 * elapsed, and an ETA (the logic is src/shared/eta.ts, which the studio's job bar shares).
 */
import type { OpenedModel } from '../../model/loader';
import { RunProgress } from '../../shared/eta';
import type { LayerOutcome } from '../../shared/outcome';
import { seconds } from './eval';

export class ModelProgress {
  private readonly progress: RunProgress;

  /** `done`: layers finished before this process started (a resumed run); `started`: when this process's run began. */
  constructor(model: OpenedModel, done: readonly LayerOutcome[], started: number) {
    const shapes = model.arch.blocks.flatMap((b) => b.linears.map((l) => [l.out, l.in] as const));
    this.progress = new RunProgress(shapes, done.map((r) => r.shape), started);
  }

  /** A layer starts (the ETA's clock starts with the first). */
  layerStarted(now = performance.now()): void {
    this.progress.layerStarted(now);
  }

  /** The line for a layer just finished. */
  finished(outcome: LayerOutcome, now = performance.now()): string {
    const p = this.progress.layerFinished(outcome.shape, now);
    return `  ${p.layersDone} of ${p.layerCount} layers done, ${seconds(p.elapsedMs)} elapsed, ETA ${seconds(p.etaMs ?? 0)}\n`;
  }
}
