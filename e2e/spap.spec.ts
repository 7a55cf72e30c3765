/**
 * Structured pruning (SPAP) of the bundled default model, step by step on one page: choose SPAP and
 * the fraction of MLP channels, watch the penalty path and the per-block errors while it runs (with
 * pause and resume), see which channels each block kept, evaluate the smaller model, download it and
 * check its config and tensor shapes, reload.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { generateContinuations, measurePerplexity, newVisitor, parseSafetensors, points, REPO, SCREENSHOTS, shot, waitForIdle, waitForJob } from './helpers';

test.describe.configure({ mode: 'serial' });

const DEFAULT_MODEL = join(REPO, 'public', 'default-model');
const FRACTION = 0.25;

interface Config {
  intermediate_size: number;
  hidden_size: number;
  num_hidden_layers: number;
}

let page: Page;
let config: Config | null = null;
let kept = 0;
let finished = false;

test.beforeAll(async ({ browser }) => {
  page = await newVisitor(browser);
});

test.afterAll(async () => {
  await page?.context().close();
});

test('choosing SPAP switches the pattern controls to a fraction of MLP channels and a selection', async () => {
  test.skip(!existsSync(join(DEFAULT_MODEL, 'model.safetensors')), 'public/default-model/model.safetensors is missing: train the default model first (scripts/default-model).');
  config = JSON.parse(readFileSync(join(DEFAULT_MODEL, 'config.json'), 'utf8')) as Config;
  kept = config.intermediate_size - Math.round(FRACTION * config.intermediate_size);
  // Small calibration keeps SwiftShader runs short: 4 windows of 64 tokens.
  await page.goto('/?samples=4&seqlen=64');
  await expect(page.getByTestId('model-summary')).toBeVisible({ timeout: 60_000 });
  await expect(page.getByTestId('pattern-unstructured')).toBeVisible();

  await page.getByTestId('method-spap').click();
  await expect(page.getByTestId('pattern-unstructured')).toHaveCount(0);
  await expect(page.getByTestId('run-layer')).toHaveCount(0);
  await expect(page.getByTestId('run-compare')).toHaveCount(0);
  await page.getByTestId('channel-fraction').fill(String(FRACTION));
  await expect(page.getByTestId('channel-fraction-value')).toHaveText(`${FRACTION * 100}%`);
  await expect(page.getByTestId('selection-spap')).toBeChecked();
  // The baselines are one click away; the run below uses SPAP itself.
  await page.getByTestId('selection-weight-norm').check();
  await expect(page).toHaveURL(/selection=weight-norm/);
  await page.getByTestId('selection-spap').check();
  await expect(page).toHaveURL(/method=spap/);
  await expect(page).toHaveURL(/channels=0\.25/);
  await expect(page).not.toHaveURL(/selection=/);
  await expect(page.getByTestId('error-banner')).toHaveCount(0);
  // The sidebar scrolls on its own above the sticky run buttons: scroll it down to show the SPAP
  // controls, in a viewport-sized shot (a full-page one stretches the sidebar).
  await page.locator('.sidebar').evaluate((el) => (el.scrollTop = el.scrollHeight));
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, 'spap-01-settings.png') });
});

test('the whole-model SPAP run charts its penalty path and per-block errors while it runs, with pause and resume', async () => {
  expect(config, 'the default model must have loaded (the test before)').toBeTruthy();
  test.setTimeout(5 * 60_000);
  await page.getByTestId('run-model').click();
  await waitForJob(page);
  await expect(page.getByTestId('job-progress')).toContainText(/Block \d of \d/, { timeout: 60_000 });

  // Sample while it runs: within a block the penalty-step chart must grow between observations,
  // and the per-block chart must gain bars.
  const perBlock = new Map<string, number[]>();
  const blockBars: number[] = [];
  let midShot = false;
  let pausedOnce = false;
  while ((await page.getByTestId('job-bar').count()) > 0) {
    // Bars first: a block finishing between the two reads then cannot pair a stale step count with them.
    const bars = await points(page, 'block-error-chart');
    if (bars !== blockBars[blockBars.length - 1]) blockBars.push(bars);
    const title = (await page.getByTestId('live-title').innerText().catch(() => '')) || '';
    const n = await points(page, 'spap-live-error-chart');
    const seen = perBlock.get(title) ?? [];
    if (n > 0 && n !== seen[seen.length - 1]) perBlock.set(title, [...seen, n]);
    if (!midShot && n > 4 && bars >= 1) {
      midShot = true;
      await shot(page, 'spap-02-running');
    }
    if (!pausedOnce && bars >= 1 && n > 2) {
      pausedOnce = true;
      await page.getByTestId('pause').click();
      await expect(page.getByTestId('job-progress')).toContainText('Paused');
      // A step already under way may still report; after that nothing moves.
      await page.waitForTimeout(700);
      const frozen = [await points(page, 'spap-live-error-chart'), await points(page, 'block-error-chart')];
      await page.waitForTimeout(1500);
      expect([await points(page, 'spap-live-error-chart'), await points(page, 'block-error-chart')]).toEqual(frozen);
      await shot(page, 'spap-03-paused');
      await page.getByTestId('resume').click();
      await expect(page.getByTestId('job-progress')).not.toContainText('Paused');
    }
    await page.waitForTimeout(40);
  }
  console.log(`penalty-step points seen per block: ${JSON.stringify(Object.fromEntries(perBlock))}; block bars seen: ${blockBars.join(', ')}`);
  expect(pausedOnce, 'the run should have been paused once').toBe(true);
  const growing = [...perBlock.values()].filter((seq) => seq.length >= 2);
  expect(growing.length, 'some block should have been observed with at least two growing point counts').toBeGreaterThan(0);
  for (const seq of growing) for (let i = 1; i < seq.length; i++) expect(seq[i]).toBeGreaterThan(seq[i - 1]);
  expect(blockBars.filter((b) => b > 0).length, 'the per-block chart should have grown during the run').toBeGreaterThanOrEqual(2);

  await expect(page.getByTestId('error-banner')).toHaveCount(0);
  expect(await points(page, 'block-error-chart')).toBe(config!.num_hidden_layers);
  expect(await points(page, 'spap-live-changed-chart')).toBeGreaterThan(0);
  expect(await points(page, 'spap-live-rho-chart')).toBeGreaterThan(0);
  await expect(page.getByTestId('live-stats')).toContainText('step');
  finished = true;
  await shot(page, 'spap-04-finished');
});

test('the channel view shows which channels each block kept, and the parameters before and after', async () => {
  expect(finished, 'the SPAP run (the test before) must have finished').toBe(true);
  await page.getByTestId('tab-button-channels').click();
  const map = page.getByTestId('channel-map');
  await expect(map).toHaveAttribute('data-blocks', String(config!.num_hidden_layers));
  await expect(map).toHaveAttribute('data-kept', Array(config!.num_hidden_layers).fill(kept).join(','));
  await expect(page.getByTestId('mlp-width')).toHaveText(`${config!.intermediate_size} → ${kept}`);
  const before = Number(await page.getByTestId('params-before').getAttribute('data-value'));
  const after = Number(await page.getByTestId('params-after').getAttribute('data-value'));
  // Each block loses (I − k) rows of gate and up and (I − k) columns of down.
  expect(before - after).toBe(config!.num_hidden_layers * 3 * config!.hidden_size * (config!.intermediate_size - kept));

  const canvas = page.getByTestId('channel-map-canvas');
  const box = (await canvas.boundingBox())!;
  await canvas.hover({ position: { x: box.width * 0.5, y: 5 } });
  await expect(page.getByTestId('channel-map-readout')).toHaveText(/^block 0 · channel \d+: (kept|removed)$/);
  await expect(page.getByTestId('block-row')).toHaveCount(config!.num_hidden_layers);
  await page.getByTestId('block-row').first().click();
  expect(await points(page, 'spap-block-error-chart')).toBeGreaterThan(0);
  await shot(page, 'spap-05-channels');
});

test('evaluate compares the dense and the smaller model: perplexity and a greedy continuation', async () => {
  expect(finished, 'the SPAP run (the test before) must have finished').toBe(true);
  await measurePerplexity(page, 128, 1024);
  const dense = Number(await page.getByTestId('ppl-dense').innerText());
  const structured = Number(await page.getByTestId('ppl-structured').innerText());
  console.log(`perplexity dense ${dense}, ${FRACTION * 100}% MLP channels removed by SPAP ${structured}`);
  expect(dense).toBeGreaterThan(1);
  expect(Number.isFinite(structured)).toBe(true);
  // Removing a quarter of the MLP costs something, but a refit model stays far from chance (the vocabulary size).
  expect(structured).toBeGreaterThan(dense * 0.9);
  expect(structured).toBeLessThan(dense * 3);
  await expect(page.getByTestId('ppl-pruned')).toHaveCount(0);

  await generateContinuations(page, 'gen-structured');
  await shot(page, 'spap-06-evaluate');
});

test('the download is the smaller checkpoint: config.json and tensor shapes match the kept channels', async () => {
  expect(finished, 'the SPAP run (the test before) must have finished').toBe(true);
  const c = config!;
  await page.getByTestId('tab-button-download').click();
  await page.getByTestId('prepare-structured-download').click();
  const link = page.getByTestId('structured-model.safetensors');
  await expect(link).toBeVisible({ timeout: 60_000 });
  const save = async (name: string) => {
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId(`structured-${name}`).click()]);
    return readFileSync(await download.path());
  };
  const written = JSON.parse((await save('config.json')).toString('utf8')) as Config;
  expect(written.intermediate_size).toBe(kept);
  expect(written.hidden_size).toBe(c.hidden_size);

  const report = JSON.parse((await save('prune_report.json')).toString('utf8')) as { method: string; fraction: number; parameters: { before: number; after: number }; blocks: { block: number; kept: number[] }[] };
  expect(report.method).toBe('spap');
  expect(report.fraction).toBe(FRACTION);
  expect(report.blocks).toHaveLength(c.num_hidden_layers);

  const { tensors, metadata } = parseSafetensors(await save('model.safetensors'));
  expect(metadata.method).toBe('spap');
  const original = parseSafetensors(readFileSync(join(DEFAULT_MODEL, 'model.safetensors'))).tensors;
  expect([...tensors.keys()].sort()).toEqual([...original.keys()].sort());
  let parameters = 0;
  for (const [name, t] of tensors) {
    parameters += t.shape.reduce((a, b) => a * b, 1);
    const block = /\.layers\.(\d+)\.mlp\.(gate_proj|up_proj|down_proj)\.weight$/.exec(name);
    if (!block) {
      // Everything outside the MLPs is the dense model's, byte for byte.
      expect(t.shape, name).toEqual(original.get(name)!.shape);
      expect(Buffer.compare(Buffer.from(t.data), Buffer.from(original.get(name)!.data)), name).toBe(0);
      continue;
    }
    if (block[2] === 'down_proj') {
      expect(t.shape, name).toEqual([c.hidden_size, kept]);
      continue;
    }
    expect(t.shape, name).toEqual([kept, c.hidden_size]);
    // gate/up keep the chosen rows unchanged (only down_proj is refit).
    const keptRows = report.blocks[Number(block[1])].kept;
    expect(keptRows).toHaveLength(kept);
    const row = c.hidden_size * 4;
    const dense = original.get(name)!.data;
    keptRows.forEach((r, i) => expect(Buffer.compare(Buffer.from(t.data.subarray(i * row, (i + 1) * row)), Buffer.from(dense.subarray(r * row, (r + 1) * row))), `${name} row ${r}`).toBe(0));
  }
  expect(parameters).toBe(report.parameters.after);

  const [csv] = await Promise.all([page.waitForEvent('download'), (async () => {
    await page.getByTestId('tab-button-channels').click();
    await page.getByTestId('channel-report-csv').click();
  })()]);
  const lines = readFileSync(await csv.path(), 'utf8').trim().split('\n');
  expect(lines[0]).toContain('kept_channels');
  expect(lines).toHaveLength(1 + c.num_hidden_layers);
  await page.getByTestId('tab-button-download').click();
  await shot(page, 'spap-07-download');
});

test('the SPAP settings stay in the URL and the structured result survives a reload', async () => {
  expect(finished, 'the SPAP run (the test before) must have finished').toBe(true);
  await page.reload();
  await expect(page.getByTestId('model-summary')).toBeVisible({ timeout: 60_000 });
  await expect(page.getByTestId('method-spap')).toHaveAttribute('aria-checked', 'true');
  await expect(page.getByTestId('channel-fraction-value')).toHaveText(`${FRACTION * 100}%`);
  await page.getByTestId('tab-button-channels').click();
  await expect(page.getByTestId('channel-map')).toHaveAttribute('data-kept', Array(config!.num_hidden_layers).fill(kept).join(','), { timeout: 30_000 });
  await page.getByTestId('tab-button-live').click();
  expect(await points(page, 'block-error-chart')).toBe(config!.num_hidden_layers);
  // The engine kept the smaller model too: evaluation measures it again without a new run.
  await page.getByTestId('tab-button-evaluate').click();
  await expect(page.getByTestId('ppl-structured')).not.toHaveText('');
  await measurePerplexity(page);
  expect(Number(await page.getByTestId('ppl-structured').innerText())).toBeGreaterThan(1);
  await shot(page, 'spap-08-after-reload');
});

test('a baseline selection (weight norm) runs with the same refit and is compared with SPAP', async () => {
  expect(finished, 'the SPAP run (the test before) must have finished').toBe(true);
  await page.getByTestId('selection-weight-norm').check();
  await page.getByTestId('run-model').click();
  await waitForJob(page);
  await expect(page.getByTestId('tab-live')).toContainText('ranks the channels in one pass');
  await waitForIdle(page);
  await expect(page.getByTestId('error-banner')).toHaveCount(0);
  expect(await points(page, 'block-error-chart')).toBe(config!.num_hidden_layers);
  await page.getByTestId('tab-button-channels').click();
  const rows = page.getByTestId('structured-history-row');
  await expect(rows).toHaveCount(2);
  await expect(rows.first()).toHaveAttribute('data-selection', 'weight-norm');
  await expect(page.getByTestId('channel-map')).toHaveAttribute('data-kept', Array(config!.num_hidden_layers).fill(kept).join(','));
  const mean = async (i: number) => Number(await rows.nth(i).locator('td').nth(3).innerText());
  const [weightNorm, spap] = [await mean(0), await mean(1)];
  console.log(`mean refit error over blocks at ${FRACTION * 100}%: SPAP ${spap}, weight norm ${weightNorm}`);
  expect(Number.isFinite(weightNorm) && Number.isFinite(spap)).toBe(true);
  // SPAP weighs each channel by what removing it costs this objective: it must not lose to the plain norm.
  expect(spap).toBeLessThanOrEqual(weightNorm);
  await shot(page, 'spap-09-selections-compared');
});

test('cancelling a SPAP run keeps the previous structured model', async () => {
  expect(finished, 'the SPAP run (the test before) must have finished').toBe(true);
  await page.getByTestId('selection-spap').check();
  await page.getByTestId('run-model').click();
  await waitForJob(page);
  await expect.poll(() => points(page, 'spap-live-error-chart'), { timeout: 60_000 }).toBeGreaterThan(0);
  await page.getByTestId('cancel').click();
  await waitForIdle(page);
  await expect(page.getByTestId('info-banner').filter({ hasText: 'Run cancelled' })).toBeVisible();
  await expect(page.getByTestId('error-banner')).toHaveCount(0);
  await page.getByTestId('tab-button-channels').click();
  await expect(page.getByTestId('structured-history-row')).toHaveCount(2);
  await expect(page.getByTestId('structured-history-row').first()).toHaveAttribute('data-selection', 'weight-norm');
  await page.getByTestId('tab-button-download').click();
  await expect(page.getByTestId('prepare-structured-download')).toBeEnabled();
});
