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
  /** What the selection removes: MLP channels (default) or attention key/value groups. */
  unit?: 'channels' | 'groups';
}

const STEP = 'penalty step';

export function SpapCharts({ steps, height = 200, idPrefix, waiting = 'Waiting for the first penalty step…', unit = 'channels' }: Props) {
  const refit = unit === 'groups' ? 'Before the final refit of o_proj on the kept heads.' : 'Before the final refit of down_proj on the kept channels.';
  const Unit = unit === 'groups' ? 'Key/value groups' : 'Channels';
  const at = (s: SpapStep) => s.step;
  const zeroMass = steps.filter((s) => s.penaltyMass <= 0).length;
  return (
    <ChartGrid
      idPrefix={idPrefix}
      height={height}
      emptyText={waiting}
      charts={[
        { id: 'error', title: `Objective: relaxed solution with the chosen ${unit} zeroed`, xLabel: STEP, yLabel: '‖X(W−W₀)ᵀ‖² / ‖XW₀ᵀ‖²', data: pointsOf(steps, at, { relError: (s) => s.relError }), series: line('relError', 'relative error', '#0f766e'), caption: refit },
        { id: 'changed', title: `${Unit} changing status per step`, xLabel: STEP, yLabel: `${unit} (count)`, data: pointsOf(steps, at, { changed: (s) => s.changed }), series: line('changed', `${unit} changed`, '#d97706'), log: false, yFormat: (v) => String(Math.round(v)), caption: 'The path stops once the choice has been stable for a few steps.' },
        { id: 'rho', title: 'Penalty ρ', xLabel: STEP, yLabel: 'ρ (penalty, unitless)', data: pointsOf(steps, at, { rho: (s) => s.rho }), series: line('rho', 'ρ', '#059669') },
        { id: 'mass', title: `Weight energy left on the removed ${unit}`, xLabel: STEP, yLabel: 'share of ‖B‖² (ratio)', data: pointsOf(steps, at, { mass: (s) => s.penaltyMass }), series: line('mass', 'share of ‖B‖²', '#9333ea'), caption: countCaption(zeroMass, 'step', 'at exactly 0 (not drawn on the log axis).') ?? 'The relaxation is integral in effect once this is small.' },
      ]}
    />
  );
}
