/**
 * A downsampled matrix drawn on a canvas, one cell per grid entry, with the value under the pointer
 * in a tooltip at the pointer. Canvas rather than SVG: a 128×128 grid would be 16k DOM nodes.
 */
import { useEffect, useRef, useState } from 'react';
import type { LayerView } from '../../worker/protocol';

interface Props {
  title: string;
  values: Float32Array;
  /** The grid: rows × cols cells, each covering cellRows × cellCols weights of a `shape` matrix. */
  grid: Pick<LayerView, 'rows' | 'cols' | 'cellRows' | 'cellCols' | 'shape'>;
  /** Maps a value to [0, 1] for the colour ramp. */
  normalise: (v: number) => number;
  colors: (t: number) => [number, number, number];
  describe: (v: number) => string;
  legend: [string, string];
  testId: string;
}

/** A perceptually ordered ramp (dark blue → teal → yellow), close to viridis. */
export function viridis(t: number): [number, number, number] {
  const stops: [number, number, number][] = [
    [68, 1, 84],
    [59, 82, 139],
    [33, 145, 140],
    [94, 201, 98],
    [253, 231, 37],
  ];
  const x = Math.min(1, Math.max(0, t)) * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(x));
  const f = x - i;
  const [a, b] = [stops[i], stops[i + 1]];
  return [a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f, a[2] + (b[2] - a[2]) * f];
}

/** White (all pruned) → dark slate (all kept). */
export function keptRamp(t: number): [number, number, number] {
  const c = Math.min(1, Math.max(0, t));
  return [255 - c * (255 - 30), 255 - c * (255 - 41), 255 - c * (255 - 59)];
}

const MAX_PIXELS = 360;

export function Heatmap({ title, values, grid, normalise, colors, describe, legend, testId }: Props) {
  const { rows, cols, cellRows, cellCols, shape } = grid;
  const canvas = useRef<HTMLCanvasElement>(null);
  const [hover, setHover] = useState<{ text: string; x: number; y: number; flip: boolean } | null>(null);
  // Integer pixels per cell keep cells crisp; the canvas is then scaled to fit by CSS.
  const scale = Math.max(1, Math.floor(MAX_PIXELS / Math.max(rows, cols)));
  useEffect(() => {
    const ctx = canvas.current?.getContext('2d');
    if (!ctx) return;
    const image = ctx.createImageData(cols, rows);
    for (let i = 0; i < rows * cols; i++) {
      const [r, g, b] = colors(normalise(values[i]));
      image.data[4 * i] = r;
      image.data[4 * i + 1] = g;
      image.data[4 * i + 2] = b;
      image.data[4 * i + 3] = 255;
    }
    ctx.putImageData(image, 0, 0);
  }, [values, rows, cols, normalise, colors]);

  const onMove = (e: React.PointerEvent<HTMLCanvasElement>) => {
    const rect = e.currentTarget.getBoundingClientRect();
    const c = Math.min(cols - 1, Math.max(0, Math.floor(((e.clientX - rect.left) / rect.width) * cols)));
    const r = Math.min(rows - 1, Math.max(0, Math.floor(((e.clientY - rect.top) / rect.height) * rows)));
    const r0 = r * cellRows;
    const c0 = c * cellCols;
    const r1 = Math.min(shape[0], r0 + cellRows) - 1;
    const c1 = Math.min(shape[1], c0 + cellCols) - 1;
    const where = `row ${r0 === r1 ? r0 : `${r0}–${r1}`}, col ${c0 === c1 ? c0 : `${c0}–${c1}`}`;
    // Placed beside the pointer, relative to the frame; on the map's right half it opens to the left.
    const frame = e.currentTarget.parentElement!.getBoundingClientRect();
    setHover({ text: `${where}: ${describe(values[r * cols + c])}`, x: e.clientX - frame.left, y: e.clientY - frame.top, flip: e.clientX - rect.left > rect.width / 2 });
  };

  return (
    <figure className="heatmap" data-testid={testId}>
      <figcaption className="chart-title">{title}</figcaption>
      <div className="heatmap-frame" style={{ position: 'relative' }}>
        <span className="axis-label axis-label-y">output row →</span>
        <canvas
          ref={canvas}
          width={cols}
          height={rows}
          style={{ width: cols * scale, maxWidth: '100%', height: 'auto', aspectRatio: `${cols} / ${rows}` }}
          onPointerMove={onMove}
          onPointerLeave={() => setHover(null)}
        />
        {hover ? (
          <div
            className="heatmap-tooltip"
            role="tooltip"
            data-testid={`${testId}-readout`}
            style={{
              position: 'absolute',
              left: hover.x,
              top: hover.y,
              transform: `translate(${hover.flip ? 'calc(-100% - 12px)' : '12px'}, -50%)`,
              pointerEvents: 'none',
              background: 'rgba(17, 24, 39, 0.92)',
              color: '#fff',
              fontSize: 12,
              padding: '3px 7px',
              borderRadius: 4,
              whiteSpace: 'nowrap',
              zIndex: 2,
            }}
          >
            {hover.text}
          </div>
        ) : null}
      </div>
      <div className="axis-label">input column →</div>
      <div className="heatmap-legend">
        <span>{legend[0]}</span>
        <span className="heatmap-ramp" style={{ background: `linear-gradient(to right, ${[0, 0.25, 0.5, 0.75, 1].map((t) => `rgb(${colors(t).map(Math.round).join(',')})`).join(',')})` }} />
        <span>{legend[1]}</span>
      </div>
      <p className="heatmap-readout muted" data-testid={`${testId}-hint`}>
        Point at the map to read a cell ({cellRows}×{cellCols} weights each).
      </p>
    </figure>
  );
}
