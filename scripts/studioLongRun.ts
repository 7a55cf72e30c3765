/**
 * The whole-model half of `npm run bench:studio -- --whole-model magnitude|wanda`: a whole-model run
 * in the studio at a real model's size, as a user lives through it. From the dropped folder it
 *   runs      the whole model at 50 % (the URL's settings), sampling the job bar's progress, clock
 *             and "about … left" every few seconds;
 *   reloads   the page once `reloadAfter` blocks are saved in IndexedDB (paused there first, so the
 *             run stops at that block), drops the folder again, times the "Continue" offer and
 *             continues: only the remaining blocks are solved;
 *   exports   into a folder: showDirectoryPicker is replaced by one that returns a folder of the
 *             origin private file system, read back in the page (names, sizes, the safetensors header,
 *             the fraction of exact zeros of some pruned BF16/F16/F32 tensors, read by slices);
 *   cancels   a second run mid-block: click → job bar gone, and → the next job (one layer prune)
 *             accepted, both timed in the page by a MutationObserver.
 * Driven by scripts/bench-studio.ts, which owns the browser, the heap sampler and the table.
 */
import type { Page } from 'playwright-core';

/** The picker the page gets: a new OPFS folder per call, its name kept in window.__exportFolder. */
export function opfsPicker(): void {
  const w = window as unknown as { showDirectoryPicker: () => Promise<FileSystemDirectoryHandle>; __exportFolder?: string };
  w.showDirectoryPicker = async () => {
    const name = `export-${Date.now()}`;
    w.__exportFolder = name;
    return (await navigator.storage.getDirectory()).getDirectoryHandle(name, { create: true });
  };
}

export interface JobBarSample {
  /** Seconds since the first run's click (wall clock of this script). */
  atS: number;
  phase: 'before reload' | 'continued';
  progress: string;
  elapsed: string;
  eta: string;
  layersDone: number | null;
  /** The time left the bar shows, in seconds (null while it is still estimating). */
  leftS: number | null;
}

export interface ExportReadBack {
  folder: string;
  files: { name: string; size: number }[];
  tensorCount: number;
  headerBytes: number;
  metadata: Record<string, string>;
  /** The data region ends at the file's end. */
  dataEndsAtFileEnd: boolean;
  zeros: { tensor: string; dtype: string; shape: number[]; zeros: number; count: number; fraction: number }[];
}

export interface WholeModelResult {
  method: string;
  layerCount: number;
  reloadAfterBlocks: number;
  samples: JobBarSample[];
  /** Click → the pause that precedes the reload took effect (N blocks saved). */
  beforeReloadMs: number;
  /** Reload → the re-dropped folder listed → the Continue offer shown. */
  reloadToListMs: number;
  reloadToOfferMs: number;
  offerHeadline: string;
  offerText: string;
  /** The first job-bar line after Continue (layers done counted from the saved blocks). */
  continuedFrom: string;
  continuedMs: number;
  /** When the continued run ended, in seconds since the first click (the samples' clock). */
  endAtS: number;
  /** The studio's clock when the continued run ended (earlier work included). */
  studioClockAtEnd: string;
  exportMs: number;
  readBack: ExportReadBack;
  cancel: { atProgress: string; toCancellingMs: number; toBarGoneMs: number; nextJobAcceptedMs: number; nextJob: string; leftOffer: string };
}

/** Seconds of a time the studio shows before `suffix` ("12.3 s", "1 min 5 s", "850 ms"); null when absent. */
export function secondsBefore(text: string, suffix: string): number | null {
  const m = new RegExp(`(?:(\\d+) min )?([\\d.]+) (s|ms) ${suffix}`).exec(text);
  return m ? Number(m[1] ?? 0) * 60 + Number(m[2]) / (m[3] === 'ms' ? 1000 : 1) : null;
}

async function text(page: Page, testId: string): Promise<string> {
  const el = page.getByTestId(testId);
  return (await el.count()) ? ((await el.first().textContent({ timeout: 2000 }).catch(() => '')) ?? '') : '';
}

async function sampleBar(page: Page, t0: number, phase: JobBarSample['phase']): Promise<JobBarSample | null> {
  if (!(await page.getByTestId('job-bar').count())) return null;
  const eta = await text(page, 'job-eta');
  const done = /^(\d+) of \d+ layers done/.exec(eta);
  return {
    atS: Math.round((performance.now() - t0) / 100) / 10,
    phase,
    progress: await text(page, 'job-progress'),
    elapsed: await text(page, 'job-elapsed'),
    eta,
    layersDone: done ? Number(done[1]) : null,
    leftS: secondsBefore(eta, 'left'),
  };
}

/** Samples the job bar every `everyMs` until `until` settles; screenshots the first sample that shows a time left and saved blocks. */
async function sampleUntil(page: Page, until: Promise<unknown>, t0: number, phase: JobBarSample['phase'], everyMs: number, out: JobBarSample[], shot: { path: string; taken: boolean }): Promise<void> {
  let over = false;
  void until.finally(() => (over = true)).catch(() => undefined);
  while (!over) {
    const s = await sampleBar(page, t0, phase).catch(() => null);
    if (s) {
      out.push(s);
      console.log(`  [${s.atS.toFixed(0)} s, ${phase}] ${s.progress} | ${s.elapsed} | ${s.eta}`);
      if (!shot.taken && s.leftS !== null && /blocks saved/.test(s.eta) && !/^Paused/.test(s.progress)) {
        shot.taken = true;
        await page.screenshot({ path: shot.path });
      }
    }
    await Promise.race([until.catch(() => undefined), new Promise((r) => setTimeout(r, everyMs))]);
  }
  await until;
}

/** Clicks a button in the page itself the moment `selector`'s text says `blocks` or more blocks are saved (no round trip from here). */
function clickWhen(page: Page, selector: string, blocks: number, button: string): Promise<string> {
  return page.evaluate(
    ([sel, at, btn]) =>
      new Promise<string>((resolve) => {
        const check = () => {
          const el = document.querySelector(sel);
          const b = document.querySelector<HTMLButtonElement>(btn);
          if (!el || !b || Number(/(\d+) of \d+ blocks saved/.exec(el.textContent ?? '')?.[1] ?? 0) < at) return;
          b.click();
          observer.disconnect();
          resolve(el.textContent ?? '');
        };
        const observer = new MutationObserver(check);
        observer.observe(document.body, { subtree: true, childList: true, characterData: true });
        check();
      }),
    [selector, blocks, button] as const,
  );
}

/** Reads the last exported folder back from OPFS: the header by a slice, each chosen tensor's bytes by a slice. */
async function readExport(page: Page, tensors: string[]): Promise<ExportReadBack> {
  return page.evaluate(async (names) => {
    const folder = (window as unknown as { __exportFolder: string }).__exportFolder;
    const dir = await (await navigator.storage.getDirectory()).getDirectoryHandle(folder);
    const files: { name: string; size: number }[] = [];
    for await (const [name, handle] of (dir as unknown as { entries(): AsyncIterable<[string, FileSystemFileHandle]> }).entries()) {
      files.push({ name, size: (await handle.getFile()).size });
    }
    files.sort((a, b) => (a.name < b.name ? -1 : 1));
    const file = await (await dir.getFileHandle('model.safetensors')).getFile();
    const headerLength = Number(new DataView(await file.slice(0, 8).arrayBuffer()).getBigUint64(0, true));
    type Entry = { dtype: string; shape: number[]; data_offsets: [number, number] };
    const header = JSON.parse(await file.slice(8, 8 + headerLength).text()) as Record<string, Entry> & { __metadata__?: Record<string, string> };
    const { __metadata__: metadata = {}, ...entries } = header;
    const last = Math.max(...Object.values(entries).map((t) => t.data_offsets[1]));
    const zeros = [];
    for (const tensor of names) {
      const e = entries[tensor];
      if (!e) throw new Error(`model.safetensors has no tensor ${tensor}`);
      const bytes = await file.slice(8 + headerLength + e.data_offsets[0], 8 + headerLength + e.data_offsets[1]).arrayBuffer();
      const wide = e.dtype === 'F32';
      if (!wide && e.dtype !== 'BF16' && e.dtype !== 'F16') throw new Error(`${tensor}: dtype ${e.dtype} not read here`);
      // ±0 in every float format: all bits but the sign clear.
      const v = wide ? new Uint32Array(bytes) : new Uint16Array(bytes);
      const mask = wide ? 0x7fffffff : 0x7fff;
      let z = 0;
      for (const x of v) if ((x & mask) === 0) z++;
      const count = v.length;
      zeros.push({ tensor, dtype: e.dtype, shape: e.shape, zeros: z, count, fraction: z / count });
    }
    return { folder, files, tensorCount: Object.keys(entries).length, headerBytes: headerLength, metadata, dataEndsAtFileEnd: 8 + headerLength + last === file.size, zeros };
  }, tensors);
}

export interface WholeModelOptions {
  method: string;
  blocks: number;
  reloadAfter: number;
  modelDir: string;
  sampleEveryMs: number;
  /** Screenshots: the job bar with its time left mid-run (before the reload, after Continue), the Continue offer, the folder export. */
  shots: { eta: string; etaContinued: string; offer: string; exported: string };
  /** Called right before the page reloads and after it is back (the heap sampler follows the page). */
  onPhase?: (name: string) => Promise<void>;
  timeoutMs: number;
}

/** The whole flow on a page that has the checkpoint listed (dropped through the folder input) and the OPFS picker installed. */
export async function wholeModelRun(page: Page, o: WholeModelOptions): Promise<WholeModelResult> {
  const samples: JobBarSample[] = [];
  const etaShot = { path: o.shots.eta, taken: false };
  await page.getByTestId(`method-${o.method}`).click();
  const t0 = performance.now();
  await page.getByTestId('run-model').click();
  await page.getByTestId('job-bar').waitFor({ timeout: 60_000 });
  // Paused the moment N blocks are saved, so that the reload stops the run right there.
  const paused = clickWhen(page, '[data-testid="job-eta"]', o.reloadAfter, '[data-testid="pause"]');
  await sampleUntil(page, paused, t0, 'before reload', o.sampleEveryMs, samples, etaShot);
  await page.getByTestId('job-progress').filter({ hasText: 'Paused' }).waitFor({ timeout: 30_000 });
  const beforeReloadMs = performance.now() - t0;
  const layerCount = Number(/of (\d+) layers done/.exec(await text(page, 'job-eta'))?.[1] ?? NaN);
  samples.push((await sampleBar(page, t0, 'before reload'))!);

  await o.onPhase?.('reload');
  let t = performance.now();
  await page.reload();
  await page.getByTestId('model-summary').waitFor({ timeout: 120_000 });
  await page.getByTestId('model-folder-input').setInputFiles(o.modelDir);
  await page.locator(`[data-testid="model-blocks"]:text-is("${o.blocks}")`).waitFor({ timeout: 300_000 });
  const reloadToListMs = performance.now() - t;
  await page.getByTestId('unfinished-run').waitFor({ timeout: 120_000 });
  const reloadToOfferMs = performance.now() - t;
  const offerHeadline = await text(page, 'unfinished-text');
  const offerText = await text(page, 'unfinished-run');
  await page.screenshot({ path: o.shots.offer });

  await o.onPhase?.('continued');
  t = performance.now();
  await page.getByTestId('continue-run').click();
  await page.getByTestId('job-eta').waitFor({ timeout: 120_000 });
  const continuedFrom = await text(page, 'job-eta');
  const ended = page.getByTestId('job-bar').waitFor({ state: 'detached', timeout: o.timeoutMs });
  let studioClockAtEnd = '';
  const clock = (async () => {
    // The clock's last reading before the bar goes (the continued run's time includes the earlier work).
    while ((await page.getByTestId('job-bar').count()) > 0) {
      studioClockAtEnd = (await text(page, 'job-elapsed')) || studioClockAtEnd;
      await new Promise((r) => setTimeout(r, 500));
    }
  })();
  await sampleUntil(page, ended, t0, 'continued', o.sampleEveryMs, samples, { path: o.shots.etaContinued, taken: false });
  await clock;
  const continuedMs = performance.now() - t;
  const endAtS = (performance.now() - t0) / 1000;
  if (await page.getByTestId('error-banner').count()) throw new Error(`The continued run failed: ${await text(page, 'error-banner')}`);
  if (await page.getByTestId('unfinished-run').count()) throw new Error('The continued run ended, yet a stopped run is still offered.');

  await o.onPhase?.('export');
  await page.getByTestId('tab-button-download').click();
  t = performance.now();
  await page.getByTestId('save-to-folder').click();
  await page.getByTestId('folder-files').waitFor({ timeout: o.timeoutMs });
  await page.getByTestId('job-bar').waitFor({ state: 'detached', timeout: 60_000 });
  const exportMs = performance.now() - t;
  if (await page.getByTestId('error-banner').count()) throw new Error(`The folder export failed: ${await text(page, 'error-banner')}`);
  await page.screenshot({ path: o.shots.exported });
  const mid = Math.floor(o.blocks / 2);
  const readBack = await readExport(page, [
    'model.layers.0.self_attn.q_proj.weight',
    `model.layers.${mid}.self_attn.k_proj.weight`,
    `model.layers.${mid}.mlp.down_proj.weight`,
    `model.layers.${o.blocks - 1}.mlp.gate_proj.weight`,
    'model.embed_tokens.weight',
  ]);

  // Cancel mid-block: a new run, cancelled in the page at the 4th layer of its second block.
  await o.onPhase?.('cancel');
  await page.getByTestId('tab-button-live').click();
  await page.getByTestId('run-model').click();
  await page.getByTestId('job-bar').waitFor({ timeout: 60_000 });
  const perBlock = layerCount / o.blocks;
  const cancel = await page.evaluate(
    ([at]) =>
      new Promise<{ atProgress: string; toCancellingMs: number; toBarGoneMs: number; nextJobAcceptedMs: number; nextJob: string }>((resolve) => {
        let clicked = 0;
        let cancelling = 0;
        let gone = 0;
        let atProgress = '';
        const check = () => {
          const bar = document.querySelector('[data-testid="job-bar"]');
          const progress = document.querySelector('[data-testid="job-progress"]')?.textContent ?? '';
          const now = performance.now();
          if (!clicked) {
            // At or past the layer (React may render fewer progress lines than the worker sends).
            if (Number(/Layer (\d+) of/.exec(progress)?.[1] ?? 0) < at) return;
            atProgress = progress;
            clicked = now;
            document.querySelector<HTMLButtonElement>('[data-testid="cancel"]')!.click();
            return;
          }
          if (!cancelling && document.querySelector('[data-testid="cancel"]')?.textContent === 'Cancelling…') cancelling = now;
          if (!gone) {
            if (bar) return;
            gone = now;
            // The next job, at once: one layer prune; accepted when the worker's first progress replaces "Starting".
            document.querySelector<HTMLButtonElement>('[data-testid="run-layer"]')!.click();
            return;
          }
          if (bar && progress && !progress.startsWith('Starting')) {
            observer.disconnect();
            resolve({ atProgress, toCancellingMs: (cancelling || gone) - clicked, toBarGoneMs: gone - clicked, nextJobAcceptedMs: now - gone, nextJob: `${bar.querySelector('strong')?.textContent ?? ''}: ${progress}` });
          }
        };
        const observer = new MutationObserver(check);
        observer.observe(document.body, { subtree: true, childList: true, characterData: true });
        check();
        // A next job never accepted is a result too (-1), not a hang.
        setTimeout(() => {
          observer.disconnect();
          resolve({ atProgress, toCancellingMs: (cancelling || gone) - clicked, toBarGoneMs: gone ? gone - clicked : -1, nextJobAcceptedMs: -1, nextJob: 'none within 10 min' });
        }, 600_000);
      }),
    [perBlock + 4] as const,
  );
  await page.getByTestId('job-bar').waitFor({ state: 'detached', timeout: o.timeoutMs });
  const leftOffer = await text(page, 'unfinished-text');
  if (await page.getByTestId('discard-run').count()) await page.getByTestId('discard-run').click();

  return { method: o.method, layerCount, reloadAfterBlocks: o.reloadAfter, samples, beforeReloadMs, reloadToListMs, reloadToOfferMs, offerHeadline, offerText, continuedFrom, continuedMs, endAtS, studioClockAtEnd, exportMs, readBack, cancel: { ...cancel, leftOffer } };
}
