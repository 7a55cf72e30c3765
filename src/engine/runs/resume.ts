/**
 * A whole-model run that a lost or exhausted GPU stopped: its finished layers (weights and
 * outcomes), kept for the loaded model so that the same run, asked for again with the same
 * settings and calibration, continues after the last finished layer on a fresh device instead of
 * starting over. Layers are pruned in order and each sees the model as pruned before it, so the
 * continued run is the run that would have finished.
 */
import { LOWER, LOWER_MEMORY } from '../../gpu/alloc';
import { KEPT } from '../../gpu/failure';
import type { WeightTable } from '../../formats/weightTable';
import type { LayerOutcome } from '../../shared/outcome';
import type { CalibrationSettings, PruneSettings } from '../types';

export interface FinishedLayers {
  weights: WeightTable;
  report: LayerOutcome[];
  /** Time the stopped attempts took, added to the finished run's. */
  ms: number;
}

export class UnfinishedRun {
  private kept: { key: string; layers: FinishedLayers } | null = null;

  static key(settings: PruneSettings, cal: CalibrationSettings): string {
    return JSON.stringify({ settings, cal: [cal.text ?? null, cal.nsamples, cal.seqlen, cal.seed] });
  }

  /** The finished layers of a stopped run with this key (handed over: kept no longer), or a fresh start in `fresh`. */
  take(key: string, fresh: WeightTable): FinishedLayers {
    const kept = this.kept?.key === key ? this.kept.layers : null;
    this.kept = null;
    return kept ?? { weights: fresh, report: [], ms: 0 };
  }

  keep(key: string, layers: FinishedLayers): void {
    this.kept = layers.report.length ? { key, layers } : null;
  }

  /** How many layers a stopped run has finished (0 when none is kept). */
  get finished(): number {
    return this.kept?.layers.report.length ?? 0;
  }

  /** A new model (or forgotten results): nothing to continue. */
  clear(): void {
    this.kept = null;
  }
}

/** The same error class, its generic advice after a loss replaced by what the stopped run kept and how to continue it. */
export function withResumeNote(error: Error, done: number, total: number, last: string): Error {
  // The note says what is kept, and how to continue: the errors' generic advice would repeat it.
  const what = error.message.replace(` ${KEPT}.`, '').replace(LOWER_MEMORY, LOWER).trim();
  const note = ` The whole-model run stopped after ${done} of ${total} layers (last finished: ${last}); the loaded model and those layers are kept: run it again with the same settings and calibration to continue from there on a new device (other settings start over).`;
  const Kind = error.constructor as new (message: string) => Error;
  const next = new Kind(`${what}${note}`);
  next.name = error.name;
  return next;
}
