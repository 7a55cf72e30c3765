/**
 * `npm run bench:studio [-- --shape smollm-135m --blocks 30 --dtype bf16 --layer model.layers.0.mlp.down_proj
 *    --samples 2 --seqlen 32 --dist <built studio> --out bench-results/studio-<shape>.json
 *    --screenshot bench-results/studio-<shape>-heatmap.png]`
 * `npm run bench:studio -- --whole-model magnitude|wanda [--reload-after-blocks 3 --sparsity 0.5 --sample-every 20]`
 *
 * The studio at a real model's size, as a user meets it: builds the studio (Vite, into a temporary
 * folder unless --dist names a build), serves it with `vite preview`, opens it in headless Chromium
 * with WebGPU on SwiftShader (the e2e suite's launch flags), drops a random-init checkpoint of the
 * model's exact shapes (written by scripts/bench-model.ts's --write-checkpoint, the project's
 * writer, plus the bundled tokenizer) through the folder input, and measures
 *   list       time from choosing the folder to the grouped layer list showing every block
 *   prune      one layer prune (magnitude: calibration of the layer's block + the solve)
 *   heatmap    time from opening the Layers tab after the prune to the layer's heatmaps drawn, and
 *              from clicking its row again to heatmaps and histogram drawn
 *   heap       peak JS heap of the page and of the engine worker, and their array-buffer backing
 *              stores (file reads and weights live there, outside the V8 heap): CDP
 *              Runtime.getHeapUsage sampled every 200 ms, so lower bounds of the true peaks; the
 *              file size for comparison
 *   longest    the longest main-thread task from the folder drop on (PerformanceObserver 'longtask')
 * With --whole-model (scripts/studioLongRun.ts) instead of the layer prune and heatmap: a whole-model
 * run with its progress and time left sampled, a page reload after N saved blocks, Continue, the
 * export into a folder read back, a cancel mid-block, and the peak heap over all of it.
 * Prints a table; writes JSON (bench-results/studio-<shape>[-whole-<method>].json, git-ignored).
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type CDPSession } from 'playwright-core';
import { build, preview } from 'vite';
import { mainThreadStep, monitorMainThread, readMainThread } from '../e2e/mainThread';
import e2eConfig from '../e2e/playwright.config';
import { opfsPicker, wholeModelRun, type WholeModelResult } from './studioLongRun';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

const shape = arg('shape', 'smollm-135m');
const blocks = Number(arg('blocks', '30'));
const dtype = arg('dtype', 'bf16');
const layer = arg('layer', 'model.layers.0.mlp.down_proj');
const samples = Number(arg('samples', '2'));
const seqlen = Number(arg('seqlen', '32'));
/** A whole-model run of this method (magnitude, wanda, …) instead of the one-layer measurements. */
const wholeModel = process.argv.includes('--whole-model') ? arg('whole-model', 'magnitude') : null;
const reloadAfter = Number(arg('reload-after-blocks', '3'));
const sparsity = Number(arg('sparsity', '0.5'));
const sampleEvery = Number(arg('sample-every', '20'));
const stem = `bench-results/studio-${shape}${wholeModel ? `-whole-${wholeModel}` : ''}`;
const outPath = arg('out', `${stem}.json`);
/** What the user sees at the end: the Layers tab with the layer's heatmaps (whole model: the folder export). */
const shotPath = arg('screenshot', `${stem}-${wholeModel ? 'export' : 'heatmap'}.png`);

/** Runtime.getHeapUsage's answer; backingStorageSize (array buffers, external strings) where Chromium reports it. */
interface HeapUsage {
  usedSize: number;
  backingStorageSize?: number;
}

/**
 * Samples the JS heap of the page and of its dedicated workers. Workers are reached through the
 * page's CDP session (auto-attach without flattening: commands go through Target.sendMessageToTarget).
 */
class HeapSampler {
  /** Peak V8 heap in use, and peak array-buffer backing stores (file reads, weights: outside the V8 heap). */
  peakPage = 0;
  peakWorker = 0;
  peakPageBuffers = 0;
  peakWorkerBuffers = 0;
  /** The same peaks per named phase (whole-model mode: run, reload, continued, export, cancel). */
  phase = 'load';
  readonly byPhase: Record<string, { page: number; worker: number; pageBuffers: number; workerBuffers: number }> = {};
  private readonly workers = new Set<string>();
  private readonly pending = new Map<number, (usage: HeapUsage) => void>();
  private nextId = 1;
  private timer: ReturnType<typeof setInterval> | null = null;

  constructor(private readonly cdp: CDPSession) {
    cdp.on('Target.attachedToTarget', (e) => {
      if (e.targetInfo.type === 'worker') this.workers.add(e.sessionId);
    });
    cdp.on('Target.detachedFromTarget', (e) => this.workers.delete(e.sessionId));
    cdp.on('Target.receivedMessageFromTarget', (e) => {
      const message = JSON.parse(e.message) as { id?: number; result?: HeapUsage };
      if (message.id !== undefined && message.result) this.pending.get(message.id)?.(message.result);
      if (message.id !== undefined) this.pending.delete(message.id);
    });
  }

  async start(): Promise<void> {
    await this.cdp.send('Target.setAutoAttach', { autoAttach: true, waitForDebuggerOnStart: false, flatten: false });
    this.timer = setInterval(() => void this.sample().catch(() => undefined), 200);
  }

  async sample(): Promise<void> {
    const page = (await this.cdp.send('Runtime.getHeapUsage')) as HeapUsage;
    this.peakPage = Math.max(this.peakPage, page.usedSize);
    this.peakPageBuffers = Math.max(this.peakPageBuffers, page.backingStorageSize ?? 0);
    const at = (this.byPhase[this.phase] ??= { page: 0, worker: 0, pageBuffers: 0, workerBuffers: 0 });
    at.page = Math.max(at.page, page.usedSize);
    at.pageBuffers = Math.max(at.pageBuffers, page.backingStorageSize ?? 0);
    for (const sessionId of this.workers) {
      const id = this.nextId++;
      const usage = new Promise<HeapUsage>((resolveUsage) => this.pending.set(id, resolveUsage));
      await this.cdp.send('Target.sendMessageToTarget', { sessionId, message: JSON.stringify({ id, method: 'Runtime.getHeapUsage' }) });
      const worker = await Promise.race([usage, new Promise<HeapUsage>((r) => setTimeout(() => r({ usedSize: 0 }), 2000))]);
      this.peakWorker = Math.max(this.peakWorker, worker.usedSize);
      this.peakWorkerBuffers = Math.max(this.peakWorkerBuffers, worker.backingStorageSize ?? 0);
      at.worker = Math.max(at.worker, worker.usedSize);
      at.workerBuffers = Math.max(at.workerBuffers, worker.backingStorageSize ?? 0);
    }
  }

  /**
   * What the worker holds after a forced garbage collection (HeapProfiler.collectGarbage): the
   * peaks above include garbage V8 has not collected yet, this is what is really retained.
   */
  readonly retained: Record<string, { worker: number; workerBuffers: number }> = {};
  async sampleRetained(label: string): Promise<void> {
    let worker = 0;
    let workerBuffers = 0;
    for (const sessionId of this.workers) {
      const gc = this.nextId++;
      const collected = new Promise<HeapUsage>((r) => this.pending.set(gc, r));
      await this.cdp.send('Target.sendMessageToTarget', { sessionId, message: JSON.stringify({ id: gc, method: 'HeapProfiler.collectGarbage' }) });
      await Promise.race([collected, new Promise((r) => setTimeout(r, 5000))]);
      const id = this.nextId++;
      const usage = new Promise<HeapUsage>((r) => this.pending.set(id, r));
      await this.cdp.send('Target.sendMessageToTarget', { sessionId, message: JSON.stringify({ id, method: 'Runtime.getHeapUsage' }) });
      const u = await Promise.race([usage, new Promise<HeapUsage>((r) => setTimeout(() => r({ usedSize: 0 }), 2000))]);
      worker += u.usedSize;
      workerBuffers += u.backingStorageSize ?? 0;
    }
    this.retained[label] = { worker, workerBuffers };
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }
}

/** The whole-model mode's table and JSON. */
function report(run: WholeModelResult, m: { parameters: number; fileBytes: number; listMs: number; heap: HeapSampler; mainThread: Awaited<ReturnType<typeof readMainThread>>; chromium: string }): void {
  const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  const end = run.samples.length ? run.samples[run.samples.length - 1].atS : 0;
  const totalS = (run.beforeReloadMs + run.continuedMs) / 1000;
  // Each sample's "about … left" against the work that really remained: the rest of its own attempt,
  // plus (before the reload) the whole continued attempt.
  const etas = run.samples
    .filter((x) => x.leftS !== null && !/^Paused/.test(x.progress))
    .map((x) => {
      const actual = x.phase === 'continued' ? run.endAtS - x.atS : run.beforeReloadMs / 1000 - x.atS + run.continuedMs / 1000;
      return { at: `${x.atS.toFixed(0)} s (${x.phase})`, layersDone: x.layersDone, shown: x.eta.replace(/ · \d+ of \d+ blocks saved.*/, ''), actualLeft: `${actual.toFixed(0)} s` };
    });
  const result = {
    shape,
    blocks,
    dtype,
    parameters: m.parameters,
    fileBytes: m.fileBytes,
    calibration: { samples, seqlen },
    sparsity,
    ...run,
    listMs: Math.round(m.listMs),
    wallS: { total: Math.round(totalS), lastSample: end },
    peakPageHeapBytes: m.heap.peakPage,
    peakWorkerHeapBytes: m.heap.peakWorker,
    peakPageArrayBufferBytes: m.heap.peakPageBuffers,
    peakWorkerArrayBufferBytes: m.heap.peakWorkerBuffers,
    peakHeapByPhase: m.heap.byPhase,
    retainedAfterGc: m.heap.retained,
    longestTaskMs: m.mainThread.tasks ? Math.round(m.mainThread.longestTask) : null,
    longestTaskByStepMs: m.mainThread.byStep,
    chromium: m.chromium,
    date: new Date().toISOString(),
  };
  console.log(`\nWhole-model ${run.method} at ${Math.round(sparsity * 100)} % in the studio, ${shape} (${blocks} blocks, ${dtype.toUpperCase()}, ${(m.parameters / 1e6).toFixed(2)} M parameters, ${mb(m.fileBytes)} file), ${samples} × ${seqlen} calibration tokens, headless Chromium, WebGPU on SwiftShader`);
  console.table({
    'layer list shown after the drop': s(m.listMs),
    [`run until ${run.reloadAfterBlocks} of ${blocks} blocks saved (then paused, reloaded)`]: s(run.beforeReloadMs),
    'reload → folder re-dropped and listed': s(run.reloadToListMs),
    'reload → Continue offered': `${s(run.reloadToOfferMs)}: "${run.offerHeadline}"`,
    'Continue → run finished': `${s(run.continuedMs)}; first line "${run.continuedFrom.replace(/ · .*/, '')}"; studio clock at end ${run.studioClockAtEnd}`,
    'export into a folder (OPFS)': `${s(run.exportMs)}: ${run.readBack.files.map((f) => `${f.name} ${f.size}`).join(', ')}`,
    'safetensors read back': `${run.readBack.tensorCount} tensors, header ${run.readBack.headerBytes} B, data ends at file end: ${run.readBack.dataEndsAtFileEnd}, method ${run.readBack.metadata.method ?? '?'}`,
    ...Object.fromEntries(run.readBack.zeros.map((z) => [`zeros of ${z.tensor} (${z.dtype} ${z.shape.join('×')})`, `${z.zeros} of ${z.count} = ${(z.fraction * 100).toFixed(4)} %`])),
    [`cancel at "${run.cancel.atProgress}"`]: `Cancelling… after ${run.cancel.toCancellingMs.toFixed(0)} ms, job bar gone after ${run.cancel.toBarGoneMs.toFixed(0)} ms, next job accepted ${run.cancel.nextJobAcceptedMs.toFixed(0)} ms later (${run.cancel.nextJob}); left: "${run.cancel.leftOffer}"`,
    'peak JS heap, page (+ array buffers)': `${mb(m.heap.peakPage)} (+ ${mb(m.heap.peakPageBuffers)})`,
    'peak JS heap, engine worker (+ array buffers)': `${mb(m.heap.peakWorker)} (+ ${mb(m.heap.peakWorkerBuffers)})`,
    'longest main-thread task': m.mainThread.tasks ? `${Math.round(m.mainThread.longestTask)} ms (per step ${JSON.stringify(m.mainThread.byStep)})` : 'none over 50 ms',
  });
  console.log('Engine worker after a forced GC (what it retains):');
  console.table(Object.fromEntries(Object.entries(m.heap.retained).map(([k, v]) => [k, { heap: mb(v.worker), arrayBuffers: mb(v.workerBuffers) }])));
  console.log('Peak JS heap (+ array buffers) by phase:');
  console.table(Object.fromEntries(Object.entries(m.heap.byPhase).map(([k, v]) => [k, { page: `${mb(v.page)} (+ ${mb(v.pageBuffers)})`, worker: `${mb(v.worker)} (+ ${mb(v.workerBuffers)})` }])));
  console.log('Time left shown vs the work that remained:');
  console.table(etas);
  mkdirSync(dirname(resolve(REPO, outPath)), { recursive: true });
  writeFileSync(resolve(REPO, outPath), JSON.stringify({ ...result, etas }, null, 2) + '\n');
  console.log(`Wrote ${outPath}, ${stem}-eta.png, ${stem}-eta-continued.png, ${stem}-continue.png and ${shotPath}.`);
}

function mb(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'bench-studio-'));
  const modelDir = join(work, shape);
  mkdirSync(modelDir);
  let server: Awaited<ReturnType<typeof preview>> | null = null;
  let browser: Awaited<ReturnType<typeof chromium.launch>> | null = null;
  try {
    // The checkpoint, by bench-model's writer in a child process (as bench:model does it).
    const written = spawnSync(
      process.execPath,
      [join(REPO, 'bin/run-ts.mjs'), join(REPO, 'scripts/bench-model.ts'), '--write-checkpoint', modelDir, '--shape', shape, '--blocks', String(blocks), '--dtype', dtype, '--seed', '1'],
      { cwd: REPO, encoding: 'utf8', maxBuffer: 1 << 20 },
    );
    if (written.status !== 0) throw new Error(`Writing the ${shape} checkpoint failed: ${written.stderr || written.stdout}`);
    const { parameters, fileBytes } = JSON.parse(written.stdout.trim().split('\n').pop()!) as { parameters: number; fileBytes: number };
    // The bundled tokenizer (768 ids, within any vocabulary here) so that calibration can run.
    for (const file of ['tokenizer.json', 'tokenizer_config.json']) copyFileSync(join(REPO, 'public/default-model', file), join(modelDir, file));

    const dist = process.argv.includes('--dist') ? resolve(arg('dist', 'dist')) : join(work, 'dist');
    if (!process.argv.includes('--dist')) await build({ root: REPO, logLevel: 'warn', build: { outDir: dist, emptyOutDir: true } });
    server = await preview({ root: REPO, logLevel: 'warn', build: { outDir: dist }, preview: { port: 4190, strictPort: false } });
    const url = server.resolvedUrls?.local[0];
    if (!url) throw new Error('vite preview did not report a URL.');

    const launch = e2eConfig.use?.launchOptions ?? {};
    browser = await chromium.launch({ ...launch, executablePath: process.env.CHROMIUM_PATH ?? launch.executablePath });
    const context = await browser.newContext({ viewport: { width: 1440, height: 1000 } });
    const page = await context.newPage();
    page.on('pageerror', (error) => console.log(`[page error] ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error') console.log(`[console] ${message.text()}`);
    });
    // tsx compiles this script with keepNames: functions sent to the page call esbuild's __name.
    await page.addInitScript({ content: 'globalThis.__name = (f) => f;' });
    await page.addInitScript(monitorMainThread);
    if (wholeModel) await page.addInitScript(opfsPicker);
    const heap = new HeapSampler(await context.newCDPSession(page));
    await heap.start();

    await page.goto(`${url}?samples=${samples}&seqlen=${seqlen}&method=${wholeModel ?? 'magnitude'}&sparsity=${sparsity}`);
    await page.getByTestId('model-summary').waitFor({ timeout: 120_000 });
    await page.getByText(/swiftshader/i).first().waitFor({ timeout: 120_000 });

    await mainThreadStep(page, 'load');
    let t = performance.now();
    await page.getByTestId('model-folder-input').setInputFiles(modelDir);
    await page.locator(`[data-testid="model-blocks"]:text-is("${blocks}")`).waitFor({ timeout: 300_000 });
    // Lists of more than 8 blocks are grouped by block; shorter ones list every linear.
    const lastRow = blocks > 8 ? `[data-testid="block-row"][data-block="${blocks - 1}"]` : `[data-testid="linear-row"][data-layer^="model.layers.${blocks - 1}."]`;
    await page.locator(`[data-testid="linear-list"] ${lastRow}`).first().waitFor({ timeout: 60_000 });
    const listMs = performance.now() - t;
    if (wholeModel) {
      await mainThreadStep(page, 'whole-model');
      heap.phase = 'run';
      const run = await wholeModelRun(page, {
        method: wholeModel,
        blocks,
        reloadAfter,
        modelDir,
        sampleEveryMs: sampleEvery * 1000,
        shots: { eta: resolve(REPO, `${stem}-eta.png`), etaContinued: resolve(REPO, `${stem}-eta-continued.png`), offer: resolve(REPO, `${stem}-continue.png`), exported: resolve(REPO, shotPath) },
        // The reloaded page has a new main-thread monitor: its step is named again.
        onPhase: async (name) => {
          // The continued run has finished when the export starts: what the worker keeps of it.
          if (name === 'export') await heap.sampleRetained('after the run (before export)');
          heap.phase = name;
          if (name !== 'reload') await mainThreadStep(page, name);
        },
        timeoutMs: 3 * 3600_000,
      });
      await heap.sample();
      await heap.sampleRetained('at the end');
      heap.stop();
      report(run, { parameters, fileBytes, listMs, heap, mainThread: await readMainThread(page), chromium: browser.version() });
      return;
    }

    await mainThreadStep(page, 'prune');
    await page.getByTestId('layer-select').selectOption(layer);
    await page.getByTestId('method-magnitude').click();
    t = performance.now();
    await page.getByTestId('run-layer').click();
    await page.getByTestId('job-bar').waitFor({ state: 'attached', timeout: 30_000 }).catch(() => undefined);
    await page.getByTestId('job-bar').waitFor({ state: 'detached', timeout: 30 * 60_000 });
    const pruneMs = performance.now() - t;
    const banner = await page.getByTestId('error-banner').count();
    if (banner) throw new Error(`The layer prune failed: ${await page.getByTestId('error-banner').innerText()}`);

    await mainThreadStep(page, 'heatmap');
    // The prune selected its result: the Layers tab opens with the layer view (first open), then
    // the view is closed and opened again from its row (the time a user waits on each later click).
    t = performance.now();
    await page.getByTestId('tab-button-layers').click();
    await page.locator('[data-testid="heatmap-mask"] canvas').waitFor({ timeout: 120_000 });
    const firstHeatmapMs = performance.now() - t;
    const row = page.locator(`[data-testid="result-row"][data-layer="${layer}"]`).first();
    const shapeText = (await row.locator('td').nth(4).innerText()).replace(/\s/g, '');
    await page.getByTestId('layer-panel').getByRole('button', { name: 'Close' }).click();
    await page.getByTestId('layer-panel').waitFor({ state: 'detached' });
    t = performance.now();
    await row.click();
    await page.locator('[data-testid="heatmap-mask"] canvas').waitFor({ timeout: 120_000 });
    await page.locator('[data-testid="layer-histogram"] svg rect').first().waitFor({ timeout: 60_000 });
    const heatmapMs = performance.now() - t;
    const grid = await page.locator('[data-testid="heatmap-mask"] canvas').evaluate((c) => `${(c as HTMLCanvasElement).height}×${(c as HTMLCanvasElement).width}`);

    await heap.sample();
    heap.stop();
    const m = await readMainThread(page);
    // After the measurement: a full-page capture re-lays out the page on its main thread.
    await page.getByTestId('layer-panel').scrollIntoViewIfNeeded();
    await page.screenshot({ path: resolve(REPO, shotPath), fullPage: true });
    const result = {
      shape,
      blocks,
      dtype,
      parameters,
      fileBytes,
      layer,
      layerShape: shapeText,
      heatmapGrid: grid,
      calibration: { samples, seqlen },
      listMs: Math.round(listMs),
      pruneMs: Math.round(pruneMs),
      firstHeatmapMs: Math.round(firstHeatmapMs),
      heatmapMs: Math.round(heatmapMs),
      peakPageHeapBytes: heap.peakPage,
      peakWorkerHeapBytes: heap.peakWorker,
      peakPageArrayBufferBytes: heap.peakPageBuffers,
      peakWorkerArrayBufferBytes: heap.peakWorkerBuffers,
      // Long tasks are those over 50 ms (the Long Tasks API): null when there was none.
      longestTaskMs: m.tasks ? Math.round(m.longestTask) : null,
      longTasks: m.tasks,
      longestTaskByStepMs: m.byStep,
      chromium: browser.version(),
      date: new Date().toISOString(),
    };
    console.log(`\nStudio at ${shape} (${blocks} blocks, ${dtype.toUpperCase()}, ${(parameters / 1e6).toFixed(2)} M parameters, ${mb(fileBytes)} file), headless Chromium, WebGPU on SwiftShader`);
    console.table({
      'layer list shown after the drop': `${(listMs / 1000).toFixed(2)} s`,
      [`one layer prune (magnitude, ${layer})`]: `${(pruneMs / 1000).toFixed(2)} s`,
      [`heatmap of ${shapeText} (grid ${grid}), first open after the prune`]: `${(firstHeatmapMs / 1000).toFixed(2)} s`,
      [`heatmap of ${shapeText}, reopened from its row`]: `${(heatmapMs / 1000).toFixed(2)} s`,
      'peak JS heap, page (+ array buffers)': `${mb(heap.peakPage)} (+ ${mb(heap.peakPageBuffers)})`,
      'peak JS heap, engine worker (+ array buffers)': `${mb(heap.peakWorker)} (+ ${mb(heap.peakWorkerBuffers)})`,
      'longest main-thread task': m.tasks ? `${Math.round(m.longestTask)} ms (${m.tasks} over 50 ms; per step ${JSON.stringify(m.byStep)})` : 'none over 50 ms',
    });
    mkdirSync(dirname(resolve(REPO, outPath)), { recursive: true });
    writeFileSync(resolve(REPO, outPath), JSON.stringify(result, null, 2) + '\n');
    console.log(`Wrote ${outPath} and ${shotPath} (checkpoint folder size ${mb(statSync(join(modelDir, 'model.safetensors')).size)}).`);
  } finally {
    await browser?.close();
    await server?.close();
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exitCode = 1;
});
