/** SPAP's penalty path for one block: relaxed objective, channels changing, ρ and the mass left on the removed channels, per step. */
import type { SpapStep } from '../../shared/telemetry';
import { ChartGrid, countCaption, line, pointsOf } from './ChartGrid';

interface Props {
  steps: SpapStep[];
  height?: number;
  /** Prefix of the charts' test ids ("spap-live" or "spap-block"). */
  idPrefix: string;
  /** Said while no step has arrived. */
  waiting?: string;
}

const STEP = 'penalty step';

export function SpapCharts({ steps, height = 200, idPrefix, waiting = 'Waiting for the first penalty step…' }: Props) {
  const at = (s: SpapStep) => s.step;
  const zeroMass = steps.filter((s) => s.penaltyMass <= 0).length;
  return (
    <ChartGrid
      idPrefix={idPrefix}
      height={height}
      emptyText={waiting}
      charts={[
        { id: 'error', title: 'Objective: relaxed solution with the chosen channels zeroed', xLabel: STEP, yLabel: '‖X(W−W₀)ᵀ‖² / ‖XW₀ᵀ‖²', data: pointsOf(steps, at, { relError: (s) => s.relError }), series: line('relError', 'relative error', '#0f766e'), caption: 'Before the final refit of down_proj on the kept channels.' },
        { id: 'changed', title: 'Channels changing status per step', xLabel: STEP, yLabel: 'channels (count)', data: pointsOf(steps, at, { changed: (s) => s.changed }), series: line('changed', 'channels changed', '#d97706'), log: false, yFormat: (v) => String(Math.round(v)), caption: 'The path stops once the choice has been stable for a few steps.' },
        { id: 'rho', title: 'Penalty ρ', xLabel: STEP, yLabel: 'ρ (penalty, unitless)', data: pointsOf(steps, at, { rho: (s) => s.rho }), series: line('rho', 'ρ', '#059669') },
        { id: 'mass', title: 'Weight energy left on the removed channels', xLabel: STEP, yLabel: 'share of ‖B‖² (ratio)', data: pointsOf(steps, at, { mass: (s) => s.penaltyMass }), series: line('mass', 'share of ‖B‖²', '#9333ea'), caption: countCaption(zeroMass, 'step', 'at exactly 0 (not drawn on the log axis).') ?? 'The relaxation is integral in effect once this is small.' },
      ]}
    />
  );
}
