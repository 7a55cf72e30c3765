/**
 * A browser without WebGPU (Chromium on Linux without --enable-unsafe-webgpu): the studio says so,
 * explains how to turn it on, keeps the run buttons off, and still shows the model.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { REPO, shot } from './helpers';

test.use({
  launchOptions: {
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-features=WebGPU'],
  },
});

test('without WebGPU the studio explains how to enable it', async ({ page }) => {
  await page.goto('/');
  const notice = page.getByTestId('gpu-unavailable');
  await expect(notice).toBeVisible({ timeout: 30_000 });
  await expect(notice).toContainText('WebGPU');
  await expect(notice).toContainText('chrome://flags/#enable-unsafe-webgpu');
  await expect(page.getByTestId('gpu-chip')).toContainText('unavailable');
  if (existsSync(join(REPO, 'public', 'default-model', 'model.safetensors'))) {
    // Loading needs no GPU: the model is shown, but nothing can run.
    await expect(page.getByTestId('model-summary')).toBeVisible({ timeout: 60_000 });
    await expect(page.getByTestId('run-layer')).toBeDisabled();
    await expect(page.getByTestId('run-model')).toBeDisabled();
  }
  await shot(page, 'no-webgpu-01-notice');
});
