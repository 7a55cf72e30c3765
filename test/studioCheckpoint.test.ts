/**
 * The studio's whole-model checkpoints (src/engine/runs/checkpoints.ts) on a real Dawn device with
 * the bundled model (4 blocks of 7 linears): a run stopped after two saved blocks is offered to
 * continue by a new session on the same storage (what a page reload is), the continued run solves
 * only the remaining blocks and exports the uninterrupted run's model.safetensors byte for byte;
 * a finished run removes its checkpoint; refused storage (quota) lets the run go on, with one line;
 * a damaged block starts the run over. Also how long a cancel takes to end the run.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { BUNDLED_LAYERS, bundledAssets, wholeModelCalibration, wholeModelSettings } from './helpers/bundledRun';
import { EngineSession } from '../src/engine/session';
import type { EngineEvent } from '../src/engine/types';
import { openNodeGpu } from '../src/gpu/node';
import type { Gpu } from '../src/gpu/runtime';
import { memoryKv, type KvStore } from '../src/shared/kv';

const assets = bundledAssets;
const settings = wholeModelSettings;
const calibration = wholeModelCalibration;
const LAYERS = BUNDLED_LAYERS;

const opened: Gpu[] = [];
afterAll(() => opened.forEach((gpu) => gpu.destroy()));
function session(kv: KvStore): EngineSession {
  return new EngineSession({
    openGpu: async () => {
      const gpu = await openNodeGpu();
      opened.push(gpu);
      return gpu;
    },
    assets,
    kv,
  });
}
const weightsOf = async (s: EngineSession) => (await s.exportModel('sparse')).find((f) => f.name === 'model.safetensors')!.bytes;
const checkpointKeys = (kv: KvStore) => kv.keys('').then((keys) => keys.filter((k) => k.includes('|checkpoint|')));
const of = <T extends EngineEvent['type']>(events: EngineEvent[], type: T) => events.filter((e): e is Extract<EngineEvent, { type: T }> => e.type === type);

let clean: Uint8Array;
let cleanIds: string[];

describe('studio whole-model checkpoints', () => {
  it('an uninterrupted run checkpoints every block, then removes the checkpoint', async () => {
    const kv = memoryKv();
    const s = session(kv);
    await s.loadDefault();
    const events: EngineEvent[] = [];
    const run = await s.pruneModel(settings, calibration, (e) => events.push(e));
    expect(run.report).toHaveLength(LAYERS);
    cleanIds = run.report.map((r) => r.id);
    clean = await weightsOf(s);
    const saved = of(events, 'checkpoint');
    expect(saved.map((e) => e.blocksSaved)).toEqual([1, 2, 3, 4]);
    expect(saved.every((e) => e.failure === null)).toBe(true);
    // Progress carries the clock and the ETA once a layer has finished.
    const progress = of(events, 'progress').filter((e) => e.stage === 'solving');
    expect(progress.at(-1)!.layersDone).toBe(LAYERS);
    expect(progress.at(-1)!.etaMs).toBe(0);
    expect(progress.slice(1).every((e) => e.etaMs !== undefined && e.etaMs >= 0)).toBe(true);
    expect(await checkpointKeys(kv)).toEqual([]);
    expect(await s.unfinishedModelRun()).toBeNull();
    console.log(`checkpoint: ${saved.at(-1)!.bytes} bytes for 4 blocks (${saved.at(-1)!.bytes / 4} per block)`);
  });

  it('a stopped run continues after a reload with only the remaining blocks and the same weights', async () => {
    const kv = memoryKv();
    const first = session(kv);
    await first.loadDefault();
    let cancelledAt = 0;
    const stopped = first.pruneModel(settings, calibration, (e) => {
      // Stop in the middle of block 2, after two blocks are saved.
      if (e.type === 'start' && e.layer === cleanIds[16] && !cancelledAt) {
        cancelledAt = performance.now();
        first.cancel();
      }
    });
    await expect(stopped).rejects.toThrow(/cancelled/);
    const cancelMs = performance.now() - cancelledAt;
    expect(cancelMs).toBeLessThan(2000);

    // A new session on the same storage: the page after a reload.
    const second = session(kv);
    await second.loadDefault();
    const offer = await second.unfinishedModelRun();
    expect(offer).toMatchObject({ blocksDone: 2, blocks: 4, layersDone: 14, layerCount: LAYERS, settings, calibration: { ...calibration, textSource: 'default' } });
    expect(offer!.ms).toBeGreaterThan(0);
    const events: EngineEvent[] = [];
    const run = await second.continueModelRun((e) => events.push(e));
    const starts = of(events, 'start').map((e) => e.layer);
    expect(starts).toEqual(cleanIds.slice(14));
    expect(of(events, 'layerDone').map((e) => e.result.id)).toEqual(cleanIds);
    // The clock goes on from the stopped run's time.
    const progress = of(events, 'progress').filter((e) => e.stage === 'solving');
    expect(progress[0]!.earlierMs).toBe(offer!.ms);
    expect(progress[0]!.blocksDone).toBe(2);
    expect(run.ms).toBeGreaterThan(offer!.ms);
    expect(run.report.map((r) => r.id)).toEqual(cleanIds);
    expect(Buffer.compare(await weightsOf(second), clean)).toBe(0);
    expect(await checkpointKeys(kv)).toEqual([]);
    console.log(`cancel in block 2 ended the run in ${cancelMs.toFixed(0)} ms; continued after a reload: ${starts.length} of ${LAYERS} layers solved, model.safetensors equal`);
  });

  it('cancel is answered at once, even mid-step; the next run waits for the cancelled one and is the uninterrupted run', async () => {
    const s = session(memoryKv());
    await s.loadDefault();
    // Cancelled while the calibration windows go through the model (no check runs inside a forward pass).
    const stopped = s.pruneModel(settings, calibration, () => undefined);
    await new Promise((r) => setTimeout(r, 30));
    const t = performance.now();
    s.cancel();
    await expect(stopped).rejects.toThrow(/cancelled/);
    const replyMs = performance.now() - t;
    expect(replyMs).toBeLessThan(2000);
    // Started at once: it runs after the cancelled run's leftover GPU work, never beside it.
    const run = await s.pruneModel(settings, calibration, () => undefined);
    expect(run.report.map((r) => r.id)).toEqual(cleanIds);
    expect(Buffer.compare(await weightsOf(s), clean)).toBe(0);
    console.log(`cancel during calibration answered in ${replyMs.toFixed(1)} ms`);
  });

  it('storage that refuses the blocks: the run goes on without checkpoints and says so once', async () => {
    const base = memoryKv();
    const full: KvStore = {
      ...base,
      put: (key, value) => (value instanceof Uint8Array ? Promise.reject(new DOMException('The quota has been exceeded.', 'QuotaExceededError')) : base.put(key, value)),
    };
    const s = session(full);
    await s.loadDefault();
    const events: EngineEvent[] = [];
    await s.pruneModel(settings, calibration, (e) => events.push(e));
    const notes = of(events, 'checkpoint');
    expect(notes).toHaveLength(1);
    expect(notes[0]!.failure).toBe(
      'The finished blocks could not be saved in this browser: the storage quota is full. The run goes on without checkpoints, so a reload would start it over; free space (Download tab: forget stored results) to keep them.',
    );
    expect(Buffer.compare(await weightsOf(s), clean)).toBe(0);
  });

  it('a damaged saved block: the run starts over and says why', async () => {
    const kv = memoryKv();
    const first = session(kv);
    await first.loadDefault();
    const stopped = first.pruneModel(settings, calibration, (e) => {
      if (e.type === 'checkpoint' && e.blocksSaved === 1) first.cancel();
    });
    await expect(stopped).rejects.toThrow(/cancelled/);
    const [blockKey] = (await checkpointKeys(kv)).filter((k) => k.endsWith('.safetensors'));
    const bytes = (await kv.get<Uint8Array>(blockKey!))!.slice();
    bytes[bytes.length - 1] ^= 1;
    await kv.put(blockKey!, bytes);
    const second = session(kv);
    await second.loadDefault();
    expect((await second.unfinishedModelRun())?.blocksDone).toBe(1);
    const events: EngineEvent[] = [];
    await second.continueModelRun((e) => events.push(e));
    expect(of(events, 'checkpoint')[0]!.failure).toBe('The saved blocks of the stopped run could not be used (block-0000.safetensors is damaged (its size or SHA-256 differs from the manifest)); the run starts over.');
    expect(of(events, 'start')).toHaveLength(LAYERS);
    expect(Buffer.compare(await weightsOf(second), clean)).toBe(0);
  });
});
