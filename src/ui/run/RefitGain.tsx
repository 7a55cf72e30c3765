/** ALPS's final PCG refit on the fixed support, as the end card and the layer view show it. */
import { formatChange } from '../format';
import type { LayerOutcome } from '../../shared/outcome';

/** The PCG refit's effect: before → after with the digits that tell them apart, and the change. */
export function RefitGain({ outcome }: { outcome: LayerOutcome }) {
  const { before, after, change } = formatChange(outcome.relErrorBeforeRefit, outcome.relError);
  return (
    <span data-testid="refit-gain" data-before={outcome.relErrorBeforeRefit} data-after={outcome.relError}>
      {before} → {after} <span className="muted">({change})</span>
    </span>
  );
}
