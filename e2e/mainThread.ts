/**
 * How long the studio's main thread is blocked, measured in the page: a PerformanceObserver for
 * 'longtask' (tasks over 50 ms) and a requestAnimationFrame gap monitor, both counting only from the
 * first named step on, each long task filed under the step the page was in when it started.
 * Shared by e2e/scale.spec.ts and scripts/bench-studio.ts.
 */
import type { Page } from 'playwright-core';

export interface MainThread {
  longestTask: number;
  tasks: number;
  longestFrameGap: number;
  /** The longest task (ms) in each named step. */
  byStep: Record<string, number>;
}

interface Monitor extends MainThread {
  armedAt: number;
  step: string;
}

/** For page.addInitScript: installed before the page's own scripts. Self-contained (it runs in the page). */
export function monitorMainThread(): void {
  const m: Monitor = { longestTask: 0, tasks: 0, longestFrameGap: 0, byStep: {}, armedAt: Number.POSITIVE_INFINITY, step: '' };
  (window as unknown as { __mainThread: Monitor }).__mainThread = m;
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      if (e.startTime < m.armedAt) continue;
      m.tasks++;
      m.longestTask = Math.max(m.longestTask, e.duration);
      m.byStep[m.step] = Math.max(m.byStep[m.step] ?? 0, Math.round(e.duration));
    }
  }).observe({ type: 'longtask', buffered: true });
  let last = performance.now();
  const frame = (t: number) => {
    if (last >= m.armedAt) m.longestFrameGap = Math.max(m.longestFrameGap, t - last);
    last = t;
    requestAnimationFrame(frame);
  };
  requestAnimationFrame(frame);
}

/** Names the step the following tasks belong to; the first call starts the measurement. */
export async function mainThreadStep(page: Page, name: string): Promise<void> {
  await page.evaluate((n) => {
    const m = (window as unknown as { __mainThread: Monitor }).__mainThread;
    if (!Number.isFinite(m.armedAt)) m.armedAt = performance.now();
    m.step = n;
  }, name);
}

export async function readMainThread(page: Page): Promise<MainThread> {
  return page.evaluate(() => {
    const m = (window as unknown as { __mainThread: Monitor }).__mainThread;
    return { longestTask: m.longestTask, tasks: m.tasks, longestFrameGap: m.longestFrameGap, byStep: { ...m.byStep } };
  });
}
