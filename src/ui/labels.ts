/** How the studio names runs, models and texts: presentation, so it lives here and not in the engine. */
import { methodLabel } from '../shared/methods';
import type { PruneSettings, StructuredSettings, Variant } from '../worker/protocol';
import { formatPercent, shortLayer } from './format';

/** "ALPS, 50% unstructured" or "SparseGPT, 2:4": a whole-model sparse run. */
export function pruneRunLabel({ method, pattern }: PruneSettings): string {
  const kind = pattern.kind === 'unstructured' ? `${formatPercent(pattern.sparsity, 0)} unstructured` : `${pattern.n}:${pattern.m}`;
  return `${methodLabel(method)}, ${kind}`;
}

/** "SPAP, 25% of MLP channels removed": a structured run. */
export function structuredRunLabel({ selection, fraction }: Pick<StructuredSettings, 'selection' | 'fraction'>): string {
  return `${methodLabel(selection)}, ${formatPercent(fraction, 0)} of MLP channels removed`;
}

/** The models an evaluation runs, as progress names them. */
export const VARIANT_NAME: Record<Variant, string> = { dense: 'dense model', sparse: 'pruned model', structured: 'structured model' };

/** Where an evaluation's text came from (older stored results carry the sentence itself). */
export function evaluationTextLabel(source: string): string {
  return source === 'default' ? 'evaluation.txt (bundled)' : source === 'custom' ? 'custom text' : source;
}

/** "model.layers.0.mlp.up_proj" → "block 0 · mlp.up_proj": a layer as a sentence names it. */
export function layerName(id: string): string {
  const short = shortLayer(id);
  return short === id ? id : `block ${short}`;
}

/** Config keys of the MLP width, in plain words (the key itself goes in a tooltip). */
const WIDTH_FIELDS: Record<string, string> = { intermediate_size: 'MLP width', n_inner: 'MLP width', ffn_dim: 'MLP width' };

export function configFieldLabel(field: string): string {
  return WIDTH_FIELDS[field] ?? field.replace(/_/g, ' ');
}
