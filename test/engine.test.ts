/**
 * The engine session without a GPU: job control (pause, resume, cancel as one object), one GPU job
 * at a time, a cancelled run failing as CancelledError, and a model loaded from files with its
 * summary and restored runs. Runs that need the device are covered by the e2e suite.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Assets } from '../src/engine/assets';
import { DEFAULT_MODEL_FILES } from '../src/engine/assets';
import { JobControl } from '../src/engine/jobControl';
import { BusyError, EngineSession } from '../src/engine/session';
import type { Gpu } from '../src/gpu/runtime';
import { DEFAULT_ALPS } from '../src/shared/methods';
import { memoryKv } from '../src/shared/kv';

const FOLDER = join(import.meta.dirname, '..', 'public', 'default-model');

const assets: Assets = {
  file: async (name) => new File([readFileSync(join(FOLDER, name))], name),
  text: async (name) => readFileSync(join(FOLDER, name), 'utf8'),
};

describe('job control', () => {
  it('pauses at the gate, resumes, and wakes a paused job on cancel', async () => {
    const seen: boolean[] = [];
    const job = new JobControl((paused) => seen.push(paused));
    await job.gate();
    job.pause();
    let passed = false;
    const waiting = job.gate().then(() => (passed = true));
    await Promise.resolve();
    expect(passed).toBe(false);
    job.resume();
    await waiting;
    expect(passed).toBe(true);
    job.pause();
    const woken = job.between();
    job.cancel();
    await expect(woken).rejects.toMatchObject({ name: 'CancelledError' });
    expect(job.signal.aborted).toBe(true);
    expect(seen).toEqual([true, false, true, false]);
    // A cancelled job cannot be paused again.
    job.pause();
    expect(job.paused).toBe(false);
  });
});

describe('engine session', () => {
  it('loads a model folder, runs one GPU job at a time and reports a cancelled run as cancelled', async () => {
    let failOpen: (error: Error) => void = () => undefined;
    const openGpu = () => new Promise<Gpu>((_, reject) => (failOpen = reject));
    const session = new EngineSession({ openGpu, assets, kv: memoryKv() });
    const summary = await session.loadDefault();
    expect(summary.name).toBe('default-model');
    expect(summary.linears.length).toBeGreaterThan(0);
    expect(summary.restoredPruned).toBe(false);

    const layer = summary.linears[0].id;
    const settings = { method: 'magnitude' as const, pattern: { kind: 'unstructured' as const, sparsity: 0.5 }, alps: DEFAULT_ALPS };
    const calibration = { nsamples: 2, seqlen: 16, seed: 0 };
    const events: string[] = [];
    const first = session.pruneLayer(layer, settings, calibration, (e) => events.push(e.type));
    await expect(session.pruneModel(settings, calibration, () => undefined)).rejects.toBeInstanceOf(BusyError);
    await expect(session.loadDefault()).rejects.toBeInstanceOf(BusyError);
    expect(session.pause()).toEqual({ paused: true });
    expect(session.cancel()).toEqual({ cancelled: true });
    // Whatever the run then fails with, a cancelled run is reported as cancelled.
    failOpen(new Error('device gone'));
    await expect(first).rejects.toMatchObject({ name: 'CancelledError' });
    expect(events).toEqual(['paused', 'paused']);
    expect(session.cancel()).toEqual({ cancelled: false });
    await expect(session.exportModel('sparse')).rejects.toThrow('no pruned model yet');
  });

  it('names what a model lacks before opening the GPU', async () => {
    const session = new EngineSession({ openGpu: () => Promise.reject(new Error('unused')), assets, kv: memoryKv() });
    const settings = { method: 'magnitude' as const, pattern: { kind: 'unstructured' as const, sparsity: 0.5 }, alps: DEFAULT_ALPS };
    await expect(session.pruneModel(settings, { nsamples: 1, seqlen: 8, seed: 0 }, () => undefined)).rejects.toMatchObject({ name: 'ModelFolderError' });
    expect(DEFAULT_MODEL_FILES).toContain('model.safetensors');
  });
});
