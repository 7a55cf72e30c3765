/**
 * The studio at real depth: a 30-block Llama (210 linears, SmolLM2-135M's layer count at narrow
 * widths, written here with the unit tests' builder) dropped through the folder input while the page
 * records its longest main-thread task (PerformanceObserver 'longtask') and its longest gap between
 * animation frames. Grouped layer lists, a filter, a jump from the sidebar, one layer prune, a
 * whole-model magnitude run (210 results streaming in) and a layer's heatmaps: no main-thread task
 * may take over 100 ms.
 */
import { copyFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { writeSafetensors } from '../src/formats/safetensors';
import { llamaCheckpoint } from '../test/helpers/checkpoints';
import { newVisitor, REPO, shot, waitForIdle, waitForJob } from './helpers';
import { mainThreadStep, monitorMainThread, readMainThread } from './mainThread';

test.describe.configure({ mode: 'serial' });

const DEFAULT_MODEL = join(REPO, 'public', 'default-model');
const BLOCKS = 30;
const LINEARS = 7 * BLOCKS;
/** The longest main-thread task allowed while loading and running (the budget). */
const MAX_TASK_MS = 100;
const TARGET = 'model.layers.17.mlp.down_proj';

let page: Page;
let root = '';

test.beforeAll(async ({ browser }) => {
  page = await newVisitor(browser);
  await page.addInitScript(monitorMainThread);
  root = mkdtempSync(join(tmpdir(), 'prune-scale-'));
});

test.afterAll(async () => {
  await page?.context().close();
  if (root) rmSync(root, { recursive: true, force: true });
});

test('a 30-block model loads into grouped layer lists without blocking the page', async () => {
  test.skip(!existsSync(join(DEFAULT_MODEL, 'tokenizer.json')), 'the bundled tokenizer is missing (public/default-model).');
  // Narrow widths, real depth; the bundled tokenizer's 768 ids match the embedding table.
  const ck = llamaCheckpoint({ hidden: 64, layers: BLOCKS, heads: 4, kvHeads: 2, intermediate: 160, vocab: 768, seed: 11 });
  writeFileSync(join(root, 'model.safetensors'), writeSafetensors([...ck.tensors].map(([name, t]) => ({ name, dtype: 'F32' as const, shape: t.shape, data: t.data }))));
  writeFileSync(join(root, 'config.json'), JSON.stringify({ ...ck.config, bos_token_id: 1, eos_token_id: 2 }));
  for (const file of ['tokenizer.json', 'tokenizer_config.json']) copyFileSync(join(DEFAULT_MODEL, file), join(root, file));

  await page.goto('/?samples=2&seqlen=16&method=magnitude');
  await expect(page.getByTestId('model-summary')).toBeVisible({ timeout: 60_000 });
  await expect(page.getByTestId('gpu-adapter')).toContainText(/swiftshader/i, { timeout: 60_000 });
  // From here on every main-thread task counts: the page's own start-up is not "loading or running".
  await mainThreadStep(page, 'load');

  await page.getByTestId('model-folder-input').setInputFiles(root);
  await expect(page.getByTestId('model-blocks')).toHaveText(String(BLOCKS), { timeout: 60_000 });
  await expect(page.getByTestId('error-banner')).toHaveCount(0);
  await expect(page.getByTestId('layer-filter-count')).toHaveText(`${LINEARS} rows`);
  const list = page.getByTestId('linear-list');
  // One summary row per block; only the selected layer's block (block 0) has its rows in the page.
  await expect(list.getByTestId('block-row')).toHaveCount(BLOCKS);
  await expect(list.getByTestId('linear-row')).toHaveCount(7);
  await expect(list.locator('[data-testid="block-row"][data-open="true"]')).toHaveCount(1);

  // Scroll the list to its end and open the last block.
  await mainThreadStep(page, 'list');
  await list.hover();
  for (let i = 0; i < 6; i++) await page.mouse.wheel(0, 400);
  const last = list.locator(`[data-testid="block-row"][data-block="${BLOCKS - 1}"]`);
  await expect(last).toBeInViewport();
  await last.click();
  await expect(list.getByTestId('linear-row')).toHaveCount(14);
  await expect(list.locator(`tr[data-layer="model.layers.${BLOCKS - 1}.mlp.down_proj"]`)).toBeVisible();
  await shot(page, 'scale-01-overview-grouped');

  // A filter opens the blocks it needs: a role across all blocks, then one block by number.
  const filter = page.getByTestId('layer-filter').first();
  await filter.fill('down_proj');
  await expect(list.getByTestId('linear-row')).toHaveCount(BLOCKS);
  await expect(page.getByTestId('layer-filter-count')).toHaveText(`${BLOCKS} of ${LINEARS} match`);
  await filter.fill('12');
  await expect(list.getByTestId('linear-row')).toHaveCount(7);
  await filter.fill('');
  await expect(list.getByTestId('linear-row')).toHaveCount(14);

  // Jumping from the sidebar's layer menu opens that layer's block and shows its row.
  await page.getByTestId('layer-select').selectOption(TARGET);
  const target = list.locator(`tr[data-layer="${TARGET}"]`);
  await expect(target).toHaveClass(/selected/);
  await expect(target).toBeInViewport();
});

test('one layer prune, a whole-model run and a heatmap keep every main-thread task under 100 ms', async () => {
  test.skip(root === '' || !existsSync(join(root, 'config.json')), 'the model was not written');
  await mainThreadStep(page, 'layer prune');
  await page.getByTestId('method-magnitude').click();
  await page.getByTestId('run-layer').click();
  await waitForJob(page);
  await waitForIdle(page);
  await expect(page.getByTestId('error-banner')).toHaveCount(0);

  // 210 results stream in while the run goes on.
  await mainThreadStep(page, 'whole-model run');
  await page.getByTestId('run-model').click();
  await waitForJob(page);
  await waitForIdle(page);
  await expect(page.getByTestId('error-banner')).toHaveCount(0);

  await mainThreadStep(page, 'results list');
  await page.getByTestId('tab-button-layers').click();
  const results = page.getByTestId('layer-list');
  await expect(results.getByTestId('block-row')).toHaveCount(BLOCKS);
  await expect(page.getByTestId('layer-filter-count')).toHaveText(`${LINEARS + 1} rows`);
  const block17 = results.locator('[data-testid="block-row"][data-block="17"]');
  await expect(block17.getByTestId('block-status')).toHaveAttribute('data-status', 'done');
  await expect(block17.getByTestId('block-sparsity')).toHaveText('70.0%');
  await expect(block17.getByTestId('block-worst-error')).toContainText('max ');
  // The layer run's result was selected when it finished: its block is open.
  await expect(block17).toHaveAttribute('data-open', 'true');
  await results.locator('[data-testid="block-row"][data-block="3"]').click();
  await expect(results.getByTestId('result-row')).toHaveCount(7 + 8);

  await mainThreadStep(page, 'heatmap');
  await results.locator(`[data-testid="result-row"][data-layer="${TARGET}"]`, { hasText: 'whole model' }).click();
  await expect(page.getByTestId('heatmap-mask').locator('canvas')).toBeVisible({ timeout: 30_000 });
  await expect(page.getByTestId('layer-histogram')).toHaveAttribute('data-points', '40');
  await page.getByTestId('heatmap-magnitude').locator('canvas').hover({ position: { x: 20, y: 10 } });
  await expect(page.getByTestId('heatmap-magnitude-readout')).toContainText('max |W| =');
  await page.getByTestId('heatmap-mask').scrollIntoViewIfNeeded();
  await shot(page, 'scale-02-layers-grouped-heatmap');

  const m = await readMainThread(page);
  console.log(`[scale] longest main-thread task ${m.longestTask.toFixed(0)} ms (${m.tasks} long tasks over 50 ms); longest gap between animation frames ${m.longestFrameGap.toFixed(0)} ms; longest per step ${JSON.stringify(m.byStep)}`);
  // A task's duration is wall time: on a CPU oversubscribed by other processes the page's own short
  // tasks are preempted into long ones. There the budget cannot be judged, and the test says so.
  const [load] = loadavg();
  const cores = cpus().length;
  test.skip(
    m.longestTask > MAX_TASK_MS && load > 3 * cores,
    `longest task ${m.longestTask.toFixed(0)} ms, but the machine is oversubscribed (load ${load.toFixed(1)} on ${cores} cores): not the page's own blocking`,
  );
  expect(m.longestTask).toBeLessThanOrEqual(MAX_TASK_MS);
});
