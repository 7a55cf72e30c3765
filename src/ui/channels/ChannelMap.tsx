/**
 * Which MLP channels each block kept: one row per block, one cell per channel (or per group of
 * channels when a row is wider than the canvas), kept dark, removed orange; the channel under the
 * pointer is named below. Canvas rather than DOM cells: a 7B model has 11k channels per block.
 */
import { useEffect, useRef, useState } from 'react';
import type { BlockChannelReport } from '../../shared/channels';

interface Props {
  blocks: BlockChannelReport[];
  /** Blocks the model has (rows not yet pruned are drawn empty while a run is in progress). */
  total: number;
}

const ROW = 22;
/** Most cells a row gets; wider rows are grouped, several channels per cell. */
const MAX_COLS = 1024;
const KEPT: [number, number, number] = [51, 65, 85];
const REMOVED: [number, number, number] = [251, 146, 60];
const PENDING: [number, number, number] = [243, 244, 246];

function mix(t: number): [number, number, number] {
  return [0, 1, 2].map((i) => Math.round(REMOVED[i] + (KEPT[i] - REMOVED[i]) * t)) as [number, number, number];
}

export function ChannelMap({ blocks, total }: Props) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const [hover, setHover] = useState<string | null>(null);
  const channels = blocks[0]?.channels ?? 0;
  const cols = Math.min(channels, MAX_COLS);
  const perCell = cols ? Math.ceil(channels / cols) : 1;
  const rows = Math.max(total, blocks.length);
  const byBlock = new Map(blocks.map((b) => [b.block, b]));
  // Kept count per cell and row, shared by drawing and the readout.
  const keptPerCell = useRef<Int32Array>(new Int32Array(0));

  useEffect(() => {
    const el = canvas.current;
    const ctx = el?.getContext('2d');
    if (!el || !ctx || !cols) return;
    const counts = new Int32Array(rows * cols);
    for (const b of blocks) for (const c of b.kept) counts[b.block * cols + Math.floor(c / perCell)]++;
    keptPerCell.current = counts;
    // Each cell is drawn `scale` pixels wide so narrow rows stay crisp; rows keep a 2 px gap.
    const scale = Math.max(1, Math.floor(MAX_COLS / cols));
    el.width = cols * scale;
    el.height = rows * ROW;
    const image = ctx.createImageData(el.width, el.height);
    const finished = new Set(blocks.map((b) => b.block));
    for (let r = 0; r < rows; r++) {
      const done = finished.has(r);
      for (let c = 0; c < cols; c++) {
        const width = Math.min(perCell, channels - c * perCell);
        const color = done ? mix(counts[r * cols + c] / width) : PENDING;
        for (let y = r * ROW + 1; y < (r + 1) * ROW - 1; y++) {
          for (let x = c * scale; x < (c + 1) * scale; x++) {
            const i = 4 * (y * el.width + x);
            image.data[i] = color[0];
            image.data[i + 1] = color[1];
            image.data[i + 2] = color[2];
            image.data[i + 3] = 255;
          }
        }
      }
    }
    ctx.putImageData(image, 0, 0);
  }, [blocks, rows, cols, perCell, channels]);

  if (!channels) return <p className="muted">No block has been pruned yet.</p>;

  const onMove = (e: React.PointerEvent<HTMLCanvasElement>) => {
    const rect = e.currentTarget.getBoundingClientRect();
    const c = Math.min(cols - 1, Math.max(0, Math.floor(((e.clientX - rect.left) / rect.width) * cols)));
    const r = Math.min(rows - 1, Math.max(0, Math.floor(((e.clientY - rect.top) / rect.height) * rows)));
    const block = byBlock.get(r);
    const c0 = c * perCell;
    const c1 = Math.min(channels, c0 + perCell) - 1;
    if (!block) {
      setHover(`block ${r}: not pruned yet`);
      return;
    }
    if (c0 === c1) {
      const kept = block.kept.includes(c0);
      setHover(`block ${r} · channel ${c0}: ${kept ? 'kept' : 'removed'}`);
    } else {
      setHover(`block ${r} · channels ${c0}–${c1}: ${keptPerCell.current[r * cols + c]} of ${c1 - c0 + 1} kept`);
    }
  };

  // Quarter marks (0, n/4, n/2, 3n/4, n−1), each at the centre of its channel's cell.
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((t) => Math.min(channels - 1, Math.round(t * channels)));
  return (
    <figure className="channel-map" data-testid="channel-map" data-blocks={blocks.length} data-kept={blocks.map((b) => b.kept.length).join(',')}>
      <figcaption className="chart-title">
        MLP channels kept per block <span className="muted">({channels} channels per block{perCell > 1 ? `, ${perCell} per cell` : ''})</span>
      </figcaption>
      <div className="channel-map-grid">
        <div className="channel-map-labels" style={{ gridTemplateRows: `repeat(${rows}, ${ROW}px)` }}>
          {Array.from({ length: rows }, (_, r) => (
            <span key={r}>block {r}</span>
          ))}
        </div>
        <canvas ref={canvas} style={{ height: rows * ROW }} onPointerMove={onMove} onPointerLeave={() => setHover(null)} data-testid="channel-map-canvas" />
        <div className="channel-map-labels right" style={{ gridTemplateRows: `repeat(${rows}, ${ROW}px)` }}>
          {Array.from({ length: rows }, (_, r) => {
            const b = byBlock.get(r);
            return <span key={r}>{b ? `${b.kept.length} / ${b.channels} kept` : '…'}</span>;
          })}
        </div>
        <div />
        <div className="channel-map-ticks">
          {ticks.map((t, i) => (
            <span key={i} style={{ left: `${((t + 0.5) / channels) * 100}%` }}>
              {t}
            </span>
          ))}
        </div>
        <div />
      </div>
      <div className="axis-label channel-map-axis">MLP channel index (row of gate/up_proj, column of down_proj) →</div>
      <div className="channel-map-legend">
        <span>
          <span className="swatch" style={{ background: `rgb(${KEPT.join(',')})` }} /> kept
        </span>
        <span>
          <span className="swatch" style={{ background: `rgb(${REMOVED.join(',')})` }} /> removed
        </span>
        {blocks.length < rows ? (
          <span>
            <span className="swatch" style={{ background: `rgb(${PENDING.join(',')})` }} /> not pruned yet
          </span>
        ) : null}
      </div>
      <p className="heatmap-readout" data-testid="channel-map-readout">
        {hover ?? 'Point at the map to read a channel.'}
      </p>
    </figure>
  );
}
