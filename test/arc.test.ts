/**
 * The arc of a run in the studio's stores: the job clock (from 0 per job, pauses left out, never
 * negative), the engine's paused time, close errors written so that they differ, Compare's linear
 * axis from 0, and an older whole-model run kept (with its perplexity) when a newer one replaces it.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { JobControl } from '../src/engine/jobControl';
import { linearYAxis } from '../src/ui/charts/axes';
import { formatChange } from '../src/ui/format';
import { measuredAfter, useResults } from '../src/ui/stores/results';
import { jobElapsed, useSession } from '../src/ui/stores/session';
import type { EvaluationResult, ModelRunSummary } from '../src/worker/protocol';
import type { LayerOutcome } from '../src/shared/outcome';

afterEach(() => {
  vi.useRealTimers();
  useSession.getState().endJob();
});

describe('job clock', () => {
  it('starts at 0 for each job, stands still while paused and leaves the pause out', () => {
    vi.useFakeTimers();
    vi.setSystemTime(1_000_000);
    const s = useSession.getState();
    s.startJob('pruneLayer', 'first');
    vi.advanceTimersByTime(5000);
    expect(jobElapsed(useSession.getState().job!)).toBe(5000);
    s.endJob();

    s.startJob('pruneModel', 'second');
    const second = useSession.getState().job!;
    expect(second.label).toBe('second');
    expect(jobElapsed(second)).toBe(0);
    vi.advanceTimersByTime(1000);
    s.updateJob({ paused: true });
    // The pause is reported twice (the event and the request's answer): counted once.
    s.updateJob({ paused: true });
    vi.advanceTimersByTime(3000);
    expect(jobElapsed(useSession.getState().job!)).toBe(1000);
    s.updateJob({ paused: false });
    vi.advanceTimersByTime(500);
    expect(jobElapsed(useSession.getState().job!)).toBe(1500);
  });

  it('is never negative, whatever the progress or the clocks say', () => {
    vi.useFakeTimers();
    vi.setSystemTime(2_000_000);
    const s = useSession.getState();
    s.startJob('pruneModel', 'continued');
    s.updateJob({ progress: { stage: 'solving', earlierMs: -34_703 } });
    expect(jobElapsed(useSession.getState().job!)).toBe(0);
    // A clock set back by the system.
    vi.setSystemTime(1_000_000);
    expect(jobElapsed(useSession.getState().job!)).toBe(0);
    s.updateJob({ progress: { stage: 'solving', earlierMs: 4000 } });
    expect(jobElapsed(useSession.getState().job!)).toBe(4000);
  });

  it('the engine counts the time a job spent paused', () => {
    vi.useFakeTimers();
    const control = new JobControl();
    vi.advanceTimersByTime(100);
    expect(control.pausedMs).toBe(0);
    control.pause();
    vi.advanceTimersByTime(250);
    expect(control.pausedMs).toBeCloseTo(250, 0);
    control.resume();
    vi.advanceTimersByTime(1000);
    expect(control.pausedMs).toBeCloseTo(250, 0);
    control.pause();
    vi.advanceTimersByTime(50);
    control.cancel();
    expect(control.pausedMs).toBeCloseTo(300, 0);
  });
});

describe('numbers a learner compares', () => {
  it("writes a refit's before and after with enough digits that they differ, and the change", () => {
    const c = formatChange(7.151e-3, 7.147e-3);
    expect(c.before).not.toBe(c.after);
    expect(c.before).toBe('7.151e-3');
    expect(c.after).toBe('7.147e-3');
    expect(c.change).toBe('−0.056%');
    const close = formatChange(0.0117213, 0.0117201);
    expect(close.before).not.toBe(close.after);
    expect(formatChange(0.02, 0.02).change).toBe('±0.000%');
  });

  it("Compare's axis is linear from 0 with round ticks above the tallest bar", () => {
    const axis = linearYAxis([5.88e-3, 0.0265, 0.0465, 0.0479], 'relative error');
    expect(axis.scale).toBe('linear');
    expect(axis.domain[0]).toBe(0);
    expect(axis.domain[1]).toBeGreaterThan(0.0479);
    expect(axis.domain[1]).toBeLessThanOrEqual(0.07);
    expect(axis.ticks[0]).toBe(0);
    expect(axis.ticks[axis.ticks.length - 1]).toBeCloseTo(axis.domain[1], 12);
    const steps = axis.ticks.slice(1).map((t, i) => t - axis.ticks[i]);
    for (const step of steps) expect(step).toBeCloseTo(steps[0], 12);
    expect(linearYAxis([], 'x').domain).toEqual([0, 1]);
  });
});

describe('whole-model runs', () => {
  const outcome = (relError: number) => ({ relError }) as LayerOutcome;
  const run = (method: 'magnitude' | 'wanda', finishedAt: number, errors: number[]): ModelRunSummary => ({
    report: errors.map(outcome),
    settings: { method, pattern: { kind: 'unstructured', sparsity: 0.5 } } as ModelRunSummary['settings'],
    calibration: {} as ModelRunSummary['calibration'],
    ms: 1000,
    finishedAt,
  });

  it('keeps the replaced run with its perplexity, and marks an evaluation of it as older', () => {
    useResults.getState().clear();
    const first = run('magnitude', 1000, [0.02, 0.04]);
    useResults.getState().setModelRun(first);
    const evaluation = { dense: 1.6, pruned: 1.7, finishedAt: 2000 } as EvaluationResult;
    useResults.getState().setEvaluation(evaluation);
    expect(measuredAfter(evaluation, first)).toBe(true);

    const second = run('wanda', 3000, [0.01]);
    useResults.getState().setModelRun(second);
    const { modelHistory, modelRun } = useResults.getState();
    expect(modelRun).toBe(second);
    expect(modelHistory).toHaveLength(1);
    expect(modelHistory[0]).toMatchObject({ layers: 2, finishedAt: 1000, perplexity: { pruned: 1.7, dense: 1.6 } });
    expect(modelHistory[0].meanError).toBeCloseTo(0.03, 12);
    expect(modelHistory[0].settings.method).toBe('magnitude');
    // The evaluation now belongs to the older run.
    expect(measuredAfter(evaluation, second)).toBe(false);

    // A run replaced before anyone measured it keeps no perplexity.
    useResults.getState().setModelRun(run('magnitude', 4000, [0.05]));
    expect(useResults.getState().modelHistory[1].perplexity).toBeNull();
  });
});
