/**
 * A lost and an exhausted GPU in the middle of a whole-model run, staged with the test hook
 * (src/gpu/faults.ts) on a real Dawn device: the engine session (what the studio's worker runs)
 * and the CLI each say what happened and what to do, keep the loaded model and the finished
 * layers, open a fresh device and continue — the continued run is the run that would have finished.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BUNDLED_FOLDER, BUNDLED_LAYERS, bundledAssets, wholeModelCalibration, wholeModelSettings } from './helpers/bundledRun';
import { GpuLifecycle } from '../src/engine/gpuLifecycle';
import { EngineSession } from '../src/engine/session';
import { writeLayerProblem } from '../src/formats/layerProblem';
import type { EngineEvent } from '../src/engine/types';
import { openNodeGpu } from '../src/gpu/node';
import type { Gpu } from '../src/gpu/runtime';
import { memoryKv } from '../src/shared/kv';
import { cli } from './helpers/cli';

const FOLDER = BUNDLED_FOLDER;
const assets = bundledAssets;
const settings = wholeModelSettings;
const calibration = wholeModelCalibration;
const LAYERS = BUNDLED_LAYERS;

const finished = (events: EngineEvent[]) => events.flatMap((e) => (e.type === 'layerDone' ? [e.result] : []));
const failure = (p: Promise<unknown>) => p.then(() => { throw new Error('the run should have failed'); }, (e: unknown) => e as Error);

/** Dispatches of one clean whole-model run with these settings, and its model.safetensors (the first test measures them). */
let runDispatches = 0;
let cleanWeights: Uint8Array | null = null;
let cleanPerplexity = 0;

describe('a lost GPU device in the engine session', () => {
  const opened: Gpu[] = [];
  const session = new EngineSession({
    openGpu: async () => {
      const gpu = await openNodeGpu();
      opened.push(gpu);
      return gpu;
    },
    assets,
    kv: memoryKv(),
  });
  afterAll(() => opened.forEach((gpu) => gpu.destroy()));

  it('stops with a message, keeps the model and the finished layers, and continues on a new device', async () => {
    await session.loadDefault();
    let t = performance.now();
    const clean = await session.pruneModel(settings, calibration, () => undefined);
    const cleanMs = performance.now() - t;
    runDispatches = opened[0]!.dispatchCount;
    const cleanFiles = await session.exportModel('sparse');
    cleanWeights = cleanFiles.find((f) => f.name === 'model.safetensors')!.bytes;
    expect(clean.report).toHaveLength(LAYERS);

    await session.armGpuFault({ kind: 'lose-device', afterDispatches: Math.floor(runDispatches / 2) });
    const stoppedEvents: EngineEvent[] = [];
    t = performance.now();
    const lost = await failure(session.pruneModel(settings, calibration, (e) => stoppedEvents.push(e)));
    const lostMs = performance.now() - t;
    const done = finished(stoppedEvents);
    expect(lost.name).toBe('GpuDeviceLostError');
    expect(lost.message).toBe(
      `The GPU device was lost (destroyed by the test hook, lose-device@${Math.floor(runDispatches / 2)}). ` +
        `The whole-model run stopped after ${done.length} of ${LAYERS} layers (last finished: ${done.at(-1)?.id}); the loaded model and those layers are kept: run it again with the same settings and calibration to continue from there on a new device (other settings start over).`,
    );
    expect(done.length).toBeGreaterThan(0);
    expect(done.length).toBeLessThan(LAYERS);

    // The loaded model and the last finished run are still there, without a device.
    expect(opened).toHaveLength(1);
    expect((await session.layerView(clean.report[0]!.id, 'sparsegpt', 'model')).shape).toEqual(clean.report[0]!.shape);

    const resumedEvents: EngineEvent[] = [];
    t = performance.now();
    const resumed = await session.pruneModel(settings, calibration, (e) => resumedEvents.push(e));
    const resumedMs = performance.now() - t;
    expect(opened).toHaveLength(2);
    // The finished layers come back first, then only the rest is solved.
    const starts = resumedEvents.flatMap((e) => (e.type === 'start' ? [e.layer] : []));
    expect(finished(resumedEvents).slice(0, done.length)).toEqual(done);
    expect(starts).toEqual(clean.report.slice(done.length).map((r) => r.id));
    // And the result is the uninterrupted run's, weight for weight.
    expect(resumed.report.map((r) => r.id)).toEqual(clean.report.map((r) => r.id));
    resumed.report.forEach((r, i) => expect(r.relError).toBeCloseTo(clean.report[i]!.relError, 6));
    const resumedFiles = await session.exportModel('sparse');
    const weights = (files: typeof cleanFiles) => files.find((f) => f.name === 'model.safetensors')!.bytes;
    expect(Buffer.compare(weights(resumedFiles), weights(cleanFiles))).toBe(0);
    console.log(
      `device loss: clean run ${(cleanMs / 1000).toFixed(1)} s (${runDispatches} dispatches); lost after ${done.length}/${LAYERS} layers in ${(lostMs / 1000).toFixed(1)} s; continued in ${(resumedMs / 1000).toFixed(1)} s`,
    );
  });

  it('ends an exhausted run with what to lower, keeps the model, and runs again on a new device', async () => {
    await session.armGpuFault({ kind: 'out-of-memory', atAllocation: 40 });
    const t = performance.now();
    const oom = await failure(session.pruneModel({ ...settings, method: 'wanda' }, calibration, () => undefined));
    const oomMs = performance.now() - t;
    expect(oom.name).toBe('GpuOutOfMemoryError');
    expect(oom.message).toMatch(
      /^The GPU ran out of memory allocating [\d.]+ (bytes|KiB|MiB) for [a-z ]+ with [\d.]+ (bytes|KiB|MiB) in use \(forced by the test hook, out-of-memory@40\)\. Lower the calibration samples or the window length \(seqlen\), or use a smaller model\. The whole-model run stopped after \d+ of 28 layers \(last finished: [\w.]+\); the loaded model and those layers are kept: run it again with the same settings and calibration to continue from there on a new device \(other settings start over\)\.$/,
    );
    // The model is still loaded; the next run gets a fresh device.
    const count = opened.length;
    const evaluation = await session.evaluate(undefined, 32, 64, () => undefined);
    expect(evaluation.dense).toBeGreaterThan(1);
    cleanPerplexity = evaluation.dense;
    expect(opened).toHaveLength(count + 1);
    console.log(`out of memory: failed in ${(oomMs / 1000).toFixed(1)} s: ${oom.message}`);
  });
});

describe('a device lost between runs', () => {
  it('is replaced before the next run instead of failing it', async () => {
    const opened: Gpu[] = [];
    const lifecycle = new GpuLifecycle(async () => {
      const gpu = await openNodeGpu();
      opened.push(gpu);
      return gpu;
    });
    const first = await lifecycle.get();
    // As a driver reset would: nobody in the engine destroyed it.
    first.device.destroy();
    await first.device.lost;
    expect(first.failed?.message).toMatch(/^The GPU device was lost \(device was destroyed\)\./);
    const second = await lifecycle.get();
    expect(second).not.toBe(first);
    const t = second.upload(new Float32Array([4, 5]));
    expect(Array.from(await second.read(t))).toEqual([4, 5]);
    second.destroy();
    expect(opened).toHaveLength(2);
  });
});

describe('a lost and an exhausted GPU in the CLI', () => {
  const dir = mkdtempSync(join(tmpdir(), 'prune-studio-gpu-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const prune = (out: string) => ['prune', FOLDER, '--calib', join(FOLDER, 'calibration.txt'), '--method', 'sparsegpt', '--sparsity', '0.5', '--nsamples', '2', '--seqlen', '32', '--out', out, '--json'];
  const withFault = (fault: string) => ({ ...process.env, PRUNE_STUDIO_TEST_GPU_FAULT: fault });

  it('prune reopens a lost device and continues after the finished layers', async () => {
    expect(runDispatches).toBeGreaterThan(0);
    const out = join(dir, 'lost');
    const t = performance.now();
    const run = await cli(prune(out), 120_000, undefined, withFault(`lose-device@${Math.floor(runDispatches / 2)}`));
    const ms = performance.now() - t;
    expect(run.code, run.stderr).toBe(0);
    const lines = run.stderr.trim().split('\n');
    expect(lines).toContain(`prune-studio: test hook PRUNE_STUDIO_TEST_GPU_FAULT=lose-device@${Math.floor(runDispatches / 2)} is armed on this device`);
    const notice = lines.find((l) => l.startsWith('prune: The GPU device was lost'));
    expect(notice).toBe(`prune: The GPU device was lost (destroyed by the test hook, lose-device@${Math.floor(runDispatches / 2)}). Opening a new GPU device, continuing after 14 of ${LAYERS} finished layers.`);
    // Every layer is solved, and the 14 finished before the loss are not solved again.
    const solved = lines.flatMap((l) => /^layer (\d+) of 28 /.exec(l)?.[1] ?? []).map(Number);
    expect(new Set(solved).size).toBe(LAYERS);
    expect(solved.filter((n) => n <= 14)).toHaveLength(14);
    const report = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as { layers: unknown[] };
    expect(report.layers).toHaveLength(LAYERS);
    // The same windows as the session's run: the continued CLI run wrote the uninterrupted model.
    expect(Buffer.compare(readFileSync(join(out, 'model.safetensors')), cleanWeights!)).toBe(0);
    console.log(`CLI prune with a lost device: ${(ms / 1000).toFixed(1)} s`);
  });

  it('prune out of memory: one line that names the flags to lower, nothing written', async () => {
    const out = join(dir, 'oom');
    const run = await cli(prune(out), 120_000, undefined, withFault('out-of-memory@40'));
    expect(run.code).toBe(1);
    const last = run.stderr.trim().split('\n').at(-1)!;
    expect(last).toMatch(
      /^prune-studio: error: The GPU ran out of memory allocating [\d.]+ (bytes|KiB|MiB) for [a-z ]+ with [\d.]+ (bytes|KiB|MiB) in use \(forced by the test hook, out-of-memory@40\)\. Lower --nsamples or --seqlen, or prune a smaller model; nothing was written\.$/,
    );
    expect(existsSync(out)).toBe(false);
    console.log(`CLI prune out of memory: ${last}`);
  });

  it('structured prune and prune-layer reopen a lost device and start their work again', async () => {
    const out = join(dir, 'spap');
    const spap = ['prune', FOLDER, '--calib', join(FOLDER, 'calibration.txt'), '--method', 'spap', '--sparsity', '0.25', '--selection', 'weight-norm', '--nsamples', '2', '--seqlen', '32', '--out', out, '--json'];
    const structured = await cli(spap, 120_000, undefined, withFault('lose-device@50'));
    expect(structured.code, structured.stderr).toBe(0);
    expect(structured.stderr).toContain('prune: The GPU device was lost (destroyed by the test hook, lose-device@50). Opening a new GPU device, selecting the channels again from the first block.');
    expect(existsSync(join(out, 'model.safetensors'))).toBe(true);

    const problem = join(dir, 'layer.safetensors');
    const n = 16;
    const weight = Float32Array.from({ length: 8 * n }, (_, i) => Math.sin(i + 1));
    const gram = new Float32Array(n * n).map((_, i) => (i % (n + 1) === 0 ? 2 : 0.1));
    writeFileSync(problem, writeLayerProblem({ m: 8, n, weight, gram, rows: 64 }));
    const layer = await cli(['prune-layer', problem, '--method', 'sparsegpt', '--sparsity', '0.5', '--json'], 60_000, undefined, withFault('lose-device@2'));
    expect(layer.code, layer.stderr).toBe(0);
    expect(layer.stderr).toContain('prune-layer: The GPU device was lost (destroyed by the test hook, lose-device@2). Opening a new GPU device, solving the layer again.');
    expect((JSON.parse(layer.stdout.trim().split('\n').at(-1)!) as { sparsity: number }).sparsity).toBeCloseTo(0.5, 6);
  });

  it('eval reopens a lost device and evaluates again', async () => {
    const run = await cli(['eval', FOLDER, '--text', join(FOLDER, 'evaluation.txt'), '--seqlen', '32', '--max-windows', '2', '--json'], 120_000, undefined, withFault('lose-device@20'));
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain('eval: The GPU device was lost (destroyed by the test hook, lose-device@20). Opening a new GPU device, evaluating again from the first window.');
    const report = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as { perplexity: number };
    expect(report.perplexity).toBeCloseTo(cleanPerplexity, 4);
  });
});
