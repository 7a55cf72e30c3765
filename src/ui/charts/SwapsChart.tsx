/** The swap refinement after a method: the layer's relative error against the swaps made so far. */
import type { SwapRound } from '../../shared/telemetry';
import { line, pointsOf } from './ChartGrid';
import { LogLineChart } from './LogLineChart';

interface Props {
  rounds: readonly SwapRound[];
  /** The method's own error, before any swap (drawn as a reference line when known). */
  before?: number;
  testId: string;
  height?: number;
}

export function SwapsChart({ rounds, before, testId, height = 210 }: Props) {
  return (
    <LogLineChart
      testId={testId}
      title="Swap refinement: relative error against swaps made"
      data={pointsOf(rounds, (r) => r.swaps, { relError: (r) => r.relError })}
      series={line('relError', 'relative error after the round', '#dc2626')}
      refLines={before === undefined ? [] : [{ y: before, label: 'the method alone', color: '#6b7280' }]}
      xLabel="swaps made (all rows)"
      yLabel="‖X(W−W₀)ᵀ‖² / ‖XW₀ᵀ‖²"
      height={height}
      caption="Each swap prunes one kept weight and restores one pruned weight in the same row, and is made only when it lowers the layer's error; one point per round. The refit on the final support comes after the last round."
      emptyText="Waiting for the first round of swaps…"
    />
  );
}
