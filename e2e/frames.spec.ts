/**
 * "See the support converge": a single-layer ALPS run on the bundled model streams one frame of
 * the layer's support per ρ update into the Live tab, where a player steps through them.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { newVisitor, prepareAlpsLayerRun, REPO, SCREENSHOTS, shot, waitForIdle, waitForJob } from './helpers';

const DEFAULT_MODEL = join(REPO, 'public', 'default-model');

async function frameCount(page: import('@playwright/test').Page): Promise<number> {
  const text = await page.getByTestId('mask-frame-count').textContent().catch(() => null);
  const match = /of (\d+)/.exec(text ?? '');
  return match ? Number(match[1]) : 0;
}

test('the mask animation gains frames during a single-layer ALPS run, and plays them back', async ({ browser }) => {
  test.skip(!existsSync(join(DEFAULT_MODEL, 'model.safetensors')), 'public/default-model/model.safetensors is missing: train the default model first (scripts/default-model).');
  const page = await newVisitor(browser);
  await prepareAlpsLayerRun(page);
  // Every frame count the page shows while the job bar is up, recorded in the page: a short solve
  // can commit several times between two polls from here.
  await page.evaluate(() => {
    const seen: number[] = [];
    (window as unknown as { framesSeen: number[] }).framesSeen = seen;
    const record = () => {
      const match = /of (\d+)/.exec(document.querySelector('[data-testid="mask-frame-count"]')?.textContent ?? '');
      const n = match ? Number(match[1]) : 0;
      if (n > 0 && n !== seen[seen.length - 1] && document.querySelector('[data-testid="job-bar"]')) seen.push(n);
    };
    new MutationObserver(record).observe(document.body, { subtree: true, childList: true, characterData: true });
  });
  await page.getByTestId('run-layer').click();
  await waitForJob(page);

  await waitForIdle(page);
  const seen = await page.evaluate(() => (window as unknown as { framesSeen: number[] }).framesSeen);
  console.log(`support frames seen during the run: ${seen.join(', ')}`);
  expect(seen.length, 'the frame count should have been seen growing at least twice during the run').toBeGreaterThanOrEqual(2);
  for (let i = 1; i < seen.length; i++) expect(seen[i]).toBeGreaterThan(seen[i - 1]);
  await expect(page.getByTestId('error-banner')).toHaveCount(0);

  // Finished: the newest frame is shown; it says what changed at its ρ update.
  const total = await frameCount(page);
  expect(total).toBeGreaterThanOrEqual(seen[seen.length - 1]);
  await expect(page.getByTestId('mask-frame-count')).toHaveText(`frame ${total} of ${total}`);
  await expect(page.getByTestId('mask-frame-info')).toContainText(/iteration \d+ · ρ .+ → .+ weights changed/);
  await shot(page, 'frames-02-finished');
  // The first ρ update: the most flips (orange).
  await page.getByTestId('mask-frame-scrub').fill('1');
  await expect(page.getByTestId('mask-frame-count')).toHaveText(`frame 2 of ${total}`);
  await page.getByTestId('mask-frames').screenshot({ path: join(SCREENSHOTS, 'frames-01-first-update.png') });

  // Scrub to the start, then play: the player steps forward on its own.
  await page.getByTestId('mask-frame-scrub').fill('0');
  await expect(page.getByTestId('mask-frame-count')).toHaveText(`frame 1 of ${total}`);
  await expect(page.getByTestId('mask-frame-info')).toContainText('start');
  await page.getByTestId('mask-frame-play').click();
  await expect(page.getByTestId('mask-frame-count')).not.toHaveText(`frame 1 of ${total}`, { timeout: 10_000 });
  await page.getByTestId('mask-frames').screenshot({ path: join(SCREENSHOTS, 'frames-03-playing.png') });

  // On a phone the picture shrinks with the panel, keeping the layer's aspect.
  await page.setViewportSize({ width: 390, height: 844 });
  const panel = (await page.getByTestId('mask-frames').boundingBox())!;
  const picture = (await page.getByTestId('mask-frame-canvas').boundingBox())!;
  expect(panel.x + panel.width).toBeLessThanOrEqual(390);
  expect(picture.x + picture.width).toBeLessThanOrEqual(panel.x + panel.width);
  // up_proj is 256 outputs × 96 inputs: rows down, inputs across.
  expect(Math.abs(picture.height / picture.width - 256 / 96)).toBeLessThan(0.1);
  await page.getByTestId('mask-frames').screenshot({ path: join(SCREENSHOTS, 'frames-04-phone.png') });
  await page.context().close();
});
