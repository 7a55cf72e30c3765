/** SPAP's penalty path for one block: relaxed objective, channels changing, ρ and the mass left on the removed channels, per step. */
import type { SpapStep } from '../../solvers/spap';
import { LogLineChart, type Point } from './LogLineChart';

interface Props {
  steps: SpapStep[];
  height?: number;
  /** Prefix of the charts' test ids ("spap-live" or "spap-block"). */
  idPrefix: string;
  /** Said while no step has arrived. */
  waiting?: string;
}

export function SpapCharts({ steps, height = 200, idPrefix, waiting = 'Waiting for the first penalty step…' }: Props) {
  const errors: Point[] = steps.map((s) => ({ x: s.step, relError: s.relError }));
  const changed: Point[] = steps.map((s) => ({ x: s.step, changed: s.changed }));
  const rho: Point[] = steps.map((s) => ({ x: s.step, rho: s.rho }));
  const mass: Point[] = steps.map((s) => ({ x: s.step, mass: s.penaltyMass }));
  const zeroMass = steps.filter((s) => s.penaltyMass <= 0).length;
  return (
    <div className="chart-grid">
      <LogLineChart
        testId={`${idPrefix}-error-chart`}
        title="Objective: relaxed solution with the chosen channels zeroed"
        data={errors}
        series={[{ key: 'relError', name: 'relative error', color: '#0f766e' }]}
        xLabel="penalty step"
        yLabel="‖X(W−W₀)ᵀ‖² / ‖XW₀ᵀ‖²"
        height={height}
        emptyText={waiting}
        caption="Before the final refit of down_proj on the kept channels."
      />
      <LogLineChart
        testId={`${idPrefix}-changed-chart`}
        title="Channels changing status per step"
        data={changed}
        series={[{ key: 'changed', name: 'channels changed', color: '#d97706' }]}
        xLabel="penalty step"
        yLabel="channels (count)"
        log={false}
        yFormat={(v) => String(Math.round(v))}
        height={height}
        emptyText={waiting}
        caption="The path stops once the choice has been stable for a few steps."
      />
      <LogLineChart
        testId={`${idPrefix}-rho-chart`}
        title="Penalty ρ"
        data={rho}
        series={[{ key: 'rho', name: 'ρ', color: '#059669' }]}
        xLabel="penalty step"
        yLabel="ρ (penalty, unitless)"
        height={height}
        emptyText={waiting}
      />
      <LogLineChart
        testId={`${idPrefix}-mass-chart`}
        title="Weight energy left on the removed channels"
        data={mass}
        series={[{ key: 'mass', name: 'share of ‖B‖²', color: '#9333ea' }]}
        xLabel="penalty step"
        yLabel="share of ‖B‖² (ratio)"
        height={height}
        emptyText={waiting}
        caption={zeroMass ? `${zeroMass} step${zeroMass > 1 ? 's' : ''} at exactly 0 (not drawn on the log axis).` : 'The relaxation is integral in effect once this is small.'}
      />
    </div>
  );
}
