/** What every run of the session is given: the device, the model, its job control and where events go. */
import type { Gpu } from '../../gpu/runtime';
import type { Method } from '../../shared/methods';
import type { SolverEvent } from '../../shared/telemetry';
import type { CalibrationCache } from '../calibrationCache';
import type { JobControl } from '../jobControl';
import type { LoadedModel } from '../loadedModel';
import type { SessionResults } from '../results';
import type { Emit, EngineEvent } from '../types';
import type { UnfinishedRun } from './resume';

export interface RunContext {
  gpu: Gpu;
  loaded: LoadedModel;
  /** Pause and cancel of this run. */
  job: JobControl;
  emit: Emit;
  calibration: CalibrationCache;
  results: SessionResults;
  /** The whole-model run a GPU failure stopped, to continue. */
  unfinished: UnfinishedRun;
  /** Milliseconds since the run started. */
  elapsed(): number;
}

type Progress = Omit<Extract<EngineEvent, { type: 'progress' }>, 'type' | 'elapsedMs'>;

export function progress(ctx: RunContext, p: Progress): void {
  ctx.emit({ type: 'progress', ...p, elapsedMs: ctx.elapsed() });
}

/** A solver's telemetry of `layer`, as engine events. */
export function solverEvents(emit: Emit, layer: string, method: Method): (event: SolverEvent) => void {
  return (event) => {
    if (event.type === 'iteration') emit({ type: 'iteration', layer, method, data: event.data });
    else if (event.type === 'pcg') emit({ type: 'pcg', layer, method, data: event.data });
    else if (event.type === 'swaps') emit({ type: 'swaps', layer, method, data: event.data });
    else emit({ type: 'phase', layer, method, phase: event.phase });
  };
}
