/**
 * Whole-model progress and its ETA, shared by the CLI's stderr lines and the studio's job bar.
 * Layers differ in size (an MLP projection has several times a q_proj's weights) and every
 * method's work grows with the weights, so the ETA is the mean wall time per weight of the layers
 * this attempt pruned (timed from the first one's start, so that embedding the calibration and
 * replaying a resumed run's finished blocks do not count), times the weights left. Elapsed time
 * adds the time earlier attempts of the same run took (a resumed run), so it never goes back.
 */

/** A linear's size as the ETA needs it: [out, in]. */
export type LayerShape = readonly [number, number] | readonly number[];

export interface RunProgressSnapshot {
  layersDone: number;
  layerCount: number;
  /** Wall time of this run, earlier attempts included (ms). */
  elapsedMs: number;
  /** Estimated time left (ms); null until a layer of this attempt has finished. */
  etaMs: number | null;
}

const size = (shape: LayerShape) => shape[0]! * shape[1]!;

export class RunProgress {
  readonly layerCount: number;
  private layersDone: number;
  private weightsLeft: number;
  private weightsHere = 0;
  private firstStart: number | null = null;

  /**
   * @param shapes every linear of the model; @param done shapes of the layers finished before this
   * attempt; @param started when this attempt began; @param earlierMs the earlier attempts' time.
   */
  constructor(
    shapes: readonly LayerShape[],
    done: readonly LayerShape[],
    private readonly started: number,
    private readonly earlierMs = 0,
  ) {
    this.layerCount = shapes.length;
    this.layersDone = done.length;
    this.weightsLeft = shapes.reduce((a, s) => a + size(s), 0) - done.reduce((a, s) => a + size(s), 0);
  }

  /** A layer starts (the ETA's clock starts with the first). */
  layerStarted(now = performance.now()): void {
    this.firstStart ??= now;
  }

  /** A layer of `shape` finished. */
  layerFinished(shape: LayerShape, now = performance.now()): RunProgressSnapshot {
    this.layersDone++;
    this.weightsHere += size(shape);
    this.weightsLeft -= size(shape);
    return this.snapshot(now);
  }

  snapshot(now = performance.now()): RunProgressSnapshot {
    const working = now - (this.firstStart ?? this.started);
    const eta = this.weightsHere > 0 ? (this.weightsLeft > 0 ? (Math.max(0, working) / this.weightsHere) * this.weightsLeft : 0) : null;
    return { layersDone: this.layersDone, layerCount: this.layerCount, elapsedMs: this.earlierMs + Math.max(0, now - this.started), etaMs: eta };
  }
}
