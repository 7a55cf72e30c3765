/**
 * Calibration windows and dense layer problems, kept between runs with the same calibration
 * settings: a second run on the same layer (another method, the comparison, an export) reuses the
 * gram instead of running the calibration text through the model again.
 */
import type { Gpu } from '../gpu/runtime';
import { calibrationWindows } from '../pipeline/calibration';
import { denseLayerProblem } from '../pipeline/prune';
import type { LayerProblem } from '../shared/problem';
import type { Assets } from './assets';
import { linearOf, tokenizerOf, type LoadedModel } from './loadedModel';
import type { CalibrationRecord, CalibrationSettings } from './types';

interface Entry {
  key: string;
  windows: Uint32Array;
  problems: Map<string, LayerProblem>;
}

/** FNV-1a over the text: only to key the cache, not for security. */
function hashText(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return `${text.length}:${(h >>> 0).toString(16)}`;
}

/** What a run's summary keeps of its calibration. */
export function calibrationRecord(cal: CalibrationSettings): CalibrationRecord {
  return { nsamples: cal.nsamples, seqlen: cal.seqlen, seed: cal.seed, textSource: cal.text === undefined ? 'default' : 'custom' };
}

export class CalibrationCache {
  private entry: Entry | null = null;

  constructor(private readonly assets: Assets) {}

  /** Forgets everything (a new model, or a lost device). */
  clear(): void {
    this.entry = null;
  }

  /** The calibration windows: nsamples windows of seqlen tokens, concatenated. */
  async windows(loaded: LoadedModel, cal: CalibrationSettings): Promise<Uint32Array> {
    return (await this.lookup(loaded, cal)).windows;
  }

  /** Layer `layer`'s problem from the dense model under these calibration settings. */
  async problem(gpu: Gpu, loaded: LoadedModel, layer: string, cal: CalibrationSettings): Promise<LayerProblem> {
    linearOf(loaded, layer);
    const entry = await this.lookup(loaded, cal);
    let problem = entry.problems.get(layer);
    if (!problem) {
      problem = await denseLayerProblem(gpu, loaded.model, layer, entry.windows, cal.seqlen);
      entry.problems.set(layer, problem);
    }
    return problem;
  }

  private async lookup(loaded: LoadedModel, cal: CalibrationSettings): Promise<Entry> {
    const tokenizer = tokenizerOf(loaded, 'calibration needs to tokenize text');
    const key = `${cal.text === undefined ? 'default' : hashText(cal.text)}|${cal.nsamples}|${cal.seqlen}|${cal.seed}`;
    if (this.entry?.key === key) return this.entry;
    const text = cal.text ?? (await this.assets.text('calibration.txt'));
    const windows = calibrationWindows(tokenizer, text, { nsamples: cal.nsamples, seqlen: cal.seqlen, seed: cal.seed });
    this.entry = { key, windows, problems: new Map() };
    return this.entry;
  }
}
