/**
 * Learning as you watch: every setting of ALPS and SPAP (and of calibration, the pattern, the
 * sparsity, the run) has a help button whose popover explains it; the buttons work by keyboard and
 * by touch; the live charts explain their jargon ("P_k(B)", "changed / k", "max column residual /
 * ‖Y_j‖"), Evaluate its "exp(mean next-token NLL)". The first visit opens a tour that points at the
 * model, method, Run and the tabs; it does not come back once dismissed, and the header reopens it.
 * Screenshots: e2e/screenshots/help-*.png and tour-<width>-*.png.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test, type Browser, type Page } from '@playwright/test';
import { newVisitor, SCREENSHOTS, TOUR_KEY, waitForIdle, waitForJob } from './helpers';

test.describe.configure({ mode: 'serial' });

async function view(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`) });
}

/** Opens the help button `help-<topic>` (the first one), checks its text, closes it with Escape; returns the text. */
async function readHelp(page: Page, topic: string, expected?: RegExp): Promise<string> {
  const button = page.getByTestId(`help-${topic}`).first();
  await button.scrollIntoViewIfNeeded();
  await button.click();
  const popover = page.getByTestId('help-popover');
  await expect(popover, `help of ${topic}`).toBeVisible();
  await expect(button).toHaveAttribute('aria-expanded', 'true');
  const text = (await popover.innerText()).trim();
  expect(text.length, `help of ${topic}: "${text}"`).toBeGreaterThan(60);
  if (expected) expect(text, `help of ${topic}`).toMatch(expected);
  await page.keyboard.press('Escape');
  await expect(popover).toHaveCount(0);
  await expect(button).toBeFocused();
  return text;
}

/** Every labelled number field, slider and settings heading of the sidebar carries a help button. */
async function everySettingHasHelp(page: Page): Promise<void> {
  const missing = await page.locator('.sidebar').evaluate((sidebar) =>
    [...sidebar.querySelectorAll('label.field, label.slider, .alps-settings h3, [aria-label="Sparsity pattern"], .radio-column')]
      .filter((el) => !el.querySelector('.help-button'))
      .map((el) => (el.textContent ?? '').trim().slice(0, 40)),
  );
  expect(missing, 'settings without a help button').toEqual([]);
}

async function firstVisit(browser: Browser, width: number, height: number, touch = false): Promise<Page> {
  // No tour key: this is what a real first visit looks like.
  const context = await browser.newContext({ viewport: { width, height }, hasTouch: touch, isMobile: touch });
  const page = await context.newPage();
  page.on('pageerror', (error) => console.log(`[page error] ${error.message}`));
  return page;
}

test('every ALPS and SPAP setting, and every other setting, has help text', async ({ browser }) => {
  test.setTimeout(2 * 60_000);
  const page = await newVisitor(browser);
  await page.setViewportSize({ width: 1440, height: 900 });
  await page.goto('/?samples=4&seqlen=64');
  await expect(page.getByTestId('model-line')).toBeVisible({ timeout: 60_000 });
  await expect(page.getByTestId('tour-card')).toHaveCount(0);

  await everySettingHasHelp(page);
  await readHelp(page, 'model');
  await readHelp(page, 'calibration-text');
  await readHelp(page, 'cal-samples');
  await readHelp(page, 'cal-seqlen');
  await readHelp(page, 'cal-seed');
  await readHelp(page, 'method', /SPAP/);
  for (const m of ['alps', 'sparsegpt', 'wanda', 'magnitude']) {
    await page.getByTestId(`method-${m}`).click();
    await readHelp(page, `method-${m}`);
  }
  await page.getByTestId('method-alps').click();
  await readHelp(page, 'pattern', /2:4/);
  await readHelp(page, 'sparsity', /k = round/);
  await readHelp(page, 'profile', /OWL/);
  // ALPS: the group (with the fixed constants, damping among them) and each setting, with its default.
  await readHelp(page, 'alps-settings', /damping 0\.01/);
  await readHelp(page, 'alps-rho0', /0\.1/);
  await readHelp(page, 'alps-iters', /300/);
  await readHelp(page, 'alps-every', /3 iterations/);
  await readHelp(page, 'alps-pcg', /10/);
  await readHelp(page, 'refine');
  await readHelp(page, 'layer-select');
  await readHelp(page, 'run');
  const popover = page.getByTestId('help-popover');
  await page.getByTestId('help-alps-rho0').click();
  await view(page, 'help-01-alps-rho0');
  await page.keyboard.press('Escape');
  await expect(popover).toHaveCount(0);

  // SPAP's settings replace the pattern and the ALPS settings.
  await page.getByTestId('method-spap').click();
  await everySettingHasHelp(page);
  await readHelp(page, 'method-spap', /channel/);
  await readHelp(page, 'spap-fraction');
  if ((await page.getByTestId('head-fraction').count()) > 0) await readHelp(page, 'spap-heads', /key\/value head/);
  await readHelp(page, 'spap-selection', /[Ww]eight norm/);
  await readHelp(page, 'spap-settings', /damping 0\.01/);
  await readHelp(page, 'spap-rho0', /0\.001/);
  await readHelp(page, 'spap-growth', /1\.5/);
  await readHelp(page, 'spap-steps', /60/);
  await page.getByTestId('help-spap-selection').click();
  await view(page, 'help-02-spap-selection');
  // One popover is open at a time (the one above is not covered), and a click elsewhere closes it too.
  await page.getByTestId('help-spap-fraction').click();
  await expect(popover).toHaveCount(1);
  await expect(popover).toContainText('MLP channels removed');
  await page.getByTestId('tab-button-overview').click();
  await expect(popover).toHaveCount(0);
  await page.context().close();
});

test('help buttons work by keyboard and by touch, and the popover stays on a phone screen', async ({ browser }) => {
  test.setTimeout(2 * 60_000);
  const page = await newVisitor(browser);
  await page.setViewportSize({ width: 1440, height: 900 });
  await page.goto('/?samples=4&seqlen=64');
  await expect(page.getByTestId('model-line')).toBeVisible({ timeout: 60_000 });
  // Keyboard: Tab from the field before it reaches the help button; Enter opens, Escape closes and gives the focus back.
  await page.getByTestId('alps-rho0').focus();
  await page.keyboard.press('Tab');
  await expect(page.getByTestId('help-alps-iters')).toBeFocused();
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('help-popover')).toContainText('Iteration cap');
  await expect(page.getByTestId('help-popover')).toBeFocused();
  await page.keyboard.press('Escape');
  await expect(page.getByTestId('help-popover')).toHaveCount(0);
  await expect(page.getByTestId('help-alps-iters')).toBeFocused();
  await page.keyboard.press('Space');
  await expect(page.getByTestId('help-popover')).toBeVisible();
  await page.keyboard.press('Escape');
  await page.context().close();

  // Touch, on a phone: inside the settings drawer.
  const phone = await firstVisit(browser, 390, 844, true);
  await phone.addInitScript((key) => localStorage.setItem(key, 'done'), TOUR_KEY);
  await phone.goto('/?samples=4&seqlen=64');
  await expect(phone.getByTestId('settings-summary')).toContainText('default-model', { timeout: 60_000 });
  await phone.getByTestId('settings-toggle').tap();
  await phone.getByTestId('help-alps-pcg').tap();
  const popover = phone.getByTestId('help-popover');
  await expect(popover).toContainText('PCG steps');
  const b = (await popover.boundingBox())!;
  expect(b.x).toBeGreaterThanOrEqual(0);
  expect(b.x + b.width).toBeLessThanOrEqual(390);
  expect(b.y + b.height).toBeLessThanOrEqual(844);
  expect(await phone.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
  await view(phone, 'help-03-phone-touch');
  await phone.getByTestId('help-close').tap();
  await expect(popover).toHaveCount(0);
  await phone.context().close();
});

test('the live charts and Evaluate explain their jargon', async ({ browser }) => {
  test.setTimeout(4 * 60_000);
  const page = await newVisitor(browser);
  await page.setViewportSize({ width: 1440, height: 900 });
  await page.goto('/?samples=4&seqlen=64&method=alps');
  await expect(page.getByTestId('model-line')).toBeVisible({ timeout: 60_000 });
  await expect(page.getByTestId('gpu-chip')).toContainText(/swiftshader/i, { timeout: 60_000 });
  await page.getByTestId('run-layer').click();
  await waitForJob(page);
  await waitForIdle(page);
  await page.getByTestId('tab-button-live').click();
  await expect(page.getByTestId('live-error-chart')).toBeVisible();
  await readHelp(page, 'admm', /D ← P_k\(B \+ V\/ρ\)[\s\S]*V ← V \+ ρ\(B − D\)/);
  await readHelp(page, 'chart-error', /P_k\(B\) is/);
  await readHelp(page, 'chart-support', /divided by k/);
  await readHelp(page, 'chart-rho', /Why ρ grows/);
  await readHelp(page, 'chart-pcg', /Max column residual \/ ‖Y_j‖/);
  await page.getByTestId('help-chart-pcg').first().click();
  await view(page, 'help-04-live-pcg');
  await page.keyboard.press('Escape');
  await page.getByTestId('tab-button-layers').click();
  await readHelp(page, 'layers-table', /rel\. error/);
  await page.getByTestId('tab-button-evaluate').click();
  await readHelp(page, 'perplexity', /exp of the mean NLL/);
  await page.context().close();
});

test('a first visit opens the tour; once dismissed it stays closed, and the header reopens it', async ({ browser }) => {
  test.setTimeout(2 * 60_000);
  const page = await firstVisit(browser, 1440, 900);
  await page.goto('/');
  const card = page.getByTestId('tour-card');
  await expect(card).toBeVisible({ timeout: 30_000 });
  await expect(card).toHaveAttribute('data-step', '0');
  await expect(page.getByTestId('tour-next')).toBeFocused();
  // It does not block the page: the settings still answer while it shows.
  await page.getByTestId('method-wanda').click();
  await expect(page.getByTestId('method-wanda')).toHaveAttribute('aria-checked', 'true');
  await page.getByTestId('method-alps').click();
  const steps = Number((await card.locator('.tour-count').innerText()).split(' of ')[1]);
  expect(steps).toBeGreaterThanOrEqual(6);
  for (let i = 0; i < steps; i++) {
    await expect(card).toHaveAttribute('data-step', String(i));
    await expect(page.locator('.tour-ring')).toBeVisible();
    await expect(card).toBeInViewport({ ratio: 1 });
    await view(page, `tour-1440-${String(i + 1).padStart(2, '0')}`);
    await page.getByTestId('tour-next').click();
  }
  await expect(card).toHaveCount(0);
  expect(await page.evaluate((key) => localStorage.getItem(key), TOUR_KEY)).toBe('done');
  await page.reload();
  await expect(page.getByTestId('model-chip')).not.toHaveText('no model', { timeout: 60_000 });
  await page.waitForTimeout(1000);
  await expect(card).toHaveCount(0);
  // Reopened from the header; Escape closes it.
  await page.getByTestId('tour-open').click();
  await expect(card).toHaveAttribute('data-step', '0');
  await page.keyboard.press('Escape');
  await expect(card).toHaveCount(0);
  await page.context().close();

  // On a phone the settings steps point at the drawer's button; "Skip the tour" is remembered as well.
  const phone = await firstVisit(browser, 390, 844, true);
  await phone.goto('/');
  const phoneCard = phone.getByTestId('tour-card');
  await expect(phoneCard).toBeVisible({ timeout: 30_000 });
  for (let i = 0; i < 5; i++) {
    await expect(phoneCard).toBeInViewport({ ratio: 1 });
    expect(await phone.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await view(phone, `tour-390-${String(i + 1).padStart(2, '0')}`);
    await phone.getByTestId('tour-next').tap();
  }
  await phone.getByTestId('tour-skip').tap();
  await expect(phoneCard).toHaveCount(0);
  await phone.reload();
  await phone.waitForTimeout(1500);
  await expect(phoneCard).toHaveCount(0);
  await phone.context().close();
});
