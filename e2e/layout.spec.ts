/**
 * The studio's layout at three sizes, as a new user sees it: 1440×900 (a laptop), 1024×768 (a small
 * laptop or tablet) and 390×844 (a phone). With results in every tab (a layer comparison, a
 * whole-model run, a perplexity), each tab at each size: the page never scrolls sideways, the Layers
 * table keeps its error column in view; at 1440×900 the method and sparsity controls are on the
 * first screen, clear of the sticky Run box, and the sidebar fills the height under the header
 * however far the page is scrolled; on a phone the tabs come before the settings, which open as a
 * drawer. Screenshots of every stage at every size: e2e/screenshots/layout-<width>-*.png.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test, type Locator, type Page } from '@playwright/test';
import { measurePerplexity, newVisitor, SCREENSHOTS, waitForIdle, waitForJob } from './helpers';

test.describe.configure({ mode: 'serial' });

const SIZES = [
  { width: 1440, height: 900 },
  { width: 1024, height: 768 },
  { width: 390, height: 844 },
] as const;
const TABS = ['overview', 'live', 'layers', 'channels', 'compare', 'evaluate', 'download'] as const;

let page: Page;

/** What the viewport shows (not the full page: the question is what is on screen). */
async function view(name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`) });
}

async function box(locator: Locator) {
  const b = await locator.boundingBox();
  expect(b, 'the element is laid out').not.toBeNull();
  return b!;
}

async function noSidewaysScroll(where: string): Promise<void> {
  const [scrollWidth, innerWidth] = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
  expect(scrollWidth, `${where}: the page is ${scrollWidth} px wide in a ${innerWidth} px window`).toBeLessThanOrEqual(innerWidth);
}

/** The "rel. error" column of the Layers table: its head and first cell lie inside the table's scroller and the window, uncovered. */
async function errorColumnVisible(where: string): Promise<void> {
  const result = await page.evaluate(() => {
    const table = document.querySelector('[data-testid="results-table"]')!;
    const scroller = table.closest('.table-scroll')!.getBoundingClientRect();
    const heads = [...table.querySelectorAll('thead th')];
    const column = heads.findIndex((th) => /rel\. error/.test(th.textContent ?? ''));
    const row = table.querySelector('tr[data-testid="result-row"]')!;
    return [heads[column], row.children[column]].map((cell) => {
      const r = cell.getBoundingClientRect();
      const inside = r.width > 0 && r.left >= scroller.left - 1 && r.right <= Math.min(scroller.right, window.innerWidth) + 1;
      const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
      return { text: cell.textContent, inside, uncovered: !!hit && cell.contains(hit) };
    });
  });
  for (const cell of result) {
    expect(cell.inside, `${where}: "${cell.text}" inside the table's view`).toBe(true);
    expect(cell.uncovered, `${where}: "${cell.text}" not covered`).toBe(true);
  }
}

test.beforeAll(async ({ browser }) => {
  page = await newVisitor(browser);
  await page.setViewportSize(SIZES[0]);
});

test.afterAll(async () => {
  await page?.context().close();
});

test('at 1440×900 the method and sparsity controls are on the first screen, clear of the Run box', async () => {
  await page.goto('/?samples=4&seqlen=64');
  await expect(page.getByTestId('model-line')).toBeVisible({ timeout: 60_000 });
  await expect(page.getByTestId('gpu-chip')).toContainText(/swiftshader/i, { timeout: 60_000 });
  const run = await box(page.locator('.run-section'));
  expect(run.y + run.height).toBeLessThanOrEqual(SIZES[0].height + 1);
  for (const id of ['method-alps', 'method-magnitude', 'method-spap', 'pattern-2:4', 'sparsity', 'sparsity-profile']) {
    const b = await box(page.getByTestId(id));
    expect(b.y, `${id} on the first screen`).toBeGreaterThanOrEqual(0);
    expect(b.y + b.height, `${id} above the Run box`).toBeLessThanOrEqual(run.y);
  }
  await view('layout-1440-01-settings');
  // SPAP's own controls replace the pattern and sparsity: its fraction slider is on the first screen too.
  await page.getByTestId('method-spap').click();
  const fraction = await box(page.getByTestId('channel-fraction'));
  expect(fraction.y + fraction.height).toBeLessThanOrEqual((await box(page.locator('.run-section'))).y);
  await view('layout-1440-02-spap-settings');
  await page.getByTestId('method-alps').click();
});

test('with results in every tab, no tab scrolls sideways at any size and the Layers table keeps its error column in view', async () => {
  test.setTimeout(5 * 60_000);
  // Results for every tab: four methods on one layer, a whole-model run (magnitude: no iterations, quick), a perplexity.
  await page.getByTestId('run-compare').click();
  await waitForJob(page);
  await waitForIdle(page);
  await page.getByTestId('method-magnitude').click();
  await page.getByTestId('run-model').click();
  await waitForJob(page);
  await waitForIdle(page);
  await expect(page.getByTestId('error-banner')).toHaveCount(0);
  await measurePerplexity(page, 64, 512);
  await page.getByTestId('method-alps').click();

  for (const size of SIZES) {
    await page.setViewportSize(size);
    for (const [i, tab] of TABS.entries()) {
      await page.getByTestId(`tab-button-${tab}`).click();
      await expect(page.getByTestId(`tab-${tab}`)).toBeVisible();
      await page.evaluate(() => window.scrollTo(0, 0));
      await page.waitForTimeout(250);
      await noSidewaysScroll(`${size.width}×${size.height}, ${tab}`);
      if (tab === 'layers') {
        await errorColumnVisible(`${size.width}×${size.height}`);
        // Scrolled to its far end, the table still shows the error column (and the columns after it).
        await page.getByTestId('layer-list').evaluate((el) => (el.scrollLeft = el.scrollWidth));
        await errorColumnVisible(`${size.width}×${size.height}, table scrolled to the right`);
        await page.getByTestId('layer-list').evaluate((el) => (el.scrollLeft = 0));
      }
      await view(`layout-${size.width}-${String(i + 3).padStart(2, '0')}-${tab}`);
    }
  }
});

test('at 1440×900 the sidebar fills the height under the header after a long scroll', async () => {
  await page.setViewportSize(SIZES[0]);
  await page.getByTestId('tab-button-layers').click();
  await page.getByTestId('result-row').first().click();
  await expect(page.getByTestId('layer-panel')).toBeVisible();
  await page.evaluate(() => window.scrollTo(0, document.documentElement.scrollHeight));
  await page.waitForTimeout(250);
  expect(await page.evaluate(() => window.scrollY), 'the page is long enough to scroll').toBeGreaterThan(300);
  const header = await box(page.locator('.topbar'));
  const sidebar = await box(page.getByTestId('sidebar'));
  expect(header.y).toBe(0);
  expect(Math.abs(sidebar.y - header.height)).toBeLessThanOrEqual(1);
  expect(Math.abs(sidebar.y + sidebar.height - SIZES[0].height)).toBeLessThanOrEqual(1);
  await expect(page.getByTestId('run-model')).toBeInViewport();
  await view('layout-1440-10-long-scroll');
  await page.evaluate(() => window.scrollTo(0, 0));
});

test('on a phone the tabs come first and the settings open as a drawer that closes when a run starts', async () => {
  await page.setViewportSize(SIZES[2]);
  await page.getByTestId('tab-button-overview').click();
  const firstTab = await box(page.getByTestId('tab-button-overview'));
  expect(firstTab.y, 'the first tab is near the top, not after the settings').toBeLessThan(220);
  await expect(page.getByTestId('sidebar')).not.toBeInViewport();
  await expect(page.getByTestId('settings-summary')).toContainText('ALPS');

  await page.getByTestId('settings-toggle').click();
  await expect(page.getByTestId('settings-close')).toBeFocused();
  await noSidewaysScroll('390×844, drawer open');
  // The drawer lies wholly inside the screen.
  const drawer = await box(page.getByTestId('sidebar'));
  expect(drawer.x).toBeGreaterThanOrEqual(0);
  expect(drawer.x + drawer.width).toBeLessThanOrEqual(SIZES[2].width);
  expect(drawer.y).toBeGreaterThanOrEqual(0);
  expect(drawer.y + drawer.height).toBeLessThanOrEqual(SIZES[2].height + 1);
  await expect(page.getByTestId('run-layer')).toBeInViewport();
  await view('layout-390-10-drawer');
  await page.keyboard.press('Escape');
  await expect(page.getByTestId('sidebar')).not.toBeInViewport();
  await expect(page.getByTestId('settings-toggle')).toBeFocused();

  // From the drawer, a run: the drawer gets out of the way for the Live tab.
  await page.getByTestId('settings-toggle').click();
  await page.getByTestId('run-layer').click();
  await waitForJob(page);
  await expect(page.getByTestId('sidebar')).not.toBeInViewport();
  await waitForIdle(page);
  await page.getByTestId('tab-button-live').click();
  await noSidewaysScroll('390×844, live after a run');
  await view('layout-390-11-after-run');
});
