/**
 * The arc of a run as a new user sees it, at 1440×900: the job bar names what runs and its clock
 * starts at 0 for each job, never goes negative and stands still while paused; an end card with the
 * final error after a layer run and after a whole-model run (with a button to measure perplexity);
 * Compare on a linear axis from 0 with the ratios written; a second whole-model run keeps the first
 * as an older one and marks its perplexity as older; a cancelled run's card and labelled charts;
 * another model loaded empties the Live tab and is named after its config, not "model".
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { newVisitor, points, prepareAlpsLayerRun, REPO, SHARED_MODELS, shot, waitForIdle, waitForJob } from './helpers';

test.describe.configure({ mode: 'serial' });

const DEFAULT_MODEL = join(REPO, 'public', 'default-model');
const STORIES = join(SHARED_MODELS, 'stories260K');

let page: Page;
let ready = false;

/** The job bar's clock in ms (its data-ms), or null when no job runs. */
async function clockMs(): Promise<number | null> {
  const v = await page.getByTestId('job-elapsed').getAttribute('data-ms', { timeout: 200 }).catch(() => null);
  return v === null ? null : Number(v);
}

/** Every clock reading until the job ends (about every 50 ms). */
async function clockUntilIdle(): Promise<number[]> {
  const seen: number[] = [];
  while ((await page.getByTestId('job-bar').count()) > 0) {
    const ms = await clockMs();
    if (ms !== null) seen.push(ms);
    await page.waitForTimeout(50);
  }
  return seen;
}

/** The layer view is in the window: its top just under the header, or all of it shown (a short one at the page's end). */
async function expectOpenedInView(panel: ReturnType<Page['getByTestId']>): Promise<void> {
  const height = page.viewportSize()!.height;
  await expect
    .poll(
      async () => {
        const box = await panel.boundingBox();
        return box !== null && box.y >= 40 && (box.y < 150 || box.y + box.height <= height + 1);
      },
      { timeout: 10_000 },
    )
    .toBe(true);
}

async function pruneWholeModel(method: string): Promise<void> {
  await page.getByTestId(`method-${method}`).click();
  await page.getByTestId('run-model').click();
  await waitForJob(page);
  const seen = await clockUntilIdle();
  for (const ms of seen) expect(ms).toBeGreaterThanOrEqual(0);
  await expect(page.getByTestId('error-banner')).toHaveCount(0);
}

test.beforeAll(async ({ browser }) => {
  page = await newVisitor(browser);
  await page.setViewportSize({ width: 1440, height: 900 });
});

test.afterAll(async () => {
  await page?.context().close();
});

test('a layer run: the bar names it, the clock starts at 0, stops while paused, and an end card gives the final numbers', async () => {
  test.skip(!existsSync(join(DEFAULT_MODEL, 'model.safetensors')), 'public/default-model/model.safetensors is missing');
  await prepareAlpsLayerRun(page);
  ready = true;

  const clicked = Date.now();
  await page.getByTestId('run-layer').click();
  await expect(page.getByTestId('job-bar')).toBeVisible();
  await expect(page.getByTestId('job-bar')).toContainText(/Pruning block 0 · mlp\.up_proj with ALPS, \d+% unstructured/);
  const first = (await clockMs()) ?? 0;
  expect(first).toBeGreaterThanOrEqual(0);
  expect(first).toBeLessThan(3000);
  await shot(page, 'arc-01-start');

  // Paused as soon as it runs: the clock must stand still for 2 s, then move on after Resume.
  await page.getByTestId('pause').click();
  await expect(page.getByTestId('job-progress')).toContainText('Paused');
  const pausedAt = Date.now();
  const held = (await clockMs())!;
  await page.waitForTimeout(2000);
  expect(await clockMs()).toBe(held);
  await page.getByTestId('resume').click();
  const pauseMs = Date.now() - pausedAt;
  await expect.poll(async () => (await clockMs()) ?? Infinity, { timeout: 10_000 }).toBeGreaterThan(held);

  let liveShot = false;
  const seen: number[] = [];
  while ((await page.getByTestId('job-bar').count()) > 0) {
    const ms = await clockMs();
    if (ms !== null) seen.push(ms);
    if (!liveShot && (await points(page, 'live-error-chart')) > 5) {
      liveShot = true;
      await shot(page, 'arc-02-live');
    }
    await page.waitForTimeout(50);
  }
  const wall = Date.now() - clicked;
  for (let i = 1; i < seen.length; i++) expect(seen[i]).toBeGreaterThanOrEqual(seen[i - 1]);
  for (const ms of seen) expect(ms).toBeGreaterThanOrEqual(0);
  await expect(page.getByTestId('error-banner')).toHaveCount(0);

  const card = page.getByTestId('end-card');
  await expect(card).toBeVisible();
  await expect(card).toHaveAttribute('data-status', 'finished');
  await expect(card).toHaveAttribute('data-kind', 'pruneLayer');
  const error = Number(await card.getByTestId('end-error').getAttribute('data-value'));
  expect(error).toBeGreaterThan(0);
  expect(error).toBeLessThan(1);
  expect(Number(await card.getByTestId('end-iterations').innerText())).toBeGreaterThan(0);
  // The job's time leaves the pause out: at most the wall time minus the pause (plus the clicks' slack).
  const jobMs = Number(await card.getByTestId('end-time').getAttribute('data-value'));
  console.log(`layer run: wall ${wall} ms, paused ${pauseMs} ms, job clock ${jobMs} ms, error ${error}`);
  expect(jobMs).toBeGreaterThan(0);
  expect(jobMs).toBeLessThanOrEqual(wall - pauseMs + 500);
  // The PCG refit's before and after are written with digits that tell them apart.
  const gain = card.getByTestId('refit-gain');
  const [before, after] = (await gain.innerText()).split(' → ');
  if (Number(await gain.getAttribute('data-before')) !== Number(await gain.getAttribute('data-after'))) expect(before.trim()).not.toBe(after.split(' ')[0].trim());
  await expect(gain).toContainText('%');
  await shot(page, 'arc-03-end-card-layer');

  // The card's button opens the layer, in view, with the heatmap value at the pointer.
  await card.getByTestId('end-open-layer').click();
  await expectOpenedInView(page.getByTestId('layer-panel'));
  const canvas = page.getByTestId('heatmap-mask').locator('canvas');
  await expect(canvas).toBeVisible({ timeout: 30_000 });
  await canvas.scrollIntoViewIfNeeded();
  const box = (await canvas.boundingBox())!;
  await canvas.hover({ position: { x: 20, y: 20 } });
  const tip = page.getByTestId('heatmap-mask-readout');
  await expect(tip).toContainText('kept');
  const tipBox = (await tip.boundingBox())!;
  // Beside the pointer, not under the map.
  expect(Math.abs(tipBox.y + tipBox.height / 2 - (box.y + 20))).toBeLessThan(30);
  expect(tipBox.y).toBeLessThan(box.y + box.height);
  await shot(page, 'arc-04-layer-inspector');
});

test('Compare draws its bars on a linear axis from 0 and writes the ratios', async () => {
  test.skip(!ready, 'the default model did not load');
  await page.getByTestId('run-compare').click();
  await waitForJob(page);
  const first = await clockMs();
  if (first !== null) expect(first).toBeLessThan(3000);
  await waitForIdle(page);
  await expect(page.getByTestId('error-banner')).toHaveCount(0);
  const bars = page.getByTestId('compare-bars');
  await expect(bars).toHaveAttribute('data-points', '4');
  await expect(bars).toHaveAttribute('data-scale', 'linear');
  expect(Number((await bars.getAttribute('data-domain'))!.split(',')[0])).toBe(0);
  await expect(page.getByTestId('compare-ratio')).toContainText(/Linear axis from 0.*\d\.\d\d×/);
  await expect(page.getByTestId('end-card')).toHaveAttribute('data-kind', 'compareLayer');
  await shot(page, 'arc-05-compare');

  // A row of the Layers table opens its layer in view (the table's top row is far above the panel).
  await page.getByTestId('tab-button-layers').click();
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.locator('[data-testid="result-row"][data-method="magnitude"]').click();
  const panel = page.getByTestId('layer-panel');
  await expect(panel).toContainText('Magnitude');
  await expectOpenedInView(panel);
});

test('a whole-model run ends with its mean error and a perplexity button; a second run keeps the first as older', async () => {
  test.skip(!ready, 'the default model did not load');
  test.setTimeout(8 * 60_000);
  await pruneWholeModel('magnitude');
  const card = page.getByTestId('end-card');
  await expect(card).toHaveAttribute('data-kind', 'pruneModel');
  await expect(card).toHaveAttribute('data-status', 'finished');
  const mean = Number(await card.getByTestId('end-error').getAttribute('data-value'));
  expect(mean).toBeGreaterThan(0);
  await shot(page, 'arc-06-end-card-model');
  await card.getByTestId('end-measure').click();
  await waitForJob(page);
  await waitForIdle(page);
  await expect(page.getByTestId('ppl-pruned')).toHaveText(/^\d+\.\d{3}$/);
  await expect(page.getByTestId('ppl-pruned-card')).toHaveAttribute('data-older', 'false');

  await pruneWholeModel('wanda');
  await page.getByTestId('tab-button-evaluate').click();
  await expect(page.getByTestId('ppl-pruned-card')).toHaveAttribute('data-older', 'true');
  await expect(page.getByTestId('older-result').first()).toBeVisible();
  const rows = page.getByTestId('model-run-row');
  await expect(rows).toHaveCount(2);
  await expect(rows.nth(0)).toHaveAttribute('data-older', 'false');
  await expect(rows.nth(0)).toContainText('Wanda');
  await expect(rows.nth(1)).toHaveAttribute('data-older', 'true');
  await expect(rows.nth(1)).toContainText('Magnitude');
  // The older run's perplexity stays beside it.
  await expect(rows.nth(1).locator('td').nth(5)).toHaveText(/^\d+\.\d{3}$/);
  await shot(page, 'arc-07-older-run');
});

test('a cancelled run says so and what was kept; its charts are labelled as the cancelled run', async () => {
  test.skip(!ready, 'the default model did not load');
  await page.getByTestId('method-alps').click();
  await page.getByTestId('run-model').click();
  await waitForJob(page);
  await expect.poll(() => points(page, 'live-error-chart'), { timeout: 120_000 }).toBeGreaterThan(2);
  await page.getByTestId('cancel').click();
  await waitForIdle(page);
  const card = page.getByTestId('end-card');
  await expect(card).toHaveAttribute('data-status', 'cancelled');
  await expect(card.getByTestId('end-kept')).toContainText(/Wanda, \d+% unstructured\) is still the pruned model/);
  await page.getByTestId('tab-button-live').click();
  await expect(page.getByTestId('live-owner')).toHaveAttribute('data-status', 'cancelled');
  await shot(page, 'arc-08-cancelled');
});

test('another model loaded: the Live tab is empty and the model is named after its config', async () => {
  test.skip(!ready || !existsSync(join(STORIES, 'model.safetensors')), 'stories260K is not in ../shared/models');
  const files = ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json'].map((f) => join(STORIES, f)).filter(existsSync);
  await page.getByTestId('model-files-input').setInputFiles(files);
  await page.getByTestId('tab-button-overview').click();
  await expect(page.getByTestId('model-summary')).toContainText('llama-', { timeout: 60_000 });
  await expect(page.getByTestId('model-summary').locator('h3')).not.toHaveText('model');
  await page.getByTestId('tab-button-live').click();
  await expect(page.getByTestId('live-owner')).toHaveCount(0);
  await expect(page.getByTestId('live-title')).toHaveText('Live convergence');
  await expect(page.getByTestId('live-error-chart')).toHaveCount(0);
  await expect(page.getByTestId('end-card')).toHaveCount(0);
  await shot(page, 'arc-09-new-model');
});
