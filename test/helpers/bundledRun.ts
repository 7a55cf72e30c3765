/**
 * The bundled model (public/default-model: 4 blocks of 7 linears) as engine tests load it, and the
 * whole-model run they stop and continue: SparseGPT, whose every layer depends on the grams of the
 * model as pruned before it, so a continued run that went wrong would show in its weights.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Assets } from '../../src/engine/assets';
import { DEFAULT_ALPS } from '../../src/shared/methods';

export const BUNDLED_FOLDER = join(import.meta.dirname, '..', '..', 'public', 'default-model');

export const bundledAssets: Assets = {
  file: async (name) => new File([readFileSync(join(BUNDLED_FOLDER, name))], name),
  text: async (name) => readFileSync(join(BUNDLED_FOLDER, name), 'utf8'),
};

export const wholeModelSettings = { method: 'sparsegpt' as const, pattern: { kind: 'unstructured' as const, sparsity: 0.5 }, alps: DEFAULT_ALPS };
export const wholeModelCalibration = { nsamples: 2, seqlen: 32, seed: 0 };
/** Linears of the bundled model. */
export const BUNDLED_LAYERS = 28;
