/**
 * The bundled demo at the studio's default settings, as a first visit meets it: a whole-model
 * magnitude run and a whole-model ALPS run, each measured on the Evaluate tab. Method choice must
 * visibly matter: magnitude at least +10 % perplexity over dense and at least 3× ALPS's increase,
 * and the two greedy continuations differ.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { measurePerplexity, newVisitor, REPO, shot, waitForIdle, waitForJob } from './helpers';

const DEFAULT_MODEL = join(REPO, 'public', 'default-model');

interface Measured {
  seconds: number;
  dense: number;
  pruned: number;
  denseText: string;
  prunedText: string;
}

async function pruneAndMeasure(page: Page, method: 'magnitude' | 'alps'): Promise<Measured> {
  await page.getByTestId(`method-${method}`).click();
  const started = Date.now();
  await page.getByTestId('run-model').click();
  await waitForJob(page);
  await waitForIdle(page, 5 * 60_000);
  const seconds = (Date.now() - started) / 1000;
  await expect(page.getByTestId('error-banner')).toHaveCount(0);
  await measurePerplexity(page);
  const dense = Number(await page.getByTestId('ppl-dense').innerText());
  const pruned = Number(await page.getByTestId('ppl-pruned').innerText());
  await page.getByTestId('run-generate').click();
  await waitForJob(page);
  await waitForIdle(page);
  await expect(page.getByTestId('error-banner')).toHaveCount(0);
  const denseText = await page.getByTestId('gen-dense').innerText();
  const prunedText = await page.getByTestId('gen-pruned').innerText();
  await shot(page, `demo-${method}-evaluate`);
  return { seconds, dense, pruned, denseText, prunedText };
}

test('at the default settings magnitude and ALPS differ clearly, in perplexity and in the continuation', async ({ browser }) => {
  test.skip(!existsSync(join(DEFAULT_MODEL, 'model.safetensors')), 'public/default-model/model.safetensors is missing: train the default model first (scripts/default-model).');
  test.setTimeout(10 * 60_000);
  const page = await newVisitor(browser);
  await page.goto('/');
  await expect(page.getByTestId('model-summary')).toBeVisible({ timeout: 60_000 });
  const magnitude = await pruneAndMeasure(page, 'magnitude');
  const alps = await pruneAndMeasure(page, 'alps');
  const rise = (m: Measured) => m.pruned / m.dense - 1;
  console.log(
    `[demo] dense ${magnitude.dense}; magnitude ${magnitude.pruned} (+${(100 * rise(magnitude)).toFixed(1)} %, run ${magnitude.seconds.toFixed(0)} s); ` +
      `ALPS ${alps.pruned} (+${(100 * rise(alps)).toFixed(1)} %, run ${alps.seconds.toFixed(0)} s)\n` +
      `[demo] dense: ${magnitude.denseText}\n[demo] magnitude: ${magnitude.prunedText}\n[demo] ALPS: ${alps.prunedText}`,
  );
  expect(alps.dense).toBe(magnitude.dense);
  expect(rise(magnitude)).toBeGreaterThanOrEqual(0.1);
  expect(rise(magnitude)).toBeGreaterThanOrEqual(3 * rise(alps));
  expect(magnitude.prunedText).not.toBe(alps.prunedText);
  await page.context().close();
});
