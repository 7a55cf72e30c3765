/**
 * Hostile model folders dropped into the studio: each is refused within seconds by one line that
 * names the file and the field, the worker stays alive and the bundled model stays loaded; then the
 * same page prunes that model, whole, as if nothing had happened.
 */
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { newVisitor, points, REPO, setNumber, shot, waitForIdle, waitForJob } from './helpers';

const DEFAULT_MODEL = join(REPO, 'public', 'default-model');
const MODEL_FILES = ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json'];

/** A copy of the bundled model's files in `dir`, with `change` applied. */
function hostileFolder(root: string, name: string, change: (dir: string) => void): string {
  const dir = join(root, name);
  for (const file of MODEL_FILES) cpSync(join(DEFAULT_MODEL, file), join(dir, file));
  change(dir);
  return dir;
}

function patchJson(dir: string, file: string, patch: (value: Record<string, unknown>) => void): void {
  const value = JSON.parse(readFileSync(join(dir, file), 'utf8')) as Record<string, unknown>;
  patch(value);
  writeFileSync(join(dir, file), JSON.stringify(value));
}

/** The weights with `n` extra empty tensors in the header (the data region unchanged). */
function addEmptyTensors(dir: string, n: number): void {
  const bytes = readFileSync(join(dir, 'model.safetensors'));
  const length = Number(bytes.readBigUInt64LE(0));
  const header = bytes.subarray(8, 8 + length).toString('utf8').trimEnd();
  const extra: string[] = [];
  for (let i = 0; i < n; i++) extra.push(`"extra.${i}":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}`);
  let text = `${header.slice(0, -1)},${extra.join(',')}}`;
  while (text.length % 8) text += ' ';
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(Buffer.byteLength(text)));
  writeFileSync(join(dir, 'model.safetensors'), Buffer.concat([prefix, Buffer.from(text), bytes.subarray(8 + length)]));
}

test('hostile folders are refused in one line, the loaded model survives and then prunes', async ({ browser }) => {
  test.skip(!existsSync(join(DEFAULT_MODEL, 'model.safetensors')), 'public/default-model/model.safetensors is missing.');
  test.setTimeout(8 * 60_000);
  const root = mkdtempSync(join(tmpdir(), 'prune-hostile-e2e-'));
  try {
    const cases: Array<{ dir: string; message: RegExp }> = [
      {
        dir: hostileFolder(root, 'layers-1e9', (d) => patchJson(d, 'config.json', (c) => (c.num_hidden_layers = 1_000_000_000))),
        message: /config\.json: "num_hidden_layers" is 1000000000; it must be an integer from 1 to 1024\./,
      },
      {
        dir: hostileFolder(root, 'million-empty-tensors', (d) => addEmptyTensors(d, 1_000_000)),
        message: /model\.safetensors: the header lists more than 131072 tensors/,
      },
      {
        dir: hostileFolder(root, 'positions-1e11', (d) => patchJson(d, 'config.json', (c) => (c.max_position_embeddings = 100_000_000_000))),
        message: /config\.json: "max_position_embeddings" is 100000000000; it must be an integer from 1 to 16777216\./,
      },
      {
        dir: hostileFolder(root, 'negative-token-id', (d) =>
          patchJson(d, 'tokenizer.json', (t) => {
            const vocab = (t.model as { vocab: Record<string, number> }).vocab;
            vocab[Object.keys(vocab)[5]!] = -3;
          }),
        ),
        message: /tokenizer\.json: "model\.vocab" gives ".*" the id -3/,
      },
      {
        dir: hostileFolder(root, 'layers-beyond-weights', (d) => patchJson(d, 'config.json', (c) => (c.num_hidden_layers = 9))),
        message: /config\.json: "num_hidden_layers" is 9, but model\.safetensors holds 4 blocks/,
      },
    ];

    const page = await newVisitor(browser);
    await page.goto('/?samples=4&seqlen=64');
    await expect(page.getByTestId('model-summary')).toBeVisible({ timeout: 60_000 });
    const linearCount = await page.getByTestId('linears-table').locator('tbody tr').count();
    expect(linearCount).toBeGreaterThan(0);
    const chip = await page.getByTestId('model-chip').innerText();
    for (const close of await page.locator('.banner-close').all()) await close.click();

    for (const { dir, message } of cases) {
      const started = Date.now();
      await page.getByTestId('model-folder-input').setInputFiles(dir);
      const banner = page.getByTestId('error-banner').filter({ hasText: 'Could not load the model' });
      await expect(banner).toBeVisible({ timeout: 20_000 });
      const seconds = (Date.now() - started) / 1000;
      const text = await banner.innerText();
      console.log(`${dir.split('/').pop()}: refused in ${seconds.toFixed(1)} s: ${text.replace(/\s+/g, ' ')}`);
      expect(seconds).toBeLessThan(20);
      await expect(banner).toContainText(message);
      await expect(banner).toContainText('still loaded');
      await expect(page.getByTestId('model-chip')).toHaveText(chip);
      for (const close of await page.locator('.banner-close').all()) await close.click();
      await expect(page.getByTestId('error-banner')).toHaveCount(0);
    }
    await shot(page, 'hostile-01-refused-model-kept');

    // The worker is alive and the bundled model is whole: prune all of it.
    await page.getByTestId('tab-button-overview').click();
    await expect(page.getByTestId('linears-table').locator('tbody tr')).toHaveCount(linearCount);
    await page.getByTestId('method-sparsegpt').click();
    await setNumber(page, 'cal-samples', 4);
    await page.getByTestId('run-model').click();
    await waitForJob(page);
    await waitForIdle(page, 6 * 60_000);
    await expect(page.getByTestId('error-banner')).toHaveCount(0);
    expect(await points(page, 'model-layer-chart')).toBe(linearCount);
    await page.getByTestId('tab-button-layers').click();
    await expect(page.locator('[data-testid="result-row"]', { hasText: 'whole model' })).toHaveCount(linearCount);
    await shot(page, 'hostile-02-pruned-after');
    await page.context().close();
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
