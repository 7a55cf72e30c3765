/**
 * A real Hugging Face model picked as a folder (the file input's webkitdirectory path), here the
 * shared stories260K: it loads and prunes just like the bundled model.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { newVisitor, points, setNumber, SHARED_MODELS, shot, waitForIdle, waitForJob } from './helpers';

const STORIES = join(SHARED_MODELS, 'stories260K');

test('stories260K picked as a folder loads and prunes a layer', async ({ browser }) => {
  test.skip(!existsSync(join(STORIES, 'model.safetensors')), `${STORIES} is absent: the shared test models are not on this machine.`);
  const config = JSON.parse(readFileSync(join(STORIES, 'config.json'), 'utf8')) as { num_hidden_layers: number; hidden_size: number };
  const page = await newVisitor(browser);
  await page.goto('/?samples=4&seqlen=64');
  await page.getByTestId('model-folder-input').setInputFiles(STORIES);
  await expect(page.getByTestId('model-summary')).toContainText('stories260K', { timeout: 60_000 });
  await expect(page.getByTestId('model-arch')).toHaveText('llama');
  await expect(page.getByTestId('model-blocks')).toHaveText(String(config.num_hidden_layers));
  // Seven linear layers per Llama block.
  await expect(page.getByTestId('linears-table').locator('tbody tr')).toHaveCount(7 * config.num_hidden_layers);
  await expect(page.getByTestId('model-chip')).toContainText('stories260K');
  await shot(page, 'stories260k-01-loaded');
  // Whatever the first visit's default-model load said is not this test's concern: clear it.
  for (const close of await page.locator('.banner-close').all()) await close.click();

  // Calibrate on the model's own domain: pasted TinyStories text when the shared data is here.
  const stories = join(SHARED_MODELS, '..', 'data', 'tinystories-val.txt');
  if (existsSync(stories)) {
    await page.getByTestId('cal-custom').check();
    await page.getByTestId('cal-text').fill(readFileSync(stories, 'utf8').slice(0, 20_000));
    await expect(page).toHaveURL(/cal=custom/);
  }
  await page.getByTestId('layer-select').selectOption('model.layers.1.self_attn.o_proj');
  await page.getByTestId('pattern-2:4').check();
  await setNumber(page, 'cal-samples', 4);
  await page.getByTestId('run-layer').click();
  await waitForJob(page);
  await waitForIdle(page);
  await expect(page.getByTestId('error-banner')).toHaveCount(0);
  expect(await points(page, 'live-error-chart')).toBeGreaterThan(0);
  await page.getByTestId('tab-button-layers').click();
  const row = page.locator('[data-testid="result-row"][data-layer="model.layers.1.self_attn.o_proj"]');
  await expect(row).toContainText('2:4');
  await expect(row).toContainText('50.0%');
  await row.click();
  await expect(page.getByTestId('heatmap-mask').locator('canvas')).toBeVisible({ timeout: 30_000 });
  await shot(page, 'stories260k-02-layer');
  await page.context().close();
});
