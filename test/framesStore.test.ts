/** The studio's support-frame store: a new solve starts over, and an earlier run's frames never stay on screen as the live one's. */
import { describe, expect, it } from 'vitest';
import { supportFrames, useFrames } from '../src/ui/stores/frames';
import { live } from '../src/ui/stores/live';
import type { SupportFrame } from '../src/shared/telemetry';

function frame(iter: number): SupportFrame {
  return { iter, rho: 0.1, nextRho: 0.13, supportChange: iter === 0 ? null : 5, k: 6, m: 2, n: 6, rows: 2, cols: 6, cellRows: 1, cellCols: 1, kept: new Uint32Array(12) };
}

describe('support frame store', () => {
  it('collects one solve, restarts on a new frame 0, and clears when the live run moves on', () => {
    live.start('model.layers.0.mlp.up_proj', 'alps', 'layer');
    supportFrames.add('model.layers.0.mlp.up_proj', 'alps', frame(0));
    supportFrames.add('model.layers.0.mlp.up_proj', 'alps', frame(3));
    supportFrames.add('model.layers.0.mlp.up_proj', 'alps', frame(6));
    supportFrames.flushNow();
    expect(useFrames.getState().frames.map((f) => f.iter)).toEqual([0, 3, 6]);

    // A frame 0 of the same layer is a new solve.
    supportFrames.add('model.layers.0.mlp.up_proj', 'alps', frame(0));
    expect(useFrames.getState().frames.map((f) => f.iter)).toEqual([0]);

    // Another live layer (a compare run's next method, a new model's run): the frames go.
    live.start('model.layers.1.mlp.up_proj', 'wanda', 'layer');
    expect(useFrames.getState()).toMatchObject({ layer: null, frames: [] });

    // The same layer run again: the charts restart empty, and so do the frames.
    live.start('model.layers.0.mlp.up_proj', 'alps', 'layer');
    supportFrames.add('model.layers.0.mlp.up_proj', 'alps', frame(0));
    live.iteration({ iter: 1, rho: 0.1, supportChange: null, supportChangeFraction: null, relError: 0.1, primalResidual: 0.1 });
    live.flushNow();
    expect(useFrames.getState().frames).toHaveLength(1);
    live.start('model.layers.0.mlp.up_proj', 'alps', 'layer');
    expect(useFrames.getState().frames).toHaveLength(0);
  });
});
