/**
 * Long whole-model runs in the studio, on the bundled model (4 blocks of 7 linears): progress with
 * an ETA; a run stopped by a page reload after two saved blocks is offered to continue, continues
 * with only the remaining blocks and ends with the uninterrupted run's weights; cancel ends a run
 * within 2 s; the export streams into a folder (showDirectoryPicker replaced by one that returns
 * a folder of the origin private file system, read back here: names, sizes, the safetensors header).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { newVisitor, REPO, shot, waitForIdle, waitForJob } from './helpers';

const DEFAULT_MODEL = join(REPO, 'public', 'default-model');
const URL = '/?method=sparsegpt&sparsity=0.5&samples=4&seqlen=64';

/** The picker the page gets: a new OPFS folder per call, its name kept in window.__exportFolder. */
const OPFS_PICKER = () => {
  const w = window as unknown as { showDirectoryPicker: () => Promise<FileSystemDirectoryHandle>; __exportFolder?: string };
  w.showDirectoryPicker = async () => {
    const name = `export-${Date.now()}`;
    w.__exportFolder = name;
    return (await navigator.storage.getDirectory()).getDirectoryHandle(name, { create: true });
  };
};

interface ReadBack {
  folder: string;
  files: { name: string; size: number }[];
  tensors: string[];
  metadata: Record<string, string>;
  headerBytes: number;
  sha256: string;
}

/** Reads the last exported folder back from OPFS in the page. */
async function readExport(page: Page): Promise<ReadBack> {
  return page.evaluate(async () => {
    const folder = (window as unknown as { __exportFolder: string }).__exportFolder;
    const dir = await (await navigator.storage.getDirectory()).getDirectoryHandle(folder);
    const files: { name: string; size: number }[] = [];
    for await (const [name, handle] of (dir as unknown as { entries(): AsyncIterable<[string, FileSystemFileHandle]> }).entries()) {
      files.push({ name, size: (await handle.getFile()).size });
    }
    files.sort((a, b) => (a.name < b.name ? -1 : 1));
    const bytes = new Uint8Array(await (await (await dir.getFileHandle('model.safetensors')).getFile()).arrayBuffer());
    const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength))) as Record<string, { data_offsets: [number, number] }> & { __metadata__?: Record<string, string> };
    const { __metadata__: metadata = {}, ...tensors } = header;
    const last = Math.max(...Object.values(tensors).map((t) => t.data_offsets[1]));
    if (8 + headerLength + last !== bytes.byteLength) throw new Error(`model.safetensors: ${bytes.byteLength} bytes, its header ends the data at ${8 + headerLength + last}`);
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
    return { folder, files, tensors: Object.keys(tensors).sort(), metadata, headerBytes: headerLength, sha256: Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('') };
  });
}

async function saveToFolder(page: Page): Promise<ReadBack> {
  await page.getByTestId('tab-button-download').click();
  await page.getByTestId('save-to-folder').click();
  await waitForJob(page);
  await waitForIdle(page);
  await expect(page.getByTestId('folder-files')).toBeVisible();
  return readExport(page);
}

/**
 * Clicks Pause in the page itself the moment the job bar's ETA line matches `pattern` (a run of
 * this small model is over in seconds: a click from here could come after its end).
 */
async function pauseWhen(page: Page, pattern: RegExp): Promise<void> {
  await page.evaluate(
    ([source, flags]) =>
      new Promise<void>((resolve) => {
        const re = new RegExp(source, flags);
        const check = () => {
          const eta = document.querySelector('[data-testid="job-eta"]');
          const pause = document.querySelector<HTMLButtonElement>('[data-testid="pause"]');
          if (!eta || !pause || !re.test(eta.textContent ?? '')) return;
          pause.click();
          observer.disconnect();
          resolve();
        };
        const observer = new MutationObserver(check);
        observer.observe(document.body, { subtree: true, childList: true, characterData: true });
        check();
      }),
    [pattern.source, pattern.flags] as const,
  );
  await expect(page.getByTestId('job-progress')).toContainText('Paused');
}

/** Seconds of a time the studio shows before `suffix` ("12.3 s", "1 min 5 s", "850 ms"). */
function seconds(text: string, suffix: string): number {
  const m = new RegExp(`(?:(\\d+) min )?([\\d.]+) (s|ms) ${suffix}`).exec(text);
  if (!m) throw new Error(`no time before "${suffix}" in: ${text}`);
  return Number(m[1] ?? 0) * 60 + Number(m[2]) / (m[3] === 'ms' ? 1000 : 1);
}

/** Seconds shown by the job bar's clock. */
async function elapsedSeconds(page: Page): Promise<number> {
  return seconds(await page.getByTestId('job-elapsed').innerText(), 'elapsed');
}

test('a whole-model run survives a reload, continues to the same weights, and exports into a folder', async ({ browser }) => {
  test.skip(!existsSync(join(DEFAULT_MODEL, 'model.safetensors')), 'public/default-model/model.safetensors is missing');
  const page = await newVisitor(browser);
  await page.addInitScript(OPFS_PICKER);
  await page.goto(URL);
  await expect(page.getByTestId('model-summary')).toBeVisible({ timeout: 60_000 });

  // The uninterrupted run: progress with blocks, layers and the time left.
  await page.getByTestId('run-model').click();
  await waitForJob(page);
  // Paused for the picture: the bar with its clock, ETA and saved blocks.
  await pauseWhen(page, /about .+ left · 1 of 4 blocks saved/);
  await expect(page.getByTestId('job-progress')).toContainText(/Layer \d+ of 28 · block 2 of 4/);
  await shot(page, 'longrun-01-eta');
  await page.getByTestId('resume').click();
  await waitForIdle(page);
  await expect(page.getByTestId('error-banner')).toHaveCount(0);
  await expect(page.getByTestId('unfinished-run')).toHaveCount(0);
  const clean = await saveToFolder(page);
  expect(clean.files.map((f) => f.name)).toEqual(['config.json', 'model.safetensors', 'prune_report.csv', 'prune_report.json', 'tokenizer.json', 'tokenizer_config.json']);
  expect(clean.files.find((f) => f.name === 'config.json')!.size).toBe(readFileSync(join(DEFAULT_MODEL, 'config.json')).byteLength);
  // The same tensors and data bytes as the input; only the header's metadata (method, pattern) grew.
  const input = readFileSync(join(DEFAULT_MODEL, 'model.safetensors'));
  const inputHeader = Number(input.readBigUInt64LE(0));
  const { __metadata__: _meta, ...inputTensors } = JSON.parse(input.subarray(8, 8 + inputHeader).toString('utf8')) as Record<string, unknown>;
  expect(clean.tensors).toEqual(Object.keys(inputTensors).sort());
  expect(clean.files.find((f) => f.name === 'model.safetensors')!.size - 8 - clean.headerBytes).toBe(input.byteLength - 8 - inputHeader);
  expect(clean.metadata.method).toBe('sparsegpt');
  await expect(page.getByTestId('folder-file-model.safetensors')).toBeVisible();
  await shot(page, 'longrun-02-folder-export');

  // The same run again, stopped by a reload once two blocks are saved (paused first, so it stops there).
  await page.getByTestId('tab-button-live').click();
  await page.getByTestId('run-model').click();
  await waitForJob(page);
  await pauseWhen(page, /2 of 4 blocks saved in this browser/);
  const beforeReload = await elapsedSeconds(page);
  await page.reload();
  await expect(page.getByTestId('model-summary')).toBeVisible({ timeout: 60_000 });
  const offer = page.getByTestId('unfinished-run');
  await expect(offer).toBeVisible({ timeout: 30_000 });
  await expect(page.getByTestId('unfinished-text')).toHaveText('Whole-model run stopped after block 2 of 4');
  await expect(offer).toContainText('SparseGPT');
  // The offer names the time spent so far.
  const work = seconds(await offer.innerText(), 'of work');
  await shot(page, 'longrun-03-continue-offer');

  await page.getByTestId('continue-run').click();
  await waitForJob(page);
  // Paused at once, so the short rest of the run cannot end before the clock is read.
  await page.getByTestId('pause').click();
  await expect(page.getByTestId('job-eta')).toContainText(/^14 of 28 layers done/, { timeout: 60_000 });
  // The clock goes on from the stopped run's time, not from zero (and not back).
  const afterContinue = await elapsedSeconds(page);
  expect(afterContinue).toBeGreaterThanOrEqual(work - 0.05);
  await shot(page, 'longrun-04-continued');
  await page.getByTestId('resume').click();
  await waitForIdle(page);
  await expect(page.getByTestId('error-banner')).toHaveCount(0);
  await expect(page.getByTestId('unfinished-run')).toHaveCount(0);
  const continued = await saveToFolder(page);
  expect(continued.sha256).toBe(clean.sha256);
  // The report differs only in its timings.
  const notReport = (r: ReadBack) => r.files.filter((f) => !f.name.startsWith('prune_report.'));
  expect(notReport(continued)).toEqual(notReport(clean));
  console.log(`folder export: ${clean.files.map((f) => `${f.name} ${f.size}`).join(', ')}; after reload + continue: model.safetensors sha256 equal (${clean.sha256.slice(0, 12)}…); clock ${beforeReload.toFixed(1)} s before reload, ${afterContinue.toFixed(1)} s on continue`);
  await page.context().close();
});

test('cancel ends a whole-model run within 2 s and leaves a run to continue or discard', async ({ browser }) => {
  test.skip(!existsSync(join(DEFAULT_MODEL, 'model.safetensors')), 'public/default-model/model.safetensors is missing');
  const page = await newVisitor(browser);
  await page.goto('/?method=alps&sparsity=0.5&samples=4&seqlen=64');
  await expect(page.getByTestId('model-summary')).toBeVisible({ timeout: 60_000 });
  await page.getByTestId('run-model').click();
  await waitForJob(page);
  await expect(page.getByTestId('job-eta')).toContainText(/1 of 4 blocks saved/, { timeout: 120_000 });
  const started = Date.now();
  await page.getByTestId('cancel').click();
  await expect(page.getByTestId('job-bar')).toHaveCount(0, { timeout: 10_000 });
  const ms = Date.now() - started;
  console.log(`cancel in the middle of a whole-model ALPS run: the job ended ${ms} ms after the click`);
  expect(ms).toBeLessThan(2000);
  await expect(page.getByTestId('unfinished-text')).toHaveText(/^Whole-model run stopped after block \d of 4$/);
  await page.getByTestId('discard-run').click();
  await expect(page.getByTestId('unfinished-run')).toHaveCount(0);
  await page.context().close();
});
