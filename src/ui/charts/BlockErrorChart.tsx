/** down_proj's refit error per block of a structured run (bars grow as blocks finish), like the per-layer chart of sparse runs. */
import type { BlockChannelReport } from '../../shared/channels';
import { methodColor } from '../../shared/methods';
import { formatSci } from '../format';
import { xAxisLabel } from './axes';
import { LogBarChart, type BarRow } from './LogBarChart';

interface Props {
  blocks: BlockChannelReport[];
  total: number;
  title: string;
  onSelect?: (block: BlockChannelReport) => void;
}

export function BlockErrorChart({ blocks, total, title, onSelect }: Props) {
  // Every block has its slot from the start, so the bars fill in left to right as blocks finish.
  const byBlock = new Map(blocks.map((b) => [b.block, b]));
  const rows: BarRow<BlockChannelReport>[] = Array.from({ length: Math.max(total, blocks.length) }, (_, i) => {
    const b = byBlock.get(i) ?? null;
    return { label: `block ${i}`, value: b ? Math.max(b.relError, 1e-12) : null, color: methodColor('spap'), item: b };
  });
  return (
    <LogBarChart
      testId="block-error-chart"
      title={
        <>
          {title} <span className="muted">({blocks.length} of {total} blocks)</span>
        </>
      }
      rows={rows}
      points={blocks.length}
      name="refit error"
      emptyText="The first block is being calibrated and its channels chosen…"
      layout={{ height: 230, emptyHeight: 220, top: 8, bottom: 22 }}
      xAxis={{ tick: { fontSize: 11 }, label: xAxisLabel('block (pruning order)') }}
      tooltip={(r) => `${formatSci(r.value ?? NaN, 4)}${r.item?.channels ? ` (${r.item.kept.length} of ${r.item.channels} channels kept)` : ''}`}
      maxBarSize={56}
      onSelect={onSelect}
      caption="‖X(W−W₀)ᵀ‖² / ‖XW₀ᵀ‖² of down_proj after the exact refit on the kept channels; later blocks see the already pruned ones' outputs."
    />
  );
}
