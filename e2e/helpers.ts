/** Shared steps of the end-to-end tests: screenshots, waiting for jobs, reading safetensors files. */
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, type Browser, type Page } from '@playwright/test';

const here = dirname(fileURLToPath(import.meta.url));
export const SCREENSHOTS = join(here, 'screenshots');
export const REPO = join(here, '..');
export const SHARED_MODELS = join(REPO, '..', 'shared', 'models');

/** A full-page screenshot named after the stage it shows (e.g. "studio-03-compare"), in e2e/screenshots (gitignored). */
export async function shot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

/** The studio's first-visit tour is remembered under this localStorage key (src/ui/help/Tour.tsx). */
export const TOUR_KEY = 'prune-studio.tour';

/** For addInitScript: marks the tour as seen, so that it does not open over the page of a test about something else. */
export function skipTour(): void {
  try {
    localStorage.setItem('prune-studio.tour', 'done');
  } catch {
    // about:blank has no storage.
  }
}

/** A page like a first-time visitor's: fresh context (empty storage, but the tour marked seen), a desktop viewport, downloads on. */
export async function newVisitor(browser: Browser): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1440, height: 1000 }, acceptDownloads: true });
  await context.addInitScript(skipTour);
  const page = await context.newPage();
  page.on('pageerror', (error) => console.log(`[page error] ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') console.log(`[console] ${message.text()}`);
  });
  return page;
}

/** Waits until no job runs (the job bar is gone). */
/** Jobs the page had finished when waitForIdle last returned, per page. */
const finishedSeen = new WeakMap<Page, number>();

async function jobsFinished(page: Page): Promise<number> {
  return Number((await page.getByTestId('app').getAttribute('data-jobs-finished').catch(() => null)) ?? 0);
}

export async function waitForIdle(page: Page, timeout = 5 * 60_000): Promise<void> {
  await expect(page.getByTestId('job-bar')).toHaveCount(0, { timeout });
  finishedSeen.set(page, await jobsFinished(page));
}

/**
 * Waits until a job has started: its bar is shown, or it has already finished (a short job can end
 * before the bar is seen; the page counts finished jobs).
 */
export async function waitForJob(page: Page): Promise<void> {
  const seen = finishedSeen.get(page) ?? Number.POSITIVE_INFINITY;
  await expect
    .poll(async () => (await page.getByTestId('job-bar').count()) > 0 || (await jobsFinished(page)) > seen, { timeout: 30_000 })
    .toBe(true);
}

export async function points(page: Page, testId: string): Promise<number> {
  const value = await page.getByTestId(testId).first().getAttribute('data-points').catch(() => null);
  return value === null ? 0 : Number(value);
}

export async function setNumber(page: Page, testId: string, value: number): Promise<void> {
  const input = page.getByTestId(testId);
  await input.fill(String(value));
  await expect(input).toHaveValue(String(value));
}

export interface SafetensorsTensor {
  dtype: string;
  shape: number[];
  data: Uint8Array;
}

/** Parses a safetensors file: 8-byte little-endian header length, JSON header, data region. */
export function parseSafetensors(bytes: Uint8Array): { metadata: Record<string, string>; tensors: Map<string, SafetensorsTensor> } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = Number(view.getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength))) as Record<string, unknown>;
  const tensors = new Map<string, SafetensorsTensor>();
  let metadata: Record<string, string> = {};
  for (const [name, value] of Object.entries(header)) {
    if (name === '__metadata__') {
      metadata = value as Record<string, string>;
      continue;
    }
    const info = value as { dtype: string; shape: number[]; data_offsets: [number, number] };
    const start = 8 + headerLength + info.data_offsets[0];
    const end = 8 + headerLength + info.data_offsets[1];
    tensors.set(name, { dtype: info.dtype, shape: info.shape, data: bytes.subarray(start, end) });
  }
  return { metadata, tensors };
}

/** Fraction of exact zeros in an F32 tensor. */
export function zeroFraction(t: SafetensorsTensor): number {
  if (t.dtype !== 'F32') throw new Error(`expected F32, got ${t.dtype}`);
  const copy = new Uint8Array(t.data);
  const values = new Float32Array(copy.buffer, 0, copy.byteLength / 4);
  let zeros = 0;
  for (const v of values) if (v === 0) zeros++;
  return zeros / values.length;
}

export function readJson(path: string): Record<string, unknown> {
  return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
}

/**
 * Generates a few tokens on the Evaluate tab and checks that the dense model and `variant`
 * (its continuation's test id) each continued the prompt.
 */
export async function generateContinuations(page: Page, variant: string): Promise<void> {
  await setNumber(page, 'gen-tokens', 8);
  await page.getByTestId('run-generate').click();
  await waitForJob(page);
  await waitForIdle(page);
  await expect(page.getByTestId('error-banner')).toHaveCount(0);
  const prompt = await page.getByTestId('prompt').inputValue();
  expect((await page.getByTestId('gen-dense').innerText()).length).toBeGreaterThan(prompt.length);
  expect((await page.getByTestId(variant).innerText()).length).toBeGreaterThan(prompt.length);
}

/**
 * Measures perplexity on the Evaluate tab (window `seqlen`, at most `maxTokens` tokens; the current
 * inputs when omitted) and waits until the job is done without an error banner.
 */
export async function measurePerplexity(page: Page, seqlen?: number, maxTokens?: number): Promise<void> {
  await page.getByTestId('tab-button-evaluate').click();
  if (seqlen !== undefined) await setNumber(page, 'eval-seqlen', seqlen);
  if (maxTokens !== undefined) await setNumber(page, 'eval-max', maxTokens);
  await page.getByTestId('run-eval').click();
  await waitForJob(page);
  await waitForIdle(page);
  await expect(page.getByTestId('error-banner')).toHaveCount(0);
}

/**
 * Opens the studio with the bundled model, a small calibration (4 × 64 tokens), block 0's
 * mlp.up_proj selected and ALPS chosen: the set-up of a quick single-layer ALPS run.
 */
export async function prepareAlpsLayerRun(page: Page): Promise<void> {
  await page.goto('/');
  await expect(page.getByTestId('model-summary')).toBeVisible({ timeout: 60_000 });
  await setNumber(page, 'cal-samples', 4);
  await setNumber(page, 'cal-seqlen', 64);
  const options = await page.getByTestId('layer-select').locator('option').evaluateAll((els) => els.map((e) => (e as HTMLOptionElement).value));
  const layer = options.find((v) => /\.0\.mlp\.up_proj$/.test(v)) ?? options[0];
  await page.getByTestId('layer-select').selectOption(layer);
  await page.getByTestId('method-alps').click();
}
