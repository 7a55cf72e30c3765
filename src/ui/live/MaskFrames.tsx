/**
 * "See the support converge": the live single-layer ALPS run's support, one frame per ρ update,
 * as a small picture (each pixel one weight, or one cell of weights for a big layer) with a player:
 * play/pause, a scrubber, and what changed in the frame shown. While the run streams frames and
 * nobody has scrubbed, the newest frame is shown.
 */
import { useEffect, useRef, useState } from 'react';
import { formatSci } from '../format';
import { Help } from '../help/Help';
import { useFrames } from '../stores/frames';
import { useLive } from '../stores/live';
import type { SupportFrame } from '../../shared/telemetry';

/** Frames per second of playback: slow enough to follow the flips by eye. */
const PLAY_FPS = 6;
/** The picture's longest side on screen, in CSS pixels. */
const PICTURE_PX = 360;
const KEPT: readonly [number, number, number] = [31, 59, 115];
const PRUNED: readonly [number, number, number] = [236, 239, 244];
const FLIPPED: readonly [number, number, number] = [242, 142, 43];

/** Cell (r, c)'s weight count: cells of the last row and column may be cut short by the shape. */
function cellSize(f: SupportFrame, cell: number): number {
  const r = Math.floor(cell / f.cols);
  const c = cell % f.cols;
  return (Math.min(f.m, (r + 1) * f.cellRows) - r * f.cellRows) * (Math.min(f.n, (c + 1) * f.cellCols) - c * f.cellCols);
}

function draw(canvas: HTMLCanvasElement, frame: SupportFrame, previous: SupportFrame | undefined): number {
  canvas.width = frame.cols;
  canvas.height = frame.rows;
  const ctx = canvas.getContext('2d');
  const image = ctx?.createImageData(frame.cols, frame.rows);
  let changedCells = 0;
  for (let cell = 0; cell < frame.rows * frame.cols; cell++) {
    const share = frame.kept[cell] / cellSize(frame, cell);
    const flipped = previous !== undefined && previous.kept[cell] !== frame.kept[cell];
    if (flipped) changedCells++;
    if (!image) continue;
    for (let ch = 0; ch < 3; ch++) image.data[4 * cell + ch] = flipped ? FLIPPED[ch] : Math.round(PRUNED[ch] + share * (KEPT[ch] - PRUNED[ch]));
    image.data[4 * cell + 3] = 255;
  }
  if (ctx && image) ctx.putImageData(image, 0, 0);
  return changedCells;
}

export function MaskFrames() {
  const { frames, layer, method } = useFrames();
  const liveLayer = useLive((s) => s.layer);
  const liveMethod = useLive((s) => s.method);
  const liveRun = useLive((s) => s.run);
  const canvas = useRef<HTMLCanvasElement>(null);
  /** null: follow the newest frame; else the frame picked by the scrubber or the player. */
  const [picked, setPicked] = useState<number | null>(null);
  const [playing, setPlaying] = useState(false);
  const [changedCells, setChangedCells] = useState(0);
  const visible = frames.length > 0 && liveRun === 'layer' && liveLayer === layer && liveMethod === method;
  const index = picked === null ? frames.length - 1 : Math.min(picked, frames.length - 1);
  const frame = frames[index];

  // A new solve starts over: follow it.
  useEffect(() => {
    if (frames.length <= 1) {
      setPicked(null);
      setPlaying(false);
    }
  }, [frames.length]);

  // Playback steps through the frames there are; frames streaming in meanwhile are played too.
  useEffect(() => {
    if (!playing) return;
    if (index >= frames.length - 1) {
      setPlaying(false);
      return;
    }
    const id = setTimeout(() => setPicked(index + 1), 1000 / PLAY_FPS);
    return () => clearTimeout(id);
  }, [playing, index, frames.length]);

  useEffect(() => {
    if (visible && frame && canvas.current) setChangedCells(draw(canvas.current, frame, frames[index - 1]));
  }, [visible, frame, frames, index]);

  if (!visible || !frame) return null;
  // The layer's own aspect: a cell of cellRows × cellCols weights is drawn that shape.
  const scale = PICTURE_PX / Math.max(frame.m, frame.n);
  const cells = frame.cellRows * frame.cellCols > 1;
  const togglePlay = () => {
    if (!playing && index >= frames.length - 1) setPicked(0);
    else if (!playing) setPicked(index);
    setPlaying(!playing);
  };
  return (
    <section className="panel" data-testid="mask-frames">
      <header className="panel-header">
        <h3>The support as ADMM settles it <Help topic="chart-mask" /></h3>
        <span className="muted" data-testid="mask-frame-count">
          frame {index + 1} of {frames.length}
        </span>
      </header>
      <p className="muted small">
        Each {cells ? `pixel is a block of ${frame.cellRows} × ${frame.cellCols} weights, shaded by the share kept` : 'pixel is one weight'} of this{' '}
        {frame.m} × {frame.n} layer: dark = kept, light = pruned, orange = changed since the previous frame. The support is the set of kept
        weights. ADMM picks it again at every iteration: the k = {frame.k.toLocaleString()} largest entries of B + V/ρ (largest within each group for an N:M pattern); each frame is one update
        of ρ, the penalty that pulls B towards its pruned copy D. As ρ grows, fewer weights flip, until the support settles.
      </p>
      <canvas
        ref={canvas}
        data-testid="mask-frame-canvas"
        aria-label={`Support of the layer at iteration ${frame.iter}`}
        style={{ width: Math.max(1, Math.round(frame.n * scale)), maxWidth: '100%', height: 'auto', aspectRatio: `${frame.n} / ${frame.m}`, imageRendering: 'pixelated', border: '1px solid #ccd' }}
      />
      <div className="inline-form">
        <button type="button" className="button" data-testid="mask-frame-play" onClick={togglePlay} disabled={frames.length < 2}>
          {playing ? 'Pause' : 'Play'}
        </button>
        <input
          type="range"
          aria-label="Frame"
          data-testid="mask-frame-scrub"
          min={0}
          max={frames.length - 1}
          value={index}
          onChange={(e) => {
            setPlaying(false);
            const v = Number(e.target.value);
            setPicked(v >= frames.length - 1 ? null : v);
          }}
        />
        <button type="button" className="button" onClick={() => setPicked(null)} disabled={picked === null}>
          Newest
        </button>
      </div>
      <p className="muted small" data-testid="mask-frame-info">
        {frame.iter === 0 ? (
          <>start: the k largest weights of the dense layer (after ALPS's column scaling), ρ = {formatSci(frame.rho)}</>
        ) : (
          <>
            iteration {frame.iter} · ρ {formatSci(frame.rho)} → {formatSci(frame.nextRho)} · {frame.supportChange?.toLocaleString()} weights changed since the previous frame (
            {(((frame.supportChange ?? 0) / Math.max(frame.k, 1)) * 100).toFixed(2)} % of k){cells ? ` · ${changedCells} cells changed` : ''}
            {frame.restarted ? ' · restarted from B₀ with a smaller ρ' : ''}
          </>
        )}
      </p>
    </section>
  );
}
