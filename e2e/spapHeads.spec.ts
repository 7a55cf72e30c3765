/**
 * SPAP over attention heads in the studio (issue 16), on the bundled default model: the heads slider
 * next to the MLP fraction, a run that removes one of the two key/value groups of every block, the
 * Channels view naming the groups each block kept with the penalty path of the head selection, and
 * the download: config.json's head counts and head_dim, and q/k/v/o cut to the kept heads.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { newVisitor, parseSafetensors, points, REPO, shot, waitForIdle, waitForJob } from './helpers';

const DEFAULT_MODEL = join(REPO, 'public', 'default-model');

interface Config {
  hidden_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  num_key_value_heads: number;
  head_dim: number;
  intermediate_size: number;
}

test('removing key/value groups: the slider, the head map and penalty path, the smaller download', async ({ browser }) => {
  test.skip(!existsSync(join(DEFAULT_MODEL, 'model.safetensors')), 'public/default-model/model.safetensors is missing.');
  test.setTimeout(8 * 60_000);
  const c = JSON.parse(readFileSync(join(DEFAULT_MODEL, 'config.json'), 'utf8')) as Config;
  const perGroup = c.num_attention_heads / c.num_key_value_heads;
  const keptGroups = c.num_key_value_heads - 1;
  const page = await newVisitor(browser);
  try {
    await page.goto('/?samples=4&seqlen=64&method=spap&channels=0.25');
    await expect(page.getByTestId('model-summary')).toBeVisible({ timeout: 60_000 });
    await page.getByTestId('head-fraction').fill('0.5');
    await expect(page.getByTestId('head-fraction-value')).toHaveText('50%');
    await expect(page.getByTestId('head-fraction-count')).toContainText(`1 of ${c.num_key_value_heads} per block`);
    await expect(page).toHaveURL(/heads=0\.5/);

    await page.getByTestId('run-model').click();
    await waitForJob(page);
    await waitForIdle(page);
    await expect(page.getByTestId('error-banner')).toHaveCount(0);

    await page.getByTestId('tab-button-channels').click();
    await expect(page.getByTestId('head-map-row')).toHaveCount(c.num_hidden_layers);
    await expect(page.getByTestId('head-kept')).toHaveCount(c.num_hidden_layers * keptGroups);
    await expect(page.getByTestId('head-removed')).toHaveCount(c.num_hidden_layers);
    await page.getByTestId('block-row').first().click();
    expect(await points(page, 'spap-heads-error-chart')).toBeGreaterThan(0);
    await shot(page, 'spap-heads-01-channels');

    await page.getByTestId('tab-button-download').click();
    await page.getByTestId('prepare-structured-download').click();
    await expect(page.getByTestId('structured-model.safetensors')).toBeVisible({ timeout: 60_000 });
    const save = async (name: string) => {
      const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId(`structured-${name}`).click()]);
      return readFileSync(await download.path());
    };
    const written = JSON.parse((await save('config.json')).toString('utf8')) as Config;
    expect(written.num_key_value_heads).toBe(keptGroups);
    expect(written.num_attention_heads).toBe(keptGroups * perGroup);
    expect(written.head_dim).toBe(c.head_dim);
    const { tensors } = parseSafetensors(await save('model.safetensors'));
    const q = keptGroups * perGroup * c.head_dim;
    expect(tensors.get('model.layers.0.self_attn.q_proj.weight')!.shape).toEqual([q, c.hidden_size]);
    expect(tensors.get('model.layers.0.self_attn.k_proj.weight')!.shape).toEqual([keptGroups * c.head_dim, c.hidden_size]);
    expect(tensors.get('model.layers.0.self_attn.v_proj.weight')!.shape).toEqual([keptGroups * c.head_dim, c.hidden_size]);
    expect(tensors.get('model.layers.0.self_attn.o_proj.weight')!.shape).toEqual([c.hidden_size, q]);
  } finally {
    await page.context().close();
  }
});
