/**
 * Qwen3, Gemma 3 text and Phi-3 in the studio, as a user would bring them: tiny random checkpoints
 * (the unit tests' builders, with the bundled tokenizer) chosen through the folder input; the layer
 * lists show Phi-3's fused matrices with their parts and mark Gemma's sliding-window blocks; each
 * model is pruned whole with SparseGPT and evaluated dense vs pruned; Phi-3 also goes through SPAP
 * (channels cut from both halves of gate_up_proj) and its smaller checkpoint is downloaded.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { writeSafetensors } from '../src/formats/safetensors';
import { gemma3Checkpoint, phi3Checkpoint, qwen3Checkpoint, type Checkpoint } from '../test/helpers/checkpoints';
import { measurePerplexity, newVisitor, parseSafetensors, points, REPO, setNumber, shot, waitForIdle, waitForJob } from './helpers';

test.describe.configure({ mode: 'serial' });

const DEFAULT_MODEL = join(REPO, 'public', 'default-model');
/** The bundled tokenizer's vocabulary: the checkpoints' embedding tables match it. */
const VOCAB = 768;
const SEQLEN = 32;
const HAVE_TOKENIZER = existsSync(join(DEFAULT_MODEL, 'tokenizer.json'));

let page: Page;
let root = '';

/** `ck` as a model folder: weights, config, and the bundled tokenizer (so calibration and evaluation run). */
function writeFolder(name: string, ck: Checkpoint): string {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'model.safetensors'), writeSafetensors([...ck.tensors].map(([n, t]) => ({ name: n, dtype: 'F32' as const, shape: t.shape, data: t.data }))));
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...ck.config, bos_token_id: 1, eos_token_id: 2 }));
  for (const file of ['tokenizer.json', 'tokenizer_config.json']) copyFileSync(join(DEFAULT_MODEL, file), join(dir, file));
  return dir;
}

/** Chooses `dir` in the folder input and waits until the studio shows it (model_type in the chip). */
async function load(dir: string, modelType: string, blocks: number): Promise<void> {
  await page.getByTestId('model-folder-input').setInputFiles(dir);
  await expect(page.getByTestId('model-chip')).toContainText(` · ${modelType} · `, { timeout: 30_000 });
  await page.getByTestId('tab-button-overview').click();
  await expect(page.getByTestId('model-arch')).toHaveText(modelType);
  await expect(page.getByTestId('model-blocks')).toHaveText(String(blocks));
  await expect(page.getByTestId('error-banner')).toHaveCount(0);
}

function linearRow(id: string) {
  return page.getByTestId('linears-table').locator(`tbody tr:has(td[title="${id}"])`);
}

/** Whole-model SparseGPT at the default 70 %: every linear gets a result, no error. */
async function pruneWhole(linears: number): Promise<void> {
  await page.getByTestId('method-sparsegpt').click();
  await expect(page.getByTestId('sparsity-value')).toHaveText('70%');
  await page.getByTestId('run-model').click();
  await waitForJob(page);
  await waitForIdle(page, 3 * 60_000);
  await expect(page.getByTestId('error-banner')).toHaveCount(0);
  expect(await points(page, 'model-layer-chart')).toBe(linears);
  await page.getByTestId('tab-button-layers').click();
  await expect(page.locator('[data-testid="result-row"]', { hasText: 'whole model' })).toHaveCount(linears);
}

/** Dense and pruned perplexity on the bundled evaluation text: finite, and pruning does not help much. */
async function evaluate(family: string): Promise<void> {
  await measurePerplexity(page, SEQLEN, 512);
  const dense = Number(await page.getByTestId('ppl-dense').innerText());
  const pruned = Number(await page.getByTestId('ppl-pruned').innerText());
  console.log(`${family}: perplexity dense ${dense}, SparseGPT 70 % ${pruned}`);
  expect(Number.isFinite(dense) && dense > 1).toBe(true);
  expect(Number.isFinite(pruned) && pruned > 1).toBe(true);
  expect(pruned).toBeGreaterThanOrEqual(dense * 0.9);
}

test.beforeEach(() => test.skip(!HAVE_TOKENIZER, 'public/default-model/tokenizer.json is missing.'));

test.beforeAll(async ({ browser }) => {
  root = mkdtempSync(join(tmpdir(), 'prune-families-e2e-'));
  page = await newVisitor(browser);
});

test.afterAll(async () => {
  await page?.context().close();
  if (root) rmSync(root, { recursive: true, force: true });
});

test('the studio opens with small calibration settings', async () => {
  await page.goto('/');
  await expect(page.getByTestId('model-summary')).toBeVisible({ timeout: 60_000 });
  // Tiny models, tiny calibration: 4 windows of 32 tokens keep each run to seconds on SwiftShader.
  await setNumber(page, 'cal-samples', 4);
  await setNumber(page, 'cal-seqlen', SEQLEN);
});

test('Qwen3: loads, prunes whole with SparseGPT, evaluates', async () => {
  const dir = writeFolder('qwen3-tiny', qwen3Checkpoint({ vocab: VOCAB }));
  await load(dir, 'qwen3', 2);
  const rows = page.getByTestId('linears-table').locator('tbody tr');
  await expect(rows).toHaveCount(14);
  // Plain Llama-style projections: nothing fused, nothing sliding.
  await expect(page.getByTestId('linears-table').getByTestId('fused-parts')).toHaveCount(0);
  await expect(page.getByTestId('linears-table').getByTestId('sliding-window')).toHaveCount(0);
  await pruneWhole(14);
  await evaluate('qwen3');
  await shot(page, 'families-01-qwen3-evaluate');
});

test('Gemma 3 text: the sliding-window blocks are marked, the global one is not', async () => {
  // Layers 0 and 1 attend within 3 tokens, layer 2 globally.
  const dir = writeFolder('gemma3-tiny', gemma3Checkpoint({ vocab: VOCAB, slidingWindow: 3 }));
  await load(dir, 'gemma3_text', 3);
  const table = page.getByTestId('linears-table');
  await expect(table.locator('tbody tr')).toHaveCount(21);
  for (const block of [0, 1]) {
    for (const m of ['self_attn.q_proj', 'mlp.down_proj']) await expect(linearRow(`model.layers.${block}.${m}`).getByTestId('sliding-window')).toHaveText(/^\s*sliding window: 3 tokens$/);
  }
  await expect(table.getByTestId('sliding-window')).toHaveCount(14);
  await expect(linearRow('model.layers.2.self_attn.q_proj').getByTestId('sliding-window')).toHaveCount(0);
  await shot(page, 'families-02-gemma3-overview');
  await pruneWhole(21);
  // The results table carries the same marks.
  await expect(page.getByTestId('results-table').getByTestId('sliding-window')).toHaveCount(14);
  await shot(page, 'families-03-gemma3-layers');
  await evaluate('gemma3_text');
});

test('Phi-3: fused qkv_proj and gate_up_proj are listed as stored, with their parts; SparseGPT and SPAP run; the smaller checkpoint downloads', async () => {
  test.setTimeout(4 * 60_000);
  // hidden 32, 4 query heads and 2 KV heads of 8: qkv_proj is 64 × 32 = q 32 | k 16 | v 16; gate_up_proj 72 × 32.
  const ck = phi3Checkpoint({ vocab: VOCAB, longropeOriginal: 16 });
  const dir = writeFolder('phi3-tiny', ck);
  await load(dir, 'phi3', 2);
  await expect(page.getByTestId('linears-table').locator('tbody tr')).toHaveCount(8);
  const qkv = linearRow('model.layers.0.self_attn.qkv_proj');
  await expect(qkv).toContainText('64 × 32');
  await expect(qkv.getByTestId('fused-parts')).toHaveText(/q 32 \| k 16 \| v 16/);
  await expect(linearRow('model.layers.1.mlp.gate_up_proj').getByTestId('fused-parts')).toHaveText(/gate 36 \| up 36/);
  await expect(linearRow('model.layers.1.mlp.down_proj').getByTestId('fused-parts')).toHaveCount(0);
  await shot(page, 'families-04-phi3-overview');
  await pruneWhole(8);
  await expect(page.getByTestId('results-table').getByTestId('fused-parts')).toHaveCount(4);
  await shot(page, 'families-05-phi3-layers');
  await evaluate('phi3');

  // SPAP: a quarter of the 36 MLP channels go, from gate, up and down alike.
  await page.getByTestId('method-spap').click();
  await page.getByTestId('channel-fraction').fill('0.25');
  await expect(page.getByTestId('channel-fraction-value')).toHaveText('25%');
  await page.getByTestId('run-model').click();
  await waitForJob(page);
  await waitForIdle(page, 3 * 60_000);
  await expect(page.getByTestId('error-banner')).toHaveCount(0);
  expect(await points(page, 'block-error-chart')).toBe(2);
  await page.getByTestId('tab-button-channels').click();
  await expect(page.getByTestId('mlp-width')).toHaveText('36 → 27');

  await page.getByTestId('tab-button-download').click();
  await page.getByTestId('prepare-structured-download').click();
  await expect(page.getByTestId('structured-model.safetensors')).toBeVisible({ timeout: 60_000 });
  const save = async (name: string) => {
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId(`structured-${name}`).click()]);
    return readFileSync(await download.path());
  };
  const config = JSON.parse((await save('config.json')).toString('utf8')) as { model_type: string; intermediate_size: number };
  expect(config).toMatchObject({ model_type: 'phi3', intermediate_size: 27 });
  const { tensors } = parseSafetensors(await save('model.safetensors'));
  expect([...tensors.keys()].sort()).toEqual([...ck.tensors.keys()].sort());
  for (const block of [0, 1]) {
    expect(tensors.get(`model.layers.${block}.mlp.gate_up_proj.weight`)!.shape).toEqual([54, 32]);
    expect(tensors.get(`model.layers.${block}.mlp.down_proj.weight`)!.shape).toEqual([32, 27]);
    expect(tensors.get(`model.layers.${block}.self_attn.qkv_proj.weight`)!.shape).toEqual([64, 32]);
  }
  await shot(page, 'families-06-phi3-spap-download');
});
