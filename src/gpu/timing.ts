/**
 * GPU time of compute passes from timestamp queries: each pass opened while timing writes a begin
 * and an end stamp; every submit resolves its stamps into a readback buffer, summed when mapped.
 */
const TIMESTAMP_SLOTS = 256;

export class PassTimer {
  private querySet: GPUQuerySet | null = null;
  private queryCount = 0;
  private enabled = false;
  private totalNs = 0;
  private pending: Promise<void>[] = [];

  constructor(
    private readonly device: GPUDevice,
    readonly available: boolean,
  ) {}

  get active(): boolean {
    return this.enabled && this.available;
  }

  /** Whether opening one more timed pass needs a submit first (all query slots are used). */
  get full(): boolean {
    return this.queryCount + 2 > TIMESTAMP_SLOTS;
  }

  /** The timestamp writes of a new pass, or undefined when not timing. */
  passWrites(): GPUComputePassTimestampWrites | undefined {
    if (!this.active) return undefined;
    this.querySet ??= this.device.createQuerySet({ type: 'timestamp', count: TIMESTAMP_SLOTS });
    const writes = { querySet: this.querySet, beginningOfPassWriteIndex: this.queryCount, endOfPassWriteIndex: this.queryCount + 1 };
    this.queryCount += 2;
    return writes;
  }

  /** Records the resolve of this submit's stamps into `encoder`; call `submitted` after the submit. */
  resolve(encoder: GPUCommandEncoder): (() => void) | null {
    if (this.queryCount === 0 || !this.querySet) return null;
    const count = this.queryCount;
    const bytes = count * 8;
    const resolve = this.device.createBuffer({ size: bytes, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
    const readback = this.device.createBuffer({ size: bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    encoder.resolveQuerySet(this.querySet, 0, count, resolve, 0);
    encoder.copyBufferToBuffer(resolve, 0, readback, 0, bytes);
    this.queryCount = 0;
    return () => {
      // Only after the submit: a buffer destroyed before it fails the submit.
      resolve.destroy();
      this.pending.push(
        readback.mapAsync(GPUMapMode.READ).then(() => {
          const ticks = new BigInt64Array(readback.getMappedRange());
          for (let i = 0; i < count; i += 2) {
            const dt = Number(ticks[i + 1] - ticks[i]);
            if (dt > 0) this.totalNs += dt;
          }
          readback.destroy();
        }),
      );
    };
  }

  start(): void {
    this.enabled = true;
    this.totalNs = 0;
  }

  /** Stops timing; resolves to the summed pass time in ms (null without timestamp queries). */
  async stop(): Promise<number | null> {
    this.enabled = false;
    await Promise.all(this.pending);
    this.pending = [];
    return this.available ? this.totalNs / 1e6 : null;
  }

  destroy(): void {
    this.querySet?.destroy();
  }
}
