/**
 * The support frames of the single-layer ALPS run that is live (src/solvers/supportFrames.ts): one
 * per ρ update, buffered and committed at most ~10 times a second like the other live telemetry.
 * A frame 0 (the starting support) begins a new solve; a different live layer or method, or a
 * new run's empty charts, clears them, so an earlier run's frames never play as this one's.
 */
import { create } from 'zustand';
import type { Method } from '../../shared/methods';
import type { SupportFrame } from '../../shared/telemetry';
import { FLUSH_MS, useLive } from './live';

export interface FramesState {
  layer: string | null;
  method: Method | null;
  frames: SupportFrame[];
}

const EMPTY: FramesState = { layer: null, method: null, frames: [] };

export const useFrames = create<FramesState>(() => EMPTY);

let pending: SupportFrame[] = [];
let timer: ReturnType<typeof setTimeout> | null = null;

function flush(): void {
  timer = null;
  if (!pending.length) return;
  const frames = [...useFrames.getState().frames, ...pending];
  pending = [];
  useFrames.setState({ frames });
}

function clear(): void {
  if (timer) clearTimeout(timer);
  timer = null;
  pending = [];
  useFrames.setState(EMPTY);
}

export const supportFrames = {
  add(layer: string, method: Method, frame: SupportFrame): void {
    const s = useFrames.getState();
    if (frame.iter === 0 || s.layer !== layer || s.method !== method) {
      clear();
      useFrames.setState({ layer, method, frames: [frame] });
      return;
    }
    pending.push(frame);
    timer ??= setTimeout(flush, FLUSH_MS);
  },
  flushNow(): void {
    if (timer) clearTimeout(timer);
    flush();
  },
  clear,
};

// The live store is the source of truth of what is on screen: follow it.
useLive.subscribe((now, before) => {
  const s = useFrames.getState();
  if (s.layer === null) return;
  const restarted = now.iterations.length === 0 && before.iterations.length > 0;
  if (restarted || now.layer !== s.layer || now.method !== s.method || now.run !== 'layer') clear();
});
