/** What a layer list shows beside a linear's name: a fused matrix's parts, a sliding-window block. */
import type { LinearSummary } from '../../worker/protocol';

/** "q 2048 | k 512 | v 512" for a fused linear; null for a plain one. */
export function fusedParts(l: Pick<LinearSummary, 'parts'>): string | null {
  return l.parts ? l.parts.map((p) => `${p.name} ${p.rows}`).join(' | ') : null;
}

/** A mark stays on one line beside the name rather than breaking inside "q 2048 | k 512". */
const NO_WRAP = { whiteSpace: 'nowrap' } as const;

/** Marks of one linear: its fused parts (one stored matrix, pruned as one) and its block's sliding window. */
export function LinearMarks({ linear }: { linear: Pick<LinearSummary, 'parts' | 'slidingWindow'> | undefined }) {
  if (!linear) return null;
  const parts = fusedParts(linear);
  return (
    <>
      {parts ? (
        <span className="muted small" style={NO_WRAP} data-testid="fused-parts" title="One stored matrix with these rows, pruned as one layer (its parts read the same input).">
          {' '}
          fused: {parts}
        </span>
      ) : null}
      {linear.slidingWindow !== null ? (
        <span className="muted small" style={NO_WRAP} data-testid="sliding-window" title="This block attends only to the last tokens of its window (a sliding-window layer).">
          {' '}
          sliding window: {linear.slidingWindow.toLocaleString()} tokens
        </span>
      ) : null}
    </>
  );
}
