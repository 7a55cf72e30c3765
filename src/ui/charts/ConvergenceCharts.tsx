/** The four ALPS convergence charts: error, support change, ρ per iteration; PCG residual per step. */
import type { AlpsIteration, PcgStep } from '../../shared/telemetry';
import { ChartGrid, countCaption, line, pointsOf } from './ChartGrid';

interface Props {
  iterations: AlpsIteration[];
  pcg: PcgStep[];
  height?: number;
  /** Prefix of the charts' test ids ("live" or "layer"). */
  idPrefix: string;
}

const ADMM = 'ADMM iteration';

export function ConvergenceCharts({ iterations, pcg, height = 210, idPrefix }: Props) {
  const iter = (it: AlpsIteration) => it.iter;
  const checks = iterations.filter((it) => it.supportChangeFraction !== null);
  const zeroChecks = checks.filter((it) => it.supportChangeFraction === 0).length;
  const restarts = iterations.filter((it) => it.restarted).length;
  return (
    <ChartGrid
      idPrefix={idPrefix}
      height={height}
      emptyText="Waiting for ALPS iterations…"
      charts={[
        { id: 'error', title: 'Relative reconstruction error of P_k(B)', xLabel: ADMM, yLabel: '‖X(W−W₀)ᵀ‖² / ‖XW₀ᵀ‖²', data: pointsOf(iterations, iter, { relError: (it) => it.relError }), series: line('relError', 'relative error', '#2563eb'), caption: countCaption(restarts, 'restart', 'from the dense weights (ρ lowered before any increase).') },
        { id: 'support', title: 'Support change per ρ update', xLabel: ADMM, yLabel: 'changed / k (fraction)', data: pointsOf(checks, iter, { change: (it) => it.supportChangeFraction }), series: line('change', 'changed entries / k', '#d97706'), caption: countCaption(zeroChecks, 'check', 'with no change (not drawn on the log axis).') },
        { id: 'rho', title: 'Penalty ρ', xLabel: ADMM, yLabel: 'ρ (penalty, unitless)', data: pointsOf(iterations, iter, { rho: (it) => it.rho }), series: line('rho', 'ρ', '#059669') },
        {
          id: 'pcg',
          title: 'PCG refit on the fixed support',
          xLabel: 'PCG step',
          yLabel: 'residual, error (ratio)',
          data: pointsOf(pcg, (p) => p.step, { residual: (p) => p.residual, relError: (p) => p.relError }),
          series: [...line('residual', 'max column residual / ‖Y_j‖', '#9333ea'), ...line('relError', 'relative error', '#2563eb', true)],
          emptyText: 'The PCG refit runs after the ADMM iterations.',
        },
      ]}
    />
  );
}
