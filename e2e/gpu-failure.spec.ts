/**
 * A lost and an exhausted GPU in the studio, staged with the worker's test-only message
 * (src/worker/testHooks.ts, dispatched inside the engine worker): the page says what happened and
 * what to do, the model stays loaded, a stopped whole-model run's finished layers stay shown and
 * the next run continues after them on a fresh device, in the same page.
 */
import { expect, test, type Page, type Worker } from '@playwright/test';
import { newVisitor, shot, waitForIdle, waitForJob } from './helpers';

/**
 * Arms a fault on the engine's device; resolves with the worker's answer (its reply never reaches
 * the UI): the fault armed and the device's dispatches so far.
 */
async function armGpuFault(page: Page, fault: string): Promise<{ armed: string; dispatches: number }> {
  await expect.poll(() => page.workers().length, { timeout: 30_000 }).toBeGreaterThan(0);
  const worker = page.workers().find((w) => /engine/.test(w.url())) ?? (page.workers()[0] as Worker);
  return worker.evaluate(
    (fault) =>
      new Promise<{ armed: string; dispatches: number }>((resolve, reject) => {
        const scope = self as unknown as { postMessage: (m: unknown) => void; dispatchEvent: (e: Event) => boolean };
        const post = scope.postMessage.bind(scope);
        scope.postMessage = (m: unknown) => {
          const message = m as { id: number; kind: string; value?: { armed: string; dispatches: number }; message?: string };
          if (message.id !== -1) return post(m);
          scope.postMessage = post;
          if (message.kind === 'result') resolve(message.value!);
          else reject(new Error(message.message));
        };
        scope.dispatchEvent(new MessageEvent('message', { data: { id: -1, request: { type: 'armGpuFault', fault } } }));
      }),
    fault,
  );
}

async function dismissBanners(page: Page): Promise<void> {
  for (const close of await page.locator('.banner-close').all()) await close.click();
}

test('a lost device stops the whole-model run; the next run continues on a new device; out of memory says what to lower', async ({ browser }) => {
  const page = await newVisitor(browser);
  await page.goto('/?method=sparsegpt&sparsity=0.5&samples=2&seqlen=32');
  await expect(page.getByTestId('model-chip')).toContainText('default-model', { timeout: 60_000 });
  await expect(page.getByTestId('run-model')).toBeEnabled({ timeout: 60_000 });
  await dismissBanners(page);

  // A clean run first: its dispatches size the fault (the loss comes halfway), its layers are the reference.
  await page.getByTestId('run-model').click();
  await waitForJob(page);
  await waitForIdle(page);
  await expect(page.getByTestId('error-banner')).toHaveCount(0);
  await page.getByTestId('tab-button-layers').click();
  const modelRows = page.getByTestId('result-row').filter({ hasText: 'whole model' });
  await expect(modelRows).toHaveCount(28);
  const clean = await modelRows.allInnerTexts();
  // layer, run, method, pattern, shape, sparsity, error, iterations, time
  expect(clean[0]!.split('\t')).toHaveLength(9);
  await page.getByTestId('tab-button-live').click();
  const { dispatches } = await armGpuFault(page, 'lose-device@1000000000');
  const fault = `lose-device@${Math.floor(dispatches / 2)}`;
  expect((await armGpuFault(page, fault)).armed).toBe(fault);
  let started = Date.now();
  await page.getByTestId('run-model').click();
  await waitForJob(page);
  await waitForIdle(page);
  const lostMs = Date.now() - started;
  const banner = page.getByTestId('error-banner');
  await expect(banner).toHaveCount(1);
  await expect(banner).toContainText('The GPU device was lost');
  await expect(banner).toContainText(`destroyed by the test hook, ${fault}`);
  await expect(banner).toContainText('the loaded model and those layers are kept: run it again with the same settings and calibration to continue from there on a new device');
  const bannerText = (await banner.innerText()).replace(/\s+/g, ' ');
  const stopped = /stopped after (\d+) of 28 layers/.exec(bannerText);
  expect(stopped, bannerText).not.toBeNull();
  const done = Number(stopped![1]);
  expect(done).toBeGreaterThan(0);
  expect(done).toBeLessThan(28);
  // The model is still loaded and the finished layers are still shown.
  await expect(page.getByTestId('model-chip')).toContainText('default-model');
  await expect(page.getByTestId('stopped-run')).toContainText(`stopped after ${done} of 28 layers`);
  await shot(page, 'gpu-failure-01-lost');

  await dismissBanners(page);
  started = Date.now();
  await page.getByTestId('run-model').click();
  await waitForJob(page);
  await waitForIdle(page);
  const resumedMs = Date.now() - started;
  await expect(page.getByTestId('error-banner')).toHaveCount(0);
  await expect(page.getByTestId('stopped-run')).toHaveCount(0);
  await page.getByTestId('tab-button-layers').click();
  // The continued run is the uninterrupted one: the same sparsity and error in every row (times differ).
  const withoutTime = (rows: string[]) => rows.map((r) => r.split('\t').slice(0, -1).join(' '));
  expect(withoutTime(await modelRows.allInnerTexts())).toEqual(withoutTime(clean));
  await shot(page, 'gpu-failure-02-continued');

  expect((await armGpuFault(page, 'out-of-memory@5')).armed).toBe('out-of-memory@5');
  await page.getByTestId('run-layer').click();
  await waitForJob(page);
  await waitForIdle(page);
  await expect(banner).toHaveCount(1);
  await expect(banner).toContainText('Out of GPU memory');
  await expect(banner).toContainText('forced by the test hook, out-of-memory@5');
  await expect(banner).toContainText('Lower the calibration samples or the window length (seqlen), or use a smaller model');
  const oomText = (await banner.innerText()).replace(/\s+/g, ' ');
  await shot(page, 'gpu-failure-03-oom');
  await dismissBanners(page);
  await page.getByTestId('run-layer').click();
  await waitForJob(page);
  await waitForIdle(page);
  await expect(page.getByTestId('error-banner')).toHaveCount(0);
  await expect(page.getByTestId('model-chip')).toContainText('default-model');
  console.log(`lost after ${done}/28 layers in ${(lostMs / 1000).toFixed(1)} s; continued in ${(resumedMs / 1000).toFixed(1)} s\nlost: ${bannerText}\nout of memory: ${oomText}`);
  await page.context().close();
});
