/** The four ALPS convergence charts: error, support change, ρ per iteration; PCG residual per step. */
import type { AlpsIteration, PcgStep } from '../../solvers/types';
import { LogLineChart, type Point } from './LogLineChart';

interface Props {
  iterations: AlpsIteration[];
  pcg: PcgStep[];
  height?: number;
  /** Prefix of the charts' test ids ("live" or "layer"). */
  idPrefix: string;
}

export function ConvergenceCharts({ iterations, pcg, height = 210, idPrefix }: Props) {
  const errors: Point[] = iterations.map((it) => ({ x: it.iter, relError: it.relError }));
  const checks = iterations.filter((it) => it.supportChangeFraction !== null);
  const support: Point[] = checks.map((it) => ({ x: it.iter, change: it.supportChangeFraction }));
  const zeroChecks = checks.filter((it) => it.supportChangeFraction === 0).length;
  const rho: Point[] = iterations.map((it) => ({ x: it.iter, rho: it.rho }));
  const pcgData: Point[] = pcg.map((p) => ({ x: p.step, residual: p.residual, relError: p.relError }));
  const restarts = iterations.filter((it) => it.restarted).length;
  const waiting = 'Waiting for ALPS iterations…';
  return (
    <div className="chart-grid">
      <LogLineChart
        testId={`${idPrefix}-error-chart`}
        title="Relative reconstruction error of P_k(B)"
        data={errors}
        series={[{ key: 'relError', name: 'relative error', color: '#2563eb' }]}
        xLabel="ADMM iteration"
        yLabel="‖X(W−W₀)ᵀ‖² / ‖XW₀ᵀ‖²"
        height={height}
        emptyText={waiting}
        caption={restarts ? `${restarts} restart${restarts > 1 ? 's' : ''} from the dense weights (ρ lowered before any increase).` : undefined}
      />
      <LogLineChart
        testId={`${idPrefix}-support-chart`}
        title="Support change per ρ update"
        data={support}
        series={[{ key: 'change', name: 'changed entries / k', color: '#d97706' }]}
        xLabel="ADMM iteration"
        yLabel="changed / k (fraction)"
        height={height}
        emptyText={waiting}
        caption={zeroChecks ? `${zeroChecks} check${zeroChecks > 1 ? 's' : ''} with no change (not drawn on the log axis).` : undefined}
      />
      <LogLineChart
        testId={`${idPrefix}-rho-chart`}
        title="Penalty ρ"
        data={rho}
        series={[{ key: 'rho', name: 'ρ', color: '#059669' }]}
        xLabel="ADMM iteration"
        yLabel="ρ (penalty, unitless)"
        height={height}
        emptyText={waiting}
      />
      <LogLineChart
        testId={`${idPrefix}-pcg-chart`}
        title="PCG refit on the fixed support"
        data={pcgData}
        series={[
          { key: 'residual', name: 'max column residual / ‖Y_j‖', color: '#9333ea' },
          { key: 'relError', name: 'relative error', color: '#2563eb', dashed: true },
        ]}
        xLabel="PCG step"
        yLabel="residual, error (ratio)"
        height={height}
        emptyText="The PCG refit runs after the ADMM iterations."
      />
    </div>
  );
}
