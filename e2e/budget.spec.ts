/**
 * The budget editor on the bundled model: open it, apply the OWL preset (bars move, the kept count
 * equals the uniform target's), drag one bar and type another layer's sparsity (the total follows; with "exact total" it
 * stays at the target), then a whole-model magnitude run with that budget: every layer's result
 * follows the planned sparsity and the weights kept over the model equal the target's exactly.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { newVisitor, REPO, SCREENSHOTS, setNumber, shot, waitForIdle, waitForJob } from './helpers';

test.describe.configure({ mode: 'serial' });

const DEFAULT_MODEL = join(REPO, 'public', 'default-model');
let page: Page;

test.beforeAll(async ({ browser }) => {
  page = await newVisitor(browser);
});

test.afterAll(async () => {
  await page?.context().close();
});

const planned = async () => ((await page.getByTestId('budget-chart').getAttribute('data-planned')) ?? '').split(',').map(Number);
const kept = async () => {
  const el = page.getByTestId('budget-kept');
  return { kept: Number(await el.getAttribute('data-kept')), target: Number(await el.getAttribute('data-target')) };
};

test('the budget editor: OWL preset, a typed layer, a whole-model run at the exact total', async () => {
  test.skip(!existsSync(join(DEFAULT_MODEL, 'model.safetensors')), 'public/default-model/model.safetensors is missing');
  test.setTimeout(150_000);
  await page.goto('/?sparsity=0.7&method=magnitude');
  await expect(page.getByTestId('model-summary')).toBeVisible({ timeout: 60_000 });
  await setNumber(page, 'cal-samples', 4);
  await setNumber(page, 'cal-seqlen', 64);

  await page.getByTestId('sparsity-profile').selectOption('custom');
  await expect(page.getByTestId('budget-chart')).toBeVisible();
  await expect(page.getByTestId('edit-budget')).toBeVisible();
  await page.locator('.side-section').filter({ has: page.getByTestId('sparsity-profile') }).screenshot({ path: join(SCREENSHOTS, 'budget-00-profile-custom.png') });
  const uniform = await planned();
  expect(uniform.length).toBeGreaterThan(8);
  expect(uniform.every((v) => Math.abs(v - 0.7) < 1e-3)).toBe(true);
  const start = await kept();
  expect(start.kept).toBe(start.target);

  await page.getByTestId('budget-owl').click();
  await waitForJob(page);
  await waitForIdle(page, 60_000);
  await expect(page.getByTestId('error-banner')).toHaveCount(0);
  await expect.poll(async () => (await planned()).some((v) => Math.abs(v - 0.7) > 0.01)).toBe(true);
  const owl = await planned();
  expect(Math.max(...owl) - Math.min(...owl)).toBeGreaterThan(0.02);
  expect(owl.every((v) => v >= 0.7 - 0.08 - 1e-3 && v <= 0.7 + 0.08 + 1e-3)).toBe(true);
  const afterOwl = await kept();
  expect(afterOwl.kept).toBe(afterOwl.target);
  await shot(page, 'budget-01-owl-preset');

  // Without the exact total: the last bar dragged up, then the first layer typed; the kept count moves off the target.
  await page.getByTestId('budget-exact').uncheck();
  const box = (await page.getByTestId('budget-chart').boundingBox())!;
  const x = box.x + (box.width * (owl.length - 0.5)) / owl.length;
  await page.mouse.move(x, box.y + box.height * 0.5);
  await page.mouse.down();
  await page.mouse.move(x, box.y + box.height * 0.1, { steps: 5 });
  await page.mouse.up();
  await expect.poll(async () => (await planned())[owl.length - 1]).toBeCloseTo(0.9, 2);
  const dragged = await kept();
  expect(dragged.kept).toBeLessThan(dragged.target);
  const first = (await page.getByTestId('budget-layer').locator('option').first().getAttribute('value'))!;
  await page.getByTestId('budget-layer').selectOption(first);
  await page.getByTestId('budget-value').fill('20');
  await page.getByTestId('budget-value').press('Enter');
  await expect.poll(async () => (await planned())[0]).toBeCloseTo(0.2, 3);
  const loose = await kept();
  expect(loose.kept).toBeGreaterThan(dragged.kept);
  await shot(page, 'budget-02-typed-layer');

  // Exact total on: every layer shifts by one amount, the count is the target's again.
  await page.getByTestId('budget-exact').check();
  await expect.poll(async () => (await kept()).kept).toBe(loose.target);
  const plan = await planned();
  expect(plan[0]).toBeLessThan(0.3);
  expect(plan[owl.length - 1]).toBeGreaterThan(0.8);
  await shot(page, 'budget-03-exact-total');

  const ids = await page.getByTestId('budget-layer').locator('option').evaluateAll((els) => els.map((e) => (e as HTMLOptionElement).value));
  await page.getByTestId('run-model').click();
  await waitForJob(page);
  await waitForIdle(page, 90_000);
  await expect(page.getByTestId('error-banner')).toHaveCount(0);
  await page.getByTestId('tab-button-download').click();
  const [json] = await Promise.all([page.waitForEvent('download'), page.getByTestId('report-json').click()]);
  const report = JSON.parse(readFileSync(await json.path(), 'utf8')) as { modelRun: { report: { id: string; sparsity: number; shape: [number, number] }[] } };
  const rows = report.modelRun.report;
  expect(rows).toHaveLength(plan.length);
  const byId = new Map(ids.map((id, i) => [id, plan[i]]));
  for (const r of rows) expect(Math.abs(r.sparsity - byId.get(r.id)!), r.id).toBeLessThan(2e-3);
  const keptWeights = rows.reduce((a, r) => a + Math.round((1 - r.sparsity) * r.shape[0] * r.shape[1]), 0);
  expect(keptWeights).toBe(loose.target);
  await page.getByTestId('tab-button-layers').click();
  await shot(page, 'budget-04-run-layers');
});
